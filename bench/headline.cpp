// corio-headline's shared parts: the timing loop and the table (see headline.hpp).
#include "headline.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace corio_headline {

using Clock = std::chrono::steady_clock;

int g_runs = 5;
namespace {
constexpr double kBudgetSeconds = 6.0;  // per measurement, warm-up included
}  // namespace

double best_seconds(const std::function<void()>& f) {
  const auto t0 = Clock::now();
  f();  // warm-up
  double best = 1e300;
  for (int i = 0; i < g_runs; ++i) {
    const auto s = Clock::now();
    f();
    const double took = std::chrono::duration<double>(Clock::now() - s).count();
    if (took < best) best = took;
    if (std::chrono::duration<double>(Clock::now() - t0).count() > kBudgetSeconds) {
      break;
    }
  }
  return best;
}

namespace {

struct Row {
  std::string metric;
  std::string value;
  std::string target;
  std::string verdict;  // "pass", "**fail**", or "" for information only
};
std::vector<Row> g_rows;

}  // namespace

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void at_least(const std::string& metric, const char* f, double v, double target) {
  g_rows.push_back({metric, fmt(f, v), "≥ " + fmt(f, target), v >= target ? "pass" : "**fail**"});
}
void at_most(const std::string& metric, const char* f, double v, double target) {
  g_rows.push_back({metric, fmt(f, v), "≤ " + fmt(f, target), v <= target ? "pass" : "**fail**"});
}
void failed(const std::string& metric, const std::string& value, const std::string& target) {
  g_rows.push_back({metric, value, target, "**fail**"});
}
void info(const std::string& metric, const std::string& value) {
  g_rows.push_back({metric, value, "—", ""});
}

corio::Options threads(std::size_t n) {
  return corio::Options{.threads = n};
}

void print() {
  std::printf("| metric | corio | target | pass/fail |\n|---|---:|---:|---|\n");
  for (const Row& r : g_rows) {
    std::printf("| %s | %s | %s | %s |\n", r.metric.c_str(), r.value.c_str(), r.target.c_str(),
                r.verdict.c_str());
  }
}

}  // namespace corio_headline
