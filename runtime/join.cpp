#include <corio/detail/join.hpp>

#include <new>
#include <stdexcept>

#include "runtime/shared.hpp"
#include "runtime/worker.hpp"

namespace corio::detail {

constinit thread_local Join* Join::t_deferred = nullptr;

Join* Join::make(std::size_t n, bool settled) {
  static_assert(alignof(Node) <= alignof(Join) && sizeof(Join) % alignof(Node) == 0);
  if (n >= (std::size_t{1} << kErrorBits)) {
    throw std::length_error("corio: gather() of 2^30 awaitables or more");
  }
  void* mem = frame_alloc(bytes_for(n));
  return ::new (mem) Join(n, settled);  // the nodes: see Node
}

void Join::release(Join* j) noexcept {
  // Children still running keep their nodes listed (nobody edits a Join child's list but
  // its close): mark the Join detached and let the last node free it.
  std::uint64_t w = j->word_.load(std::memory_order_acquire);
  do {
    if ((w & kCountMask) == 0) {
      free(j);
      return;
    }
  } while (!j->word_.compare_exchange_weak(w, w | kDetached, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
}

void Join::free(Join* j) noexcept {
  // Acquire: pairs with detach_groups(), so a Join the runtime forgot is disposed of after
  // everything the runtime did with it (a snapshot's look at its children).
  if (Registry* r = j->registry_.load(std::memory_order_acquire)) {
    Worker* w = t_worker;
    if (w != nullptr && &w->shared().registry == r && w->index() != j->shard_) {
      // Another worker of the runtime (the waiting task often resumes where its last child
      // ended): the shard's worker unregisters and disposes of j, woken if parked, rather
      // than this worker paying a membarrier for the shard's lock.
      const std::uint16_t shard = j->shard_;
      if (r->defer_remove_group(j)) w->shared().wake_owner(shard);  // Lifetime: j may be gone
      return;
    }
    // The shard's worker: the cheap lock. A thread outside the runtime: the foreign lock,
    // which also orders it with stop()'s detach_groups().
    r->remove_group(j);
  }
  dispose(j);
}

void Join::dispose(Join* j) noexcept {
  Node* nodes = j->nodes();
  const std::size_t n = j->n_;
  for (std::size_t i = 0; i < n; ++i) release_task(nodes[i].task);
  j->~Join();
  frame_free(j, bytes_for(n));
}

void Join::attach(std::size_t i, PromiseBase* p) noexcept {
  Node& nd = *::new (&nodes()[i]) Node{{}, this, p, false};
  nd.fn = &Join::fire;
  retain_task(p);
  if (!p->waiters_.add(&nd)) fire(&nd);  // done already: count it now
}

void Join::fire(WaitNode* wn) noexcept {
  auto* nd = static_cast<Node*>(wn);
  Join* j = nd->self;
  PromiseBase* child = nd->task;
  // asyncio's gather looks at every child's exception, so none is reported as never
  // retrieved (debug mode).
  if (child->error_) child->outcome_flags_.fetch_or(kRetrieved, std::memory_order_relaxed);
  std::uint64_t prev;
  std::uint64_t next;
  if (j->settled_ || !child->error_) {
    // No load first: the line may sit in another core's cache, and a read would fetch it
    // shared only for the RMW to fetch it again.
    prev = j->word_.fetch_sub(1, std::memory_order_acq_rel);
    next = prev - 1;
  } else {
    const std::uint64_t mark = static_cast<std::uint64_t>(nd - j->nodes()) + 1;
    prev = j->word_.load(std::memory_order_relaxed);
    do {
      next = prev - 1;
      if (error_of(prev) == 0) next |= mark << kErrorShift;
    } while (!j->word_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
  }
  // Lifetime: from here on j and *nd belong to the owner, who may free them, unless this
  // RMW ended the wait of a parked task (we wake it) or was the last of a detached Join.
  if ((prev & kArmed) != 0 && !ended(prev) && ended(next)) {
    wake(j->task_, j->owner);
  } else if ((next & kDetached) != 0 && (next & kCountMask) == 0) {
    // Not here: freeing drops the children, whose frames' destructors may run user code,
    // and we are inside a child's close (its list locked, t_current set). The worker frees
    // it once the step is over (free_deferred).
    j->next_deferred_ = t_deferred;
    t_deferred = j;
  }
}

void Join::free_deferred() noexcept {
  while (Join* j = t_deferred) {
    t_deferred = j->next_deferred_;
    free(j);
  }
}

namespace {
constexpr int kMaxNest = 32;
constinit thread_local int t_nest = 0;
}  // namespace

int nested_depth() noexcept {
  return t_nest;
}

bool Join::help() noexcept {
  Worker* w = t_worker;
  if (w == nullptr || w->shared().single || w->shared().opts.debug || t_nest >= kMaxNest) {
    return false;
  }
  const TaskHeader* self = t_current;
  ++t_nest;
  std::uint64_t quiet = 0;
  bool ran = false;
  for (std::size_t k = n_; k > 0; --k) {
    // asyncio: a gather whose task was cancelled cancels the children before they start,
    // and one that failed is over for its task (the rest run on, from the queues).
    if ((self->state_.load(std::memory_order_relaxed) & kCancelReq) != 0 ||
        error_of(word_.load(std::memory_order_relaxed)) != 0) {
      break;
    }
    Node& nd = nodes()[k - 1];
    if (!nd.created || !w->take_spawned(nd.task)) break;
    ran = true;
    const NestedEnd end = run_nested(nd.task);
    if (end == NestedEnd::kQuiet) ++quiet;
    if (end == NestedEnd::kYielded || !w->spend_nest_budget()) break;
  }
  --t_nest;
  if (quiet != 0) word_.fetch_sub(quiet, std::memory_order_acq_rel);
  return ran;
}

bool Join::await_suspend(std::coroutine_handle<> h) noexcept {
  const bool helped = help();
  task_ = t_current;
  std::uint64_t w = word_.load(std::memory_order_acquire);
  do {
    if (ended(w)) {
      // Ended meanwhile: carry on without a switch. A cancel that came while help() ran
      // children is raised here: without help the task would have parked, and the cancel
      // reached it there (asyncio: its children cannot run before it suspends).
      cancelled_ = helped && take_cancel(task_);
      return false;
    }
  } while (!word_.compare_exchange_weak(w, w | kArmed, std::memory_order_acq_rel,
                                        std::memory_order_acquire));
  suspended_ = true;
  park_current(this, h);
  return true;
}

void Join::await_resume() const {
  if (!suspended_) {
    if (cancelled_) throw_cancelled(task_);
    // The children were done before a cancel could reach them (it came before the gather
    // task's first step): asyncio's gather ends cancelled.
    take_start_cancel();
    return;
  }
  // asyncio: a cancelled gather raises CancelledError once its children are done, unless
  // (gather, not gather_settled) one of them raised first: then that error.
  if (cancelled_ || (cancel_passed_ && (settled_ || first_error() == kNone))) {
    throw_cancelled(task_);
  }
  check_cancel_on_resume(task_);
}

void Join::cancel(TaskHeader*) noexcept {
  // The wait ended meanwhile (its wake is on the way): the children are not ours to cancel
  // any more, as asyncio's gather is done; the cancel is this task's own.
  if (ended(word_.load(std::memory_order_acquire))) {
    cancelled_ = true;
    return;
  }
  bool passed_on = false;
  Node* nodes = this->nodes();
  for (std::size_t i = 0; i < n_; ++i) passed_on |= cancel_task(nodes[i].task, nullptr);
  // A child that refused is done and has fired or is firing now: if none took the cancel,
  // the last one's node ends the wait, and this one ends in CancelledError.
  if (passed_on) {
    cancel_passed_ = true;
  } else {
    cancelled_ = true;
  }
}

}  // namespace corio::detail
