// Join: the core of gather() and gather_settled(): a task waiting for a fixed set of children,
// all of them or (gather) until the first raises.
//
// One allocation holds the Join and a Node per child. A child that gather creates from a
// Coro gets its node before it is scheduled, with a plain store (nobody else can see it yet);
// a Task handed to gather gets it through WaitList::add. A node fires once, from the child's
// complete_task(): it counts the child off word_, and the child that ends the wait wakes the
// waiting task if that has parked. Fan-in therefore costs each child one RMW on word_ —
// except a child that help() ran inside the waiting task's step and that returned there
// while only its Join held it: its node never fires, and help() counts all such children off
// word_ with one RMW before the task tries to park.
//
// Invariants
//   word_ = remaining children (bits 0-31) | index + 1 of the first child that raised (bits
//   32-61, gather only; 0: none) | kDetached (bit 62: the owner let go) | kArmed (bit 63: the
//   waiting task is parked here). The wait ends when remaining is 0 or an error is recorded.
//   Exactly one party wakes the task: the child whose RMW ends the wait while kArmed is set.
//   If the wait had ended before the task tried to park, it does not park. help() runs only
//   children that are still unstarted on top of the calling worker's private spawn deque (a
//   spawn deque holds nothing but unstarted tasks), so nobody else can be running them; the
//   count it subtracts is of nodes that will never fire.
//   Every node stays in its child's WaitList until it fires: the Join never removes one (so
//   a child's list is edited by nobody but its close, see task_header.hpp). The Join is
//   freed by release() when every node has fired, else after the step in which the last
//   node fired (its child's close must not run the siblings' destructors).
// Memory ordering
//   A child writes its result, then fires under its WaitList's lock: its acq_rel RMW on
//   word_ is in the release sequence the waiting task's acquire reads, so the task sees every
//   counted child's result and error_. task_ is written before the release CAS that sets
//   kArmed; the waker reads it after its acq_rel RMW saw kArmed.
// Registration
//   The children gather creates from Coros (adopt_new) are not registered one by one for
//   all_tasks(): schedule_joined() registers the Join, once, on the calling worker's shard,
//   and the registry reaches them through it (see registry.hpp). The entry goes when the
//   Join is freed.
// Lifetime
//   The Join holds a reference on every child (for Coros: the one create_task would have
//   given the Task handle), dropped by release(). A registered Join is unregistered before
//   it drops them: by its shard's worker, which other threads hand the Join to.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <corio/detail/promise.hpp>

namespace corio::detail {

class Registry;

class Join final : public Park {
 public:
  static constexpr std::size_t kNone = ~std::size_t{0};

  /// A Join for n children; settled: errors do not end the wait (gather_settled). Throws
  /// std::bad_alloc, or std::length_error for 2^30 children or more.
  static Join* make(std::size_t n, bool settled);
  /// The owner lets go: frees the Join (and drops its references) now if every node fired,
  /// else leaves that to the last node. Every node must be attached.
  static void release(Join* j) noexcept;
  /// Frees the detached Joins whose last node fired on this thread. The worker calls it
  /// after a step in which a task completed, outside any list's lock and any task.
  static void free_deferred() noexcept;
  static bool has_deferred() noexcept { return t_deferred != nullptr; }
  /// Drops the children's references and frees j; j is not (or no longer) registered.
  static void dispose(Join* j) noexcept;

  /// Child i will be p, a Coro's frame suspended at its start (h) that gather turns into a
  /// task: start_new(i) sets it up, from schedule_joined(). Nobody else can see p until then.
  void adopt_new(std::size_t i, PromiseBase* p, std::coroutine_handle<> h) noexcept {
    p->resume_ = h;
    ::new (&nodes()[i]) Node{{nullptr, &Join::fire}, this, p, true};
  }
  /// Sets up child i, which adopt_new() gave, as a task (as create_task would, with the
  /// reference a Task handle would hold going to the Join) and lists its node. Each field
  /// is written once: fork-join code sets up millions of these.
  void start_new(std::size_t i) noexcept {
    Node& nd = nodes()[i];
    PromiseBase* p = nd.task;
    start_new_task(p, kJoined, &nd);  // resume_: adopt_new's
  }
  /// Whether child i is one adopt_new() gave (gather created its task).
  bool created(std::size_t i) const noexcept { return nodes()[i].created; }
  /// Child i is p, a task that may be running or done already. Takes a reference.
  void attach(std::size_t i, PromiseBase* p) noexcept;

