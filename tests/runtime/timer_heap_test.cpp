// Tests for corio::detail::TimerHeap: order, FIFO ties, removal, and a randomized comparison
// against a std::set reference with the back-index invariant checked throughout.
#include "runtime/timer_heap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace corio::detail {
namespace {

// Every node the test believes is in the heap has a distinct index in [0, size), and every other
// node has kNotInHeap. Together with pop order this pins down the back-index invariant.
void expect_indexes_consistent(const TimerHeap& heap, const std::vector<TimerNode>& nodes) {
  std::vector<bool> seen(heap.size(), false);
  std::size_t in = 0;
  for (const TimerNode& n : nodes) {
    if (!n.in_heap()) continue;
    ++in;
    ASSERT_LT(n.index, heap.size());
    ASSERT_FALSE(seen[n.index]) << "duplicate index " << n.index;
    seen[n.index] = true;
  }
  ASSERT_EQ(in, heap.size());
}

TEST(TimerHeap, EmptyHeap) {
  TimerHeap heap;
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_EQ(heap.top(), nullptr);
  EXPECT_EQ(heap.pop(), nullptr);
  EXPECT_FALSE(heap.next_deadline().has_value());
  TimerNode n;
  EXPECT_FALSE(n.in_heap());
  EXPECT_FALSE(heap.remove(&n));
}

TEST(TimerHeap, PopsInDeadlineOrder) {
  std::vector<TimerNode> nodes(1000);
  std::mt19937_64 rng(1);
  TimerHeap heap;
  for (auto& n : nodes) {
    n.deadline = static_cast<std::int64_t>(rng() % 1'000'000) - 500'000;  // negatives too
    heap.push(&n);
    EXPECT_TRUE(n.in_heap());
  }
  EXPECT_EQ(heap.size(), nodes.size());
  expect_indexes_consistent(heap, nodes);
  std::int64_t prev = INT64_MIN;
  while (!heap.empty()) {
    const std::int64_t next = *heap.next_deadline();
    EXPECT_EQ(heap.top()->deadline, next);
    TimerNode* n = heap.pop();
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->deadline, next);
    EXPECT_FALSE(n->in_heap());
    EXPECT_GE(n->deadline, prev);
    prev = n->deadline;
  }
}

TEST(TimerHeap, EqualDeadlinesFireFifo) {
  std::vector<TimerNode> nodes(100);
  TimerHeap heap;
  for (auto& n : nodes) {
    n.deadline = 42;
    heap.push(&n);
  }
  for (std::size_t i = 1; i < nodes.size(); ++i) EXPECT_GT(nodes[i].seq, nodes[i - 1].seq);
  for (auto& n : nodes) EXPECT_EQ(heap.pop(), &n);
}

TEST(TimerHeap, FifoAmongTiesSurvivesInterleaving) {
  // Ties pushed at different times, mixed with earlier and later deadlines.
  std::vector<TimerNode> nodes(30);
  TimerHeap heap;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].deadline = (i % 3 == 0) ? 10 : static_cast<std::int64_t>(i % 3 == 1 ? 5 : 20);
    heap.push(&nodes[i]);
  }
  std::vector<TimerNode*> order;
  heap.drain([&](TimerNode* n) {
    EXPECT_FALSE(n->in_heap());
    order.push_back(n);
  });
  ASSERT_EQ(order.size(), nodes.size());
  EXPECT_TRUE(heap.empty());
  for (std::size_t i = 1; i < order.size(); ++i) {
    const TimerNode* a = order[i - 1];
    const TimerNode* b = order[i];
    EXPECT_TRUE(a->deadline < b->deadline || (a->deadline == b->deadline && a < b));
  }
}

TEST(TimerHeap, RemoveTopMiddleLast) {
  std::vector<TimerNode> nodes(50);
  TimerHeap heap;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].deadline = static_cast<std::int64_t>((i * 37) % 50);  // a permutation of 0..49
    heap.push(&nodes[i]);
  }
  std::multiset<std::int64_t> ref;
  for (auto& n : nodes) ref.insert(n.deadline);

  auto remove_and_check = [&](TimerNode* n) {
    ASSERT_TRUE(heap.remove(n));
    EXPECT_FALSE(n->in_heap());
    EXPECT_FALSE(heap.remove(n));  // second removal is refused
    ref.erase(ref.find(n->deadline));
    expect_indexes_consistent(heap, nodes);
    EXPECT_EQ(*heap.next_deadline(), *ref.begin());
  };

  remove_and_check(heap.top());
  auto at_index = [&](std::uint32_t idx) -> TimerNode* {
    for (auto& n : nodes)
      if (n.index == idx) return &n;
    return nullptr;
  };
  remove_and_check(at_index(static_cast<std::uint32_t>(heap.size() - 1)));  // last slot
  remove_and_check(at_index(static_cast<std::uint32_t>(heap.size() / 2)));  // middle
  remove_and_check(at_index(1));                                            // first child

  std::vector<std::int64_t> popped;
  heap.drain([&](TimerNode* n) { popped.push_back(n->deadline); });
  EXPECT_TRUE(std::equal(popped.begin(), popped.end(), ref.begin(), ref.end()));
}

