// asyncio's display_date example: print once a second until loop.time() reaches a deadline
// five seconds away, then stop. Five "Blocking..." lines (at 0, 1, 2, 3 and 4 s), then "Done.".
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <string_view>

using namespace std::chrono_literals;

namespace {

corio::Coro<void> async_main() {
  corio::Loop& loop = corio::get_running_loop();
  const double end_time = loop.time() + 5.0;
  for (;;) {
    std::printf("Blocking...\n");
    std::fflush(stdout);
    if (loop.time() + 1.0 >= end_time) break;
    co_await corio::sleep(1s);
  }
  std::printf("Done.\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  corio::Options options;
  if (argc > 1 && std::string_view(argv[1]) == "--virtual") {
    options = {.threads = 1, .virtual_time = true};
  }
  corio::run(async_main(), options);
}
