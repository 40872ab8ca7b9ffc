// Counted: a lifetime probe (cppcoro's counted.hpp). Every construction, copy, move and
// destruction is counted, so a test can check that coroutine frames and results are destroyed
// exactly once on every path: put one in a frame (a parameter or a local) or return one.
//
// Thread safety: the counters are atomics, so probes may live and die on any worker. Call
// reset_counts() at the start of a test, before any probe exists.
#pragma once

#include <atomic>

namespace corio::test {

struct Counted {
  static inline std::atomic<int> default_construction_count{0};
  static inline std::atomic<int> copy_construction_count{0};
  static inline std::atomic<int> move_construction_count{0};
  static inline std::atomic<int> destruction_count{0};

  static void reset_counts() noexcept {
    default_construction_count = 0;
    copy_construction_count = 0;
    move_construction_count = 0;
    destruction_count = 0;
  }
  static int construction_count() noexcept {
    return default_construction_count + copy_construction_count + move_construction_count;
  }
  /// Probes alive now: constructed and not yet destroyed.
  static int active_count() noexcept { return construction_count() - destruction_count; }

  Counted() noexcept : id(default_construction_count++) {}
  Counted(const Counted& o) noexcept : id(o.id) { ++copy_construction_count; }
  Counted(Counted&& o) noexcept : id(o.id) {
    ++move_construction_count;
    o.id = -1;
  }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() { ++destruction_count; }

  int id;  // the default construction that started this lineage; -1 once moved from
};

}  // namespace corio::test
