// asyncio's Future example: one task sets a Future's result after a second while main
// awaits it.
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

corio::Coro<void> set_after(corio::Future<std::string> fut, std::chrono::seconds delay,
                            std::string value) {
  // Sleep for *delay* seconds.
  co_await corio::sleep(delay);
  // Set *value* as a result of *fut* Future.
  fut.set_result(std::move(value));
}

corio::Coro<void> async_main() {
  // Create a new Future object.
  corio::Future<std::string> fut;
  // Run "set_after()" coroutine in a parallel Task. The Task handle may be dropped: the task
  // keeps running.
  corio::create_task(set_after(fut, 1s, "... world"));
  std::printf("hello ...\n");
  std::fflush(stdout);
  // Wait until *fut* has a result (1 second) and print it.
  std::string value = co_await fut;
  std::printf("%s\n", value.c_str());
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