TEST(TimerHeap, RemoveRejectsNodeOfAnotherHeap) {
  TimerNode a, b;
  TimerHeap h1, h2;
  h1.push(&a);
  h2.push(&b);
  EXPECT_FALSE(h1.remove(&b));  // b's index 0 is valid in h1 but names a
  EXPECT_TRUE(a.in_heap());
  EXPECT_TRUE(h2.remove(&b));
  EXPECT_TRUE(h1.remove(&a));
}

TEST(TimerHeap, NodeCanBeReusedAfterPopOrRemove) {
  TimerNode n;
  TimerHeap heap;
  n.deadline = 5;
  heap.push(&n);
  EXPECT_EQ(heap.pop(), &n);
  n.deadline = 7;
  heap.push(&n);
  EXPECT_EQ(*heap.next_deadline(), 7);
  EXPECT_TRUE(heap.remove(&n));
  heap.push(&n);
  EXPECT_EQ(heap.size(), 1u);
  heap.drain([](TimerNode*) {});
}

TEST(TimerHeap, MoveKeepsIndexesValid) {
  std::vector<TimerNode> nodes(20);
  TimerHeap a;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].deadline = static_cast<std::int64_t>(20 - i);
    a.push(&nodes[i]);
  }
  TimerHeap b(std::move(a));
  EXPECT_TRUE(b.remove(&nodes[7]));
  expect_indexes_consistent(b, nodes);
  EXPECT_EQ(b.pop(), &nodes[19]);
  b.drain([](TimerNode*) {});
}

// 100k random push/pop/remove/top operations checked against a std::set of (deadline, seq).
TEST(TimerHeap, RandomizedAgainstReference) {
  constexpr std::size_t kNodes = 2000;
  constexpr int kOps = 100'000;
  std::vector<TimerNode> nodes(kNodes);
  std::set<std::pair<std::pair<std::int64_t, std::uint64_t>, TimerNode*>> ref;
  TimerHeap heap;
  std::mt19937_64 rng(12345);
  auto key = [](TimerNode* n) { return std::make_pair(std::make_pair(n->deadline, n->seq), n); };

  for (int op = 0; op < kOps; ++op) {
    TimerNode* n = &nodes[rng() % kNodes];
    switch (rng() % 8) {
      case 0:
      case 1:
      case 2:
      case 3:  // push (biased so the heap grows to a few hundred)
        if (!n->in_heap()) {
          n->deadline = static_cast<std::int64_t>(rng() % 64);  // small range: many ties
          heap.push(n);
          ASSERT_TRUE(ref.insert(key(n)).second);
        }
        break;
      case 4:
      case 5: {  // remove a random node (possibly not in the heap)
        const bool was_in = n->in_heap();
        if (was_in) {
          ASSERT_EQ(ref.erase(key(n)), 1u);
        }
        ASSERT_EQ(heap.remove(n), was_in);
        ASSERT_FALSE(n->in_heap());
        break;
      }
      case 6: {  // pop
        TimerNode* p = heap.pop();
        if (ref.empty()) {
          ASSERT_EQ(p, nullptr);
        } else {
          ASSERT_EQ(p, ref.begin()->second);
          ASSERT_FALSE(p->in_heap());
          ref.erase(ref.begin());
        }
        break;
      }
      default:  // observe
        if (ref.empty()) {
          ASSERT_EQ(heap.top(), nullptr);
          ASSERT_FALSE(heap.next_deadline());
        } else {
          ASSERT_EQ(heap.top(), ref.begin()->second);
          ASSERT_EQ(*heap.next_deadline(), ref.begin()->first.first);
        }
        break;
    }
    ASSERT_EQ(heap.size(), ref.size());
    if (op % 97 == 0) expect_indexes_consistent(heap, nodes);
  }
  expect_indexes_consistent(heap, nodes);
  heap.drain([&](TimerNode* p) {
    ASSERT_FALSE(ref.empty());
    ASSERT_EQ(p, ref.begin()->second);
    ref.erase(ref.begin());
  });
  EXPECT_TRUE(ref.empty());
}

}  // namespace
}  // namespace corio::detail
