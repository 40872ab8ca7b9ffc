// corio-headline's fib and skynet figures. A file of its own: GCC inlines a coroutine's
// ramp (the frame's set-up) into its recursive caller or not depending on what else the
// translation unit holds, and skynet's figure moves by 8% with it; compiled alone, as in
// runtime_fanout_bench, the two programs time the same code.
#include <sys/resource.h>

#include <chrono>
#include <string>

#include <corio/runtime.hpp>
#include <corio/task.hpp>

#include "headline.hpp"
#include "workloads.hpp"

namespace corio_headline {

using namespace corio_bench;
using Clock = std::chrono::steady_clock;

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

void fanout() {
  constexpr int kN = 30;
  double t[3] = {};
  double busy = 0;
  for (std::size_t n : {1u, 2u}) {
    corio::Runtime rt(threads(n));
    bool ok = true;
    double cpu = 0, wall = 0;
    t[n] = best_seconds([&] {
      const double c0 = cpu_seconds();
      const auto w0 = Clock::now();
      ok &= rt.run(fib(kN)) == fib_value(kN);
      cpu += cpu_seconds() - c0;
      wall += std::chrono::duration<double>(Clock::now() - w0).count();
    });
    busy = cpu / wall;
    info("fib(30) by gather, " + std::to_string(n) + (n == 1 ? " worker" : " workers") + " (ms)",
         fmt("%.1f", t[n] * 1e3) + fmt(", %.2f cores busy", busy) + (ok ? "" : " WRONG RESULT"));
  }
  at_least("fib(30) speed-up, 2 workers vs 1 (x) [1]", "%.2f", t[1] / t[2], 1.8);

  // skynet as the fixed fan-out runtimes write it (the children and their results in
  // std::arrays): the benchmark's target.
  constexpr int kDepth = 7;
  corio::Runtime rt(threads(2));
  bool ok = true;
  double s = best_seconds([&] { ok &= rt.run(skynet_array(0, kDepth)) == skynet_value(kDepth); });
  const std::string metric = "skynet 10^7 leaves, 2 workers (ms) [2]";
  if (ok) {
    at_most(metric, "%.0f", s * 1e3, 150);
  } else {
    failed(metric, "wrong result", "≤ 150");
  }
  // The same tree with the children and results in std::vectors: two list allocations more
  // per gathering node, which are the program's own.
  bool vector_ok = true;
  s = best_seconds([&] { vector_ok &= rt.run(skynet(0, kDepth)) == skynet_value(kDepth); });
  info("skynet, std::vector gather, 2 workers (ms)",
       vector_ok ? fmt("%.0f", s * 1e3) : std::string("wrong result"));
}

}  // namespace corio_headline