  std::size_t size() const noexcept { return n_; }
  PromiseBase* child(std::size_t i) const noexcept { return nodes()[i].task; }
  /// The first child (in completion order) that raised, or kNone. After the wait.
  std::size_t first_error() const noexcept {
    return static_cast<std::size_t>(error_of(word_.load(std::memory_order_acquire))) - 1;
  }

  bool await_ready() const noexcept { return ended(word_.load(std::memory_order_acquire)); }
  bool await_suspend(std::coroutine_handle<> h) noexcept;
  /// Throws CancelledError when a cancel ended the wait, or arrived after it ended.
  void await_resume() const;
  /// The waiting task was cancelled: cancel the children. Their outcome ends the wait.
  void cancel(TaskHeader* t) noexcept override;

 private:
  friend class Registry;
  // Constructed by adopt_new() or attach(): every node is, before the Join is used.
  struct Node : WaitNode {
    Join* self = nullptr;
    PromiseBase* task = nullptr;
    bool created = false;  // adopt_new: gather made the task (immutable once set)
  };
  static constexpr int kErrorShift = 32;
  static constexpr int kErrorBits = 30;
  static constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kErrorShift) - 1;
  static constexpr std::uint64_t kDetached = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kArmed = std::uint64_t{1} << 63;
  static std::uint64_t error_of(std::uint64_t w) noexcept {
    return (w >> kErrorShift) & ((std::uint64_t{1} << kErrorBits) - 1);
  }

  static std::size_t bytes_for(std::size_t n) noexcept { return sizeof(Join) + n * sizeof(Node); }
  Join(std::size_t n, bool settled) noexcept : word_(n), n_(n), settled_(settled) {}
  Node* nodes() const noexcept { return reinterpret_cast<Node*>(const_cast<Join*>(this) + 1); }
  static bool ended(std::uint64_t w) noexcept { return (w & kCountMask) == 0 || error_of(w) != 0; }
  static void fire(WaitNode* n) noexcept;
  /// Runs the first step of each child still on top of the calling worker's private spawn
  /// deque inside the waiting task's step (multi-thread mode, not debug mode, at most
  /// kMaxNest levels deep), then counts off those that completed without firing. True when
  /// it ran any.
  bool help() noexcept;
  static void free(Join* j) noexcept;

  std::atomic<std::uint64_t> word_;
  std::size_t n_;
  TaskHeader* task_ = nullptr;     // the waiting task, once it tried to park
  Join* next_deferred_ = nullptr;  // link in t_deferred, then in the registry's deferred stack
  std::atomic<Registry*> registry_{nullptr};  // where its created children are registered
  std::uint32_t reg_index_ = 0;               // slot in the registry shard (under the shard's lock)
  std::uint16_t shard_ = 0;
  bool settled_;
  bool suspended_ = false;      // the waiting task parked (runner-owned)
  bool cancelled_ = false;      // a cancel ended the wait, or came after it ended (runner-owned)
  bool cancel_passed_ = false;  // a cancel went on to the children (runner-owned)
  // Detached Joins whose last node fired on this thread, freed after the step.
  static constinit thread_local Join* t_deferred;
};

/// How many gathering steps the calling thread runs children inside now (Join::help): 0
/// outside a nested child. For tests and debugging.
int nested_depth() noexcept;

/// Schedules the children j created (adopt_new), in index order, and registers them
/// through j (one registry entry). Only inside a task (check_startable() made sure).
void schedule_joined(Join& j) noexcept;

/// Owns a Join: releases it when dropped (with the Gathering that holds it, awaited or not).
class JoinRef {
 public:
  explicit JoinRef(Join* j) noexcept : j_(j) {}
  JoinRef(JoinRef&& o) noexcept : j_(o.j_) { o.j_ = nullptr; }
  JoinRef& operator=(JoinRef&& o) noexcept {
    if (this != &o) {
      if (j_ != nullptr) Join::release(j_);
      j_ = std::exchange(o.j_, nullptr);
    }
    return *this;
  }
  ~JoinRef() {
    if (j_ != nullptr) Join::release(j_);
  }
  Join& operator*() const noexcept { return *j_; }
  Join* operator->() const noexcept { return j_; }
  Join* get() const noexcept { return j_; }

 private:
  Join* j_;
};

}  // namespace corio::detail
