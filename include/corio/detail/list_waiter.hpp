// ListWaiter: a task parked on a WaitList (a task's or a future's completion).
#pragma once

#include <corio/detail/task_header.hpp>

namespace corio::detail {

/// The park of a task waiting for a WaitList to close. Subclasses say what cancelling the
/// waiting task does (pass the cancel on to the awaited task, or cancel a future).
class ListWaiter : public Park, public WaitNode {
 public:
  /// Registers on `list`; false (nothing registered) when it is closed already.
  bool arm(WaitList& list, std::coroutine_handle<> h) noexcept {
    task_ = t_current;
    fn = &ListWaiter::fire;
    if (!list.add(this)) return false;
    park_current(this, h);
    return true;
  }

 protected:
  ~ListWaiter() = default;
  /// On resume: CancelledError if the cancel ended the wait, or arrived after the wake.
  void check_cancel() const {
    if (task_ == nullptr) return;  // never suspended
    if (cancelled_) throw_cancelled(task_);
    check_cancel_on_resume(task_);
  }
  /// As check_cancel(), for an await that may be the first of a combinator body: one that
  /// never suspended throws for a cancel from before the body's first step, before
  /// await_resume takes what it waited for (take_start_cancel).
  void check_cancel_or_start() const {
    if (task_ == nullptr) {
      take_start_cancel();
      return;
    }
    check_cancel();
  }
  TaskHeader* task_ = nullptr;
  bool cancelled_ = false;  // the cancel ended the wait: await_resume throws CancelledError

 private:
  static void fire(WaitNode* n) noexcept {
    auto* self = static_cast<ListWaiter*>(n);
    wake(self->task_, self->owner);
  }
};

}  // namespace corio::detail
