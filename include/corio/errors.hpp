// corio exceptions: asyncio's exception names, all derived from std::exception.
// I/O failures are std::system_error carrying the errno; they are not declared here.
#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace corio {

/// Thrown at the suspended `co_await` of a task that was cancelled (asyncio.CancelledError).
/// corio itself never swallows it: a task that catches it should clean up and rethrow.
class CancelledError : public std::exception {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string msg) : msg_(std::move(msg)) {}
  const char* what() const noexcept override {
    return msg_.empty() ? "corio::CancelledError" : msg_.c_str();
  }
  /// The message given to `cancel(msg)`, empty when none was.
  const std::string& message() const noexcept { return msg_; }

 private:
  std::string msg_;
};

/// A deadline given to `wait_for` / `timeout` (or an operation's own timeout) expired.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("corio::TimeoutError: the operation timed out") {}
  using std::runtime_error::runtime_error;
};

/// An operation was asked of a task or future in the wrong state, such as `result()` before
/// `done()` or `set_result()` twice (asyncio.InvalidStateError).
class InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// EOF arrived before the requested number of bytes; `partial` holds what was read.
class IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial_bytes, std::size_t expected_bytes)
      : std::runtime_error("corio::IncompleteReadError: " + std::to_string(partial_bytes.size()) +
                           " bytes read on a total of " + std::to_string(expected_bytes) +
                           " expected bytes"),
        partial(std::move(partial_bytes)),
        expected(expected_bytes) {}
  std::string partial;
  std::size_t expected;
};

/// A line or separator was not found within the stream's `limit`.
class LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& msg, std::size_t consumed_bytes)
      : std::runtime_error(msg), consumed(consumed_bytes) {}
  std::size_t consumed;
};

/// `get_nowait()` on an empty queue.
class QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("corio::QueueEmpty: the queue is empty") {}
};

/// `put_nowait()` on a full queue.
class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("corio::QueueFull: the queue is full") {}
};

/// `put()` after `shutdown()`, or `get()` after an immediate shutdown / on an empty shut-down
/// queue.
class QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("corio::QueueShutDown: the queue is shut down") {}
};

/// A `Barrier` was aborted or reset while tasks waited on it.
class BrokenBarrierError : public std::runtime_error {
 public:
  BrokenBarrierError() : std::runtime_error("corio::BrokenBarrierError: the barrier is broken") {}
};

/// Several errors raised together, as by a `TaskGroup` whose children failed.
class ExceptionGroup : public std::exception {
 public:
  ExceptionGroup(std::string msg, std::vector<std::exception_ptr> errors)
      : msg_(std::move(msg)), errors_(std::move(errors)) {
    what_ = msg_ + " (" + std::to_string(errors_.size()) + " sub-exception" +
            (errors_.size() == 1 ? "" : "s") + ")";
  }
  const char* what() const noexcept override { return what_.c_str(); }
  const std::string& message() const noexcept { return msg_; }
  /// The errors, in the order they were raised.
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return errors_; }

 private:
  std::string msg_;
  std::string what_;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace corio
