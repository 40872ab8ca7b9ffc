// Tests for corio::detail::LocalQueue: single-threaded semantics (FIFO, full, take_half, steal
// sizes and order), capacity-4 edges, and a randomized comparison against std::deque models that
// runs the ring and the 48-bit index counters through many wrap-arounds.
#include "runtime/local_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

namespace corio::detail {
namespace {

// Counts what the queue asks of its atomics (per thread) and makes every other weak CAS fail
// spuriously, which the real hardware may also do, to exercise the retry loops.
struct OpCounts {
  int rmw = 0;
  int seq_cst = 0;
  bool fail_next_weak = false;
};
thread_local OpCounts g_ops;

template <class U>
class CheckedAtom {
 public:
  CheckedAtom() noexcept = default;
  CheckedAtom(U v) noexcept : a_(v) {}  // NOLINT(google-explicit-constructor): as std::atomic
  U load(std::memory_order mo = std::memory_order_seq_cst) const noexcept {
    note(mo);
    return a_.load(mo);
  }
  void store(U v, std::memory_order mo = std::memory_order_seq_cst) noexcept {
    note(mo);
    a_.store(v, mo);
  }
  bool compare_exchange_weak(U& expected, U desired, std::memory_order s,
                             std::memory_order f) noexcept {
    ++g_ops.rmw;
    note(s);
    note(f);
    g_ops.fail_next_weak = !g_ops.fail_next_weak;
    if (g_ops.fail_next_weak) {
      expected = a_.load(f);  // spurious failure: report the current value, change nothing
      return false;
    }
    return a_.compare_exchange_weak(expected, desired, s, f);
  }
  bool compare_exchange_strong(U& expected, U desired, std::memory_order s,
                               std::memory_order f) noexcept {
    ++g_ops.rmw;
    note(s);
    note(f);
    return a_.compare_exchange_strong(expected, desired, s, f);
  }

 private:
  static void note(std::memory_order mo) noexcept {
    if (mo == std::memory_order_seq_cst) ++g_ops.seq_cst;
  }
  std::atomic<U> a_{};
};

using Q4 = LocalQueue<int, 4>;
using Q256 = LocalQueue<int>;

std::vector<int> make_items(int n) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}

template <class Q>
std::vector<int> drain(Q& q) {
  std::vector<int> out;
  while (int* p = q.pop()) out.push_back(*p);
  return out;
}

TEST(LocalQueueTest, PopReturnsOldestFirst) {
  auto items = make_items(10);
  Q256 q;
  for (int& i : items) ASSERT_TRUE(q.push(&i));
  EXPECT_EQ(q.len(), 10u);
  EXPECT_EQ(drain(q), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(q.is_empty());
}

TEST(LocalQueueTest, PopFromEmptyReturnsNull) {
  Q256 q;
  EXPECT_TRUE(q.is_empty());
  EXPECT_EQ(q.pop(), nullptr);
  int x = 7;
  ASSERT_TRUE(q.push(&x));
  EXPECT_EQ(q.pop(), &x);
  EXPECT_EQ(q.pop(), nullptr);
}

TEST(LocalQueueTest, PushFailsWhenFullAndChangesNothing) {
  auto items = make_items(257);
  Q256 q;
  for (int i = 0; i < 256; ++i) ASSERT_TRUE(q.push(&items[i]));
  EXPECT_FALSE(q.push(&items[256]));
  EXPECT_EQ(q.len(), 256u);
  std::vector<int> got = drain(q);
  ASSERT_EQ(got.size(), 256u);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(got[i], i);
}

TEST(LocalQueueTest, TakeHalfReturnsOldestHalfInOrder) {
  auto items = make_items(256);
  Q256 q;
  for (int& i : items) ASSERT_TRUE(q.push(&i));
  int* out[128] = {};
  ASSERT_EQ(q.take_half(out), 128u);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(*out[i], i);
  EXPECT_EQ(q.len(), 128u);
  std::vector<int> rest = drain(q);
  ASSERT_EQ(rest.size(), 128u);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(rest[i], 128 + i);
}

TEST(LocalQueueTest, TakeHalfReturnsZeroWhenNotFull) {
  auto items = make_items(4);
  Q4 q;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.push(&items[i]));
  int* out[2] = {};
  EXPECT_EQ(q.take_half(out), 0u);
  EXPECT_EQ(q.len(), 3u);
}

TEST(LocalQueueTest, StealTakesHalfRoundedUpAndPreservesOrder) {
  for (int count = 1; count <= 9; ++count) {
    auto items = make_items(count);
    Q256 src;
    Q256 dst;
    for (int& i : items) ASSERT_TRUE(src.push(&i));
    const int n = count - count / 2;
    int* got = src.steal_into(dst);
    ASSERT_NE(got, nullptr) << count;
    EXPECT_EQ(*got, n - 1) << "returns the newest stolen item";
    std::vector<int> in_dst = drain(dst);
    ASSERT_EQ(static_cast<int>(in_dst.size()), n - 1);
    for (int i = 0; i < n - 1; ++i) EXPECT_EQ(in_dst[i], i);
    std::vector<int> in_src = drain(src);
    ASSERT_EQ(static_cast<int>(in_src.size()), count - n);
    for (int i = 0; i < count - n; ++i) EXPECT_EQ(in_src[i], n + i);
  }
}

TEST(LocalQueueTest, StealFromEmptyReturnsNull) {
  Q256 src;
  Q256 dst;
  EXPECT_EQ(src.steal_into(dst), nullptr);
  int x = 1;
  ASSERT_TRUE(src.push(&x));
  ASSERT_EQ(src.pop(), &x);
  EXPECT_EQ(src.steal_into(dst), nullptr);
  EXPECT_TRUE(dst.is_empty());
}

TEST(LocalQueueTest, StealRefusesWhenDestinationMoreThanHalfFull) {
  auto items = make_items(8);
  Q4 src;
  Q4 dst;
  ASSERT_TRUE(src.push(&items[0]));
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(dst.push(&items[i]));
  EXPECT_EQ(src.steal_into(dst), nullptr);
  EXPECT_EQ(src.len(), 1u);
  ASSERT_EQ(dst.pop(), &items[1]);  // two left: exactly half, so room for a full half again
  EXPECT_EQ(src.steal_into(dst), &items[0]);
}

TEST(LocalQueueTest, CapacityFourEdgeCases) {
  auto items = make_items(8);
  Q4 q;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.push(&items[i]));
  EXPECT_FALSE(q.push(&items[4]));
  int* out[2] = {};
  ASSERT_EQ(q.take_half(out), 2u);
  EXPECT_EQ(*out[0], 0);
  EXPECT_EQ(*out[1], 1);
  ASSERT_TRUE(q.push(&items[4]));
  ASSERT_TRUE(q.push(&items[5]));
  EXPECT_FALSE(q.push(&items[6]));

