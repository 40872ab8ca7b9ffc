// asyncio's factorial example ("Running Tasks Concurrently" in its docs), shared by the tests
// that check corio runs it with asyncio's interleaving: the coroutine, logging to a list of
// lines instead of printing, and what asyncio prints for A(2), B(3), C(4) and the results.
#pragma once

#include <string>
#include <vector>

#include <corio/task.hpp>

namespace corio::test {

using Lines = std::vector<std::string>;

//   async def factorial(name, number):
//       f = 1
//       for i in range(2, number + 1):
//           print(f"Task {name}: Compute factorial({number}), currently i={i}...")
//           await asyncio.sleep(1)
//           f *= i
//       print(f"Task {name}: factorial({number}) = {f}")
//       return f
inline Coro<int> factorial(Lines& out, std::string name, int number) {
  int f = 1;
  for (int i = 2; i <= number; ++i) {
    out.push_back("Task " + name + ": Compute factorial(" + std::to_string(number) +
                  "), currently i=" + std::to_string(i) + "...");
    co_await sleep(std::chrono::seconds(1));
    f *= i;
  }
  out.push_back("Task " + name + ": factorial(" + std::to_string(number) +
                ") = " + std::to_string(f));
  co_return f;
}

/// asyncio's output for A(2), B(3), C(4) run concurrently, then the list of results.
inline const Lines& factorial_asyncio_output() {
  static const Lines lines = {
      "Task A: Compute factorial(2), currently i=2...",
      "Task B: Compute factorial(3), currently i=2...",
      "Task C: Compute factorial(4), currently i=2...",
      "Task A: factorial(2) = 2",
      "Task B: Compute factorial(3), currently i=3...",
      "Task C: Compute factorial(4), currently i=3...",
      "Task B: factorial(3) = 6",
      "Task C: Compute factorial(4), currently i=4...",
      "Task C: factorial(4) = 24",
      "[2, 6, 24]",
  };
  return lines;
}

}  // namespace corio::test
