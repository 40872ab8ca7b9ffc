// asyncio's wait_for example: an hour-long sleep under a one-second timeout. On expiry
// wait_for cancels eternity(), waits for it to finish and throws TimeoutError.
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <string_view>

using namespace std::chrono_literals;

namespace {

corio::Coro<void> eternity() {
  // Sleep for one hour
  co_await corio::sleep(3600s);
  std::printf("yay!\n");
  std::fflush(stdout);
}

corio::Coro<void> async_main() {
  // Wait for at most 1 second
  try {
    co_await corio::wait_for(eternity(), 1s);
  } catch (const corio::TimeoutError&) {
    std::printf("timeout!\n");
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  corio::Options options;
  if (argc > 1 && std::string_view(argv[1]) == "--virtual") {
    options = {.threads = 1, .virtual_time = true};
  }
  corio::run(async_main(), options);
}