  // A full capacity-4 queue gives a thief 2: one returned, one queued in dst.
  Q4 dst;
  EXPECT_EQ(q.steal_into(dst), &items[3]);
  EXPECT_EQ(drain(dst), (std::vector<int>{2}));
  EXPECT_EQ(drain(q), (std::vector<int>{4, 5}));

  // Stealing a single item leaves dst untouched.
  ASSERT_TRUE(q.push(&items[7]));
  EXPECT_EQ(q.steal_into(dst), &items[7]);
  EXPECT_TRUE(dst.is_empty());
  EXPECT_TRUE(q.is_empty());
}

TEST(LocalQueueTest, HotPathsAvoidSeqCstAndPushAvoidsRmw) {
  auto items = make_items(4);
  LocalQueue<int, 4, CheckedAtom> q;
  LocalQueue<int, 4, CheckedAtom> dst;
  g_ops = {};
  for (int& i : items) ASSERT_TRUE(q.push(&i));
  EXPECT_EQ(g_ops.rmw, 0) << "push must be a plain store + release store";
  EXPECT_EQ(q.pop(), &items[0]);
  EXPECT_EQ(q.steal_into(dst), &items[2]);
  EXPECT_EQ(dst.pop(), &items[1]);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(g_ops.seq_cst, 0);
}

// Runs random operations on two queues owned by this thread and mirrors each on std::deque
// models. Single-threaded, so no steal is ever in flight and results are exact.
template <class Q>
void run_model(std::uint64_t start, int steps, std::uint32_t seed) {
  constexpr std::uint32_t kCap = 4;
  auto pool = make_items(steps);
  int next = 0;
  Q q[2] = {Q(start), Q(start)};
  std::deque<int*> m[2];
  std::mt19937 rng(seed);
  for (int step = 0; step < steps; ++step) {
    const int a = static_cast<int>(rng() % 2);
    const int b = 1 - a;
    switch (rng() % 4) {
      case 0:
      case 1: {  // push; on failure move the oldest half out, as a worker would
        int* item = &pool[next++];
        if (q[a].push(item)) {
          m[a].push_back(item);
          break;
        }
        ASSERT_EQ(m[a].size(), kCap);
        int* out[kCap / 2];
        ASSERT_EQ(q[a].take_half(out), kCap / 2);
        for (int* p : out) {
          ASSERT_EQ(p, m[a].front());
          m[a].pop_front();
        }
        ASSERT_TRUE(q[a].push(item));
        m[a].push_back(item);
        break;
      }
      case 2: {
        int* expect = nullptr;
        if (!m[a].empty()) {
          expect = m[a].front();
          m[a].pop_front();
        }
        ASSERT_EQ(q[a].pop(), expect);
        break;
      }
      default: {
        int* expect = nullptr;
        const std::size_t n = m[a].size() - m[a].size() / 2;
        if (m[b].size() <= kCap / 2 && n > 0) {
          for (std::size_t i = 0; i + 1 < n; ++i) {
            m[b].push_back(m[a].front());
            m[a].pop_front();
          }
          expect = m[a].front();
          m[a].pop_front();
        }
        ASSERT_EQ(q[a].steal_into(q[b]), expect);
        break;
      }
    }
    ASSERT_EQ(q[a].len(), m[a].size());
    ASSERT_EQ(q[b].len(), m[b].size());
  }
}

TEST(LocalQueueTest, SlotIndicesWrapManyTimes) {
  run_model<Q4>(0, 200000, 1);
}

TEST(LocalQueueTest, IndexCountersWrapAt48Bits) {
  const std::uint64_t near_wrap = (std::uint64_t{1} << 48) - 37;
  for (std::uint32_t seed = 1; seed <= 20; ++seed) run_model<Q4>(near_wrap, 400, seed);
}

TEST(LocalQueueTest, SpuriousCasFailuresAreRetried) {
  run_model<LocalQueue<int, 4, CheckedAtom>>((std::uint64_t{1} << 48) - 5, 50000, 7);
}

}  // namespace
}  // namespace corio::detail
