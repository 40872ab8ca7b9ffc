// What corio-headline's measurement groups share: the timing loop and the table they add
// rows to. A group whose workload is sensitive to how the compiler inlines it lives in a
// file of its own (headline_fanout.cpp), compiled as the Google Benchmark program that
// measures the same workload is, so that both programs time the same machine code.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include <corio/runtime.hpp>

namespace corio_headline {

/// Timed runs per figure (--runs).
extern int g_runs;

/// Best (shortest) wall time of up to g_runs runs of f after one warm-up run; stops early
/// once the runs together have taken a few seconds (at least one timed run is made).
double best_seconds(const std::function<void()>& f);
/// printf-formats one number.
std::string fmt(const char* f, double v);
/// Adds a row with a target the value must reach (at_least) or stay under (at_most).
void at_least(const std::string& metric, const char* f, double v, double target);
void at_most(const std::string& metric, const char* f, double v, double target);
/// Adds a row that missed its target without a number to show (value says why).
void failed(const std::string& metric, const std::string& value, const std::string& target);
/// Adds a row without a target.
void info(const std::string& metric, const std::string& value);
/// Prints the rows as a Markdown table.
void print();
/// Options with n workers.
corio::Options threads(std::size_t n);

/// fib and skynet by gather (headline_fanout.cpp).
void fanout();

}  // namespace corio_headline
