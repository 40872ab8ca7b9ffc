// The smallest real user of corio: the asyncio gather example on a virtual clock, plus a task
// on a multi-thread runtime. Prints what asyncio prints; exits non-zero on any mismatch.
#include <corio/corio.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

corio::Coro<int> factorial(std::vector<std::string>& out, std::string name, int number) {
  int f = 1;
  for (int i = 2; i <= number; ++i) {
    out.push_back("Task " + name + ": Compute factorial(" + std::to_string(number) +
                  "), currently i=" + std::to_string(i) + "...");
    co_await corio::sleep(1s);
    f *= i;
  }
  out.push_back("Task " + name + ": factorial(" + std::to_string(number) +
                ") = " + std::to_string(f));
  co_return f;
}

corio::Coro<int> gather_main(std::vector<std::string>& out) {
  auto [a, b, c] = co_await corio::gather(factorial(out, "A", 2), factorial(out, "B", 3),
                                          factorial(out, "C", 4));
  co_return a + b + c;
}

corio::Coro<int> twice(int x) {
  co_await corio::sleep(1ms);
  co_return 2 * x;
}

int main() {
  std::vector<std::string> out;
  int sum = corio::run(gather_main(out), corio::Options{.threads = 1, .virtual_time = true});
  for (const auto& line : out) std::printf("%s\n", line.c_str());
  const std::vector<std::string> want = {
      "Task A: Compute factorial(2), currently i=2...",
      "Task B: Compute factorial(3), currently i=2...",
      "Task C: Compute factorial(4), currently i=2...",
      "Task A: factorial(2) = 2",
      "Task B: Compute factorial(3), currently i=3...",
      "Task C: Compute factorial(4), currently i=3...",
      "Task B: factorial(3) = 6",
      "Task C: Compute factorial(4), currently i=4...",
      "Task C: factorial(4) = 24",
  };
  if (out != want || sum != 32) {
    std::fprintf(stderr, "consumer: unexpected gather output (sum %d)\n", sum);
    return 1;
  }
  int v = corio::run(twice(21));  // one worker per core
  if (v != 42) {
    std::fprintf(stderr, "consumer: twice(21) gave %d\n", v);
    return 1;
  }
  std::printf("consumer: ok\n");
  return 0;
}
