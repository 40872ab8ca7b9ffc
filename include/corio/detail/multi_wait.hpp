// MultiWait: a task waiting on several tasks at once, with a timeout (wait, wait_for).
//
// Invariants
//   One Node per awaited task sits in that task's WaitList until it fires or is removed.
//   trigger() wakes the waiting task exactly once (triggered_ decides), whichever of the
//   nodes, the timer or a cancel gets there first.
//   await_resume() removes every node that did not fire and the timer before the frame
//   can go; WaitList fires callbacks under its lock, so after removal nothing touches us.
// Memory ordering
//   A child's error_ is written before its WaitList closes (release); fire() runs under
//   that list's lock and reads it. remaining_ and triggered_ are acq_rel RMWs.
// Lifetime
//   The timer lives in the frame; with a timeout the park's owner is the timer's worker, so
//   the task resumes there and removes the timer itself.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include <corio/detail/promise.hpp>
#include <corio/detail/timer_node.hpp>

namespace corio::detail {

enum class WaitMode : std::uint8_t {
  kAll,             // every task done
  kFirst,           // wait(FirstCompleted)
  kFirstException,  // wait(FirstException): one raised (cancellation excluded), or all done
};

enum class OnTimeout : std::uint8_t {
  kWake,    // wait(): stop waiting, leave the tasks running
  kCancel,  // wait_for(): cancel the tasks and keep waiting until they finish
};

class MultiWait final : public Park, private Timer {
 public:
  struct Node : WaitNode {
    MultiWait* self = nullptr;
    PromiseBase* task = nullptr;
  };
  static constexpr std::size_t kNone = ~std::size_t{0};

  /// nodes[i].task must be set; nodes must outlive the await. cancel_children: cancelling
  /// the waiting task cancels the awaited ones (wait_for) instead of ending the wait.
  MultiWait(Node* nodes, std::size_t n, WaitMode mode, std::optional<std::int64_t> timeout_ns,
            OnTimeout on_timeout, bool cancel_children) noexcept
      : nodes_(nodes),
        n_(n),
        timeout_ns_(timeout_ns),
        mode_(mode),
        on_timeout_(on_timeout),
        cancel_children_(cancel_children) {}
  MultiWait(const MultiWait&) = delete;
  MultiWait& operator=(const MultiWait&) = delete;

  bool await_ready() noexcept;
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();
  void cancel(TaskHeader* t) noexcept override;

  bool timed_out() const noexcept { return timed_out_.load(std::memory_order_acquire); }
  /// The waiting task's cancel was passed on to the awaited tasks (cancel_children).
  bool cancel_passed() const noexcept { return cancel_passed_; }
  /// Index of the first task that raised (in completion order), or kNone.
  std::size_t first_error() const noexcept { return first_error_.load(std::memory_order_acquire); }

 private:
  static void fire(WaitNode* n) noexcept;
  friend void fire_timer(Timer* t) noexcept;
  static void on_timer(Timer* t) noexcept;
  bool satisfied(PromiseBase* p, bool all_done) const noexcept;
  void note_error(const Node* n) noexcept;
  void trigger() noexcept;
  void detach() noexcept;

  Node* nodes_;
  std::size_t n_;
  std::optional<std::int64_t> timeout_ns_;
  WaitMode mode_;
  OnTimeout on_timeout_;
  bool cancel_children_;
  bool cancelled_ = false;
  bool cancel_passed_ = false;  // runner-owned, like cancelled_
  bool timer_armed_ = false;
  TaskHeader* task_ = nullptr;
  std::atomic<std::size_t> remaining_{0};
  std::atomic<std::size_t> first_error_{kNone};
  std::atomic<bool> triggered_{false};
  std::atomic<bool> timed_out_{false};
};

}  // namespace corio::detail
