// asyncio's gather example: three factorials computed as concurrent tasks, each sleeping one
// second per step. In single-thread mode (`--virtual`) the interleaving is asyncio's, line for
// line, on every run.
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <string_view>

using namespace std::chrono_literals;

namespace {

corio::Coro<long> factorial(const char* name, long number) {
  long f = 1;
  for (long i = 2; i <= number; ++i) {
    std::printf("Task %s: Compute factorial(%ld), currently i=%ld...\n", name, number, i);
    std::fflush(stdout);
    co_await corio::sleep(1s);
    f *= i;
  }
  std::printf("Task %s: factorial(%ld) = %ld\n", name, number, f);
  std::fflush(stdout);
  co_return f;
}

corio::Coro<void> async_main() {
  // Schedule three calls *concurrently*:
  auto [a, b, c] = co_await corio::gather(factorial("A", 2), factorial("B", 3),
                                          factorial("C", 4));
  std::printf("[%ld, %ld, %ld]\n", a, b, c);
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
