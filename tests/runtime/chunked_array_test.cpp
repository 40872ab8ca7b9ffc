// Tests for corio::detail::ChunkedArray: indexing across chunk boundaries, growth and shrink
// back and forth across a boundary, and that entries keep their values while others come and go.
#include "runtime/chunked_array.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

namespace corio::detail {
namespace {

TEST(ChunkedArray, IndexesAcrossChunks) {
  ChunkedArray<int, 4> a;
  EXPECT_TRUE(a.empty());
  for (int i = 0; i < 19; ++i) a.push_back(i * 3);
  ASSERT_EQ(a.size(), 19u);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], static_cast<int>(i) * 3);
  EXPECT_EQ(a.front(), 0);
  EXPECT_EQ(a.back(), 54);
  a[7] = -1;
  EXPECT_EQ(a[7], -1);
}

TEST(ChunkedArray, ShrinksAndGrowsAcrossABoundary) {
  ChunkedArray<int, 4> a;
  for (int i = 0; i < 12; ++i) a.push_back(i);
  for (int round = 0; round < 50; ++round) {
    // Back and forth over the boundary at 8 and down to empty: values must survive.
    while (a.size() > static_cast<std::size_t>(round % 2 == 0 ? 7 : 0)) a.pop_back();
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], static_cast<int>(i));
    while (a.size() < 12) a.push_back(static_cast<int>(a.size()));
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], static_cast<int>(i));
  }
}

TEST(ChunkedArray, MatchesAVectorUnderRandomPushAndPop) {
  ChunkedArray<std::size_t, 8> a;
  std::vector<std::size_t> ref;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    if (ref.empty() || rng() % 3 != 0) {
      std::size_t v = rng();
      a.push_back(v);
      ref.push_back(v);
    } else {
      a.pop_back();
      ref.pop_back();
    }
    ASSERT_EQ(a.size(), ref.size());
    if (!ref.empty()) {
      ASSERT_EQ(a.back(), ref.back());
    }
  }
  for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(a[i], ref[i]);
}

}  // namespace
}  // namespace corio::detail
