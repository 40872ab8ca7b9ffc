#include "runtime/worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <corio/detail/cpu_relax.hpp>

#include <corio/detail/join.hpp>

#include "runtime/callback.hpp"
#include "runtime/shared.hpp"

namespace corio::detail {

constinit thread_local Worker* t_worker = nullptr;
constinit thread_local bool t_yield = false;

namespace {
constexpr std::uint64_t kWakeTag = 1;  // user_data of the eventfd read that unparks us
}  // namespace

Worker::Worker(Shared& shared, std::uint32_t index)
    : shared_(shared), index_(index), single_(shared.single), rng_(index * 2654435761u + 12345u) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::system_error(errno, std::system_category(), "corio: eventfd");
}

Worker::~Worker() {
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Worker::start(std::latch& ready, std::exception_ptr& error) {
  thread_ = std::thread([this, &ready, &error] { main(ready, error); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::main(std::latch& ready, std::exception_ptr& error) {
  t_worker = this;
  shared_.registry.bind_owner(index_);
  spawn_.bind_owner();
  try {
    ring_.emplace(256);
    arm_wake_read();
  } catch (...) {
    error = std::current_exception();
    ready.count_down();
    t_worker = nullptr;
    return;
  }
  ready.count_down();
  if (shared_.single) {
    loop_single();
  } else {
    loop_multi();
  }
  // Freeing what is left may run destructors (a finished task's result, a callback's
  // captures) that schedule more — a done callback, say: repeat until nothing is left.
  do {
    shared_.registry.drain_deferred(index_);
    free_leftover_timers();
  } while (discard_leftovers());
  ring_.reset();
  t_worker = nullptr;
}

// --- scheduling (owner) ----------------------------------------------------------------

void Worker::push_local(Runnable* r) {
  if (shared_.single) {
    fifo_.push(r);
    return;
  }
  while (!local_.push(r)) {
    // Full: move the older half to the inject queue so other workers can take it.
    Runnable* batch[kLocalCapacity / 2 + 1];
    std::uint32_t n = local_.take_half(batch);
    if (n == 0) continue;  // a thief made room meanwhile
    batch[n++] = r;
    shared_.inject.enqueue_bulk(batch, n);
    return;
  }
}

void Worker::schedule_woken(Runnable* r, bool lifo) {
  if (shared_.single) {
    fifo_.push(r);
    return;
  }
  if (lifo) {
    Runnable* prev = lifo_;
    lifo_ = r;
    if (prev == nullptr) return;  // nothing stealable was added
    r = prev;
  }
  push_local(r);
  notify_pending_ = true;
}

void Worker::schedule_spawned(Runnable* r) {
  if (shared_.single) {
    fifo_.push(r);
    return;
  }
  if (!spawn_.push(r)) push_local(r);
  notify_pending_ = true;
}

std::int64_t Worker::now() const noexcept {
  return shared_.opts.virtual_time ? virtual_now_ : shared_.real_now();
}

// --- any thread ------------------------------------------------------------------------

void Worker::post(Runnable* r) {
  Shared::OutsideCall call(shared_);
  {
    std::lock_guard g(inbox_mu_);
    inbox_.push_back(r);
    inbox_nonempty_.store(true, std::memory_order_release);
  }
  if (t_worker != this) unpark();
}

void Worker::unpark() noexcept {
  std::uint64_t one = 1;
  // A full counter (EAGAIN) still wakes the reader; nothing else can fail here.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

// --- the loops -------------------------------------------------------------------------

void Worker::run(Runnable* r) noexcept {
  if (searching_) {
    searching_ = false;
    // The last searcher found work: let another worker look for more.
    if (shared_.idle.transition_from_searching()) shared_.notify_work();
  }
  budget_ = kBudget;
  // Thieves read it to tell a long step from a stream of short ones (no RMW: one writer).
  steps_.store(steps_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  run_runnable(r);
  flush_notify();
}

void Worker::flush_notify() noexcept {
  // One look at the idle workers per step, however many tasks the step made runnable.
  if (notify_pending_) {
    notify_pending_ = false;
    shared_.notify_work(true);
  }
}

void Worker::loop_multi() {
  while (!shared_.stopping.load(std::memory_order_acquire)) {
    ++tick_;
    if (tick_ % kGlobalInterval == 0) maintenance();
    Runnable* r = next_local();
    if (r == nullptr) {
      maintenance();
      r = next_local();
      if (r == nullptr) r = next_global();
      if (r == nullptr) r = steal();
      if (r == nullptr) {
        park();
        continue;
      }
    }
    nest_budget_ = kNestBudget;  // only multi-thread mode nests
    run(r);
    // A gather child that ended nested in the step may have fired the last node of a detached
    // Join, queued for freeing outside any task (a finished task's own run frees them).
    if (Join::has_deferred()) Join::free_deferred();
  }
}

void Worker::loop_single() {
  // asyncio's _run_once: poll timers and I/O, then run exactly the callbacks that were ready
  // at that moment; what they make ready runs in the next round.
  while (!shared_.stopping.load(std::memory_order_acquire)) {
    maintenance();
    if (fifo_.empty()) {
      // Jump only while some task is alive to wait for the time: like asyncio, whose loop
      // stops with the main task, callbacks alone do not move the clock.
      if (shared_.opts.virtual_time && io_inflight_ == 0 &&
          shared_.external_pending.load(std::memory_order_acquire) == 0 &&
          !shared_.clock_paused.load(std::memory_order_acquire) && shared_.registry.size() != 0) {
        if (TimerNode* n = timers_.top()) {
          if (n->deadline > virtual_now_) virtual_now_ = n->deadline;
          continue;
        }
      }
      park();
      continue;
    }
    for (std::size_t n = fifo_.size(); n > 0; --n) run(fifo_.pop());
  }
}

Runnable* Worker::next_local() noexcept {
  if (shared_.single) return fifo_.pop();
  if (tick_ % kGlobalInterval == 0) {
    if (Runnable* r = next_global()) return r;
  }
  if (lifo_ != nullptr) {
    Runnable* r = std::exchange(lifo_, nullptr);
    if (lifo_polls_ < kMaxLifoPolls) {
      ++lifo_polls_;
      return r;
    }
    // Two tasks waking each other through the LIFO slot would starve the queue: demote.
    push_local(r);
  }
  lifo_polls_ = 0;
  publish_spawned();
  if (tick_ % 31 == 0) {
    if (Runnable* r = local_.pop()) return r;
  }
  if (Runnable* r = spawn_.pop()) return r;
  return local_.pop();
}

void Worker::publish_spawned() noexcept {
  // The thief that asked may be parking right now: the fenced notify, so that either it sees
  // the published work or we see it parked (Idle's handshake), and now, not after the step.
  if (spawn_.publish_if_wanted()) shared_.notify_work(false);
}

Runnable* Worker::next_global() noexcept {
  Runnable* r = nullptr;
  if (shared_.inject.try_dequeue(r)) return r;
  return nullptr;
}

Runnable* Worker::steal() noexcept {
  if (!searching_) {
    if (!shared_.idle.transition_to_searching()) return nullptr;
    searching_ = true;
  }
  const std::uint32_t n = shared_.nworkers;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 17;
  rng_ ^= rng_ << 5;
  const std::uint32_t start = rng_ % n;
  Worker* asked = nullptr;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint32_t v = (start + i) % n;
    if (v == index_) continue;
    Worker& victim = *shared_.workers[v];
    if (Runnable* r = steal_spawned(victim)) return r;
    if (Runnable* r = victim.local_.steal_into(local_)) return r;
    if (asked == nullptr && victim.spawn_.request()) asked = &victim;
  }
  if (Runnable* r = next_global()) return r;
  if (asked == nullptr) return nullptr;
  // The owner serves the request before its next task, which in fork-join code is a few
  // hundred nanoseconds away: wait that long. Its private items running out means it ran
  // them itself.
  const std::uint32_t step = asked->steps_.load(std::memory_order_relaxed);
  const bool again = asked == force_victim_ && step == force_step_;
  const int spins = again ? force_spins_ : kRequestSpins;
  for (int i = 0; i < spins; ++i) {
    cpu_relax();
    if (asked->spawn_.public_len() != 0) {
      if (Runnable* r = steal_spawned(*asked)) return r;
    }
    if (asked->spawn_.private_hint() == 0) return nullptr;
  }
  // An owner that moved on to another step will answer before its next one.
  if (asked->steps_.load(std::memory_order_relaxed) != step) return nullptr;
  // Still inside the step it ran when we asked: a long one. Take the work without it, and
  // should that step go on, wait twice as long before forcing it again (each forced steal
  // costs a membarrier; a step spawning in a loop must not turn into a storm of them).
  force_victim_ = asked;
  force_step_ = step;
  force_spins_ = std::min(2 * spins, kMaxForceSpins);
  Runnable* batch[kForceBatch];
  const std::uint32_t k = asked->spawn_.force_steal(batch, kForceBatch);
  for (std::uint32_t i = 1; i < k; ++i) {
    if (!spawn_.push(batch[i])) push_local(batch[i]);
  }
  return k != 0 ? batch[0] : nullptr;
}

Runnable* Worker::steal_spawned(Worker& victim) noexcept {
  Runnable* r = victim.spawn_.steal();
  if (r == nullptr) return nullptr;
  // Take up to half of what is left (a few at most), so one steal feeds us for a while
  // rather than one task per trip across the cores.
  for (std::uint32_t k = std::min<std::uint32_t>(victim.spawn_.public_len() / 2, kStealBatch);
       k > 0; --k) {
    Runnable* more = victim.spawn_.steal();
    if (more == nullptr) break;
    if (!spawn_.push(more)) push_local(more);
  }
  return r;
}

bool Worker::has_remote_work() noexcept {
  return shared_.inject.size_approx() != 0 || inbox_nonempty_.load(std::memory_order_acquire) ||
         shared_.registry.has_deferred(index_);
}

void Worker::park() {
  bool last = shared_.idle.transition_to_parked(index_, searching_);
  searching_ = false;
  if (last) {
    // We were the last searcher: if some queue still holds stealable work, hand the search
    // to another worker rather than leave the work behind a busy one.
    for (auto& w : shared_.workers) {
      if (w.get() != this && (!w->local_.is_empty() || w->spawn_.public_len() != 0)) {
        shared_.notify_work();
        break;
      }
    }
  }
  // Last look after registering as a sleeper (see Idle's memory-ordering note).
  if (!has_remote_work() && !shared_.stopping.load(std::memory_order_acquire)) {
    if (!wake_armed_) arm_wake_read();
    ring_->wait(next_timeout());
    reap();
  }
  searching_ = shared_.idle.transition_from_parked(index_);
  if (shared_.single && searching_) {
    // Single-thread mode never searches: give back the searcher count notify() gave us, or
    // num_searching_ stays at 1 and every later notify() (from a foreign thread) is dropped.
    shared_.idle.transition_from_searching();
    searching_ = false;
  }
}

std::optional<std::int64_t> Worker::next_timeout() noexcept {
  if (shared_.opts.virtual_time) return std::nullopt;  // only outside wakes can come
  TimerNode* n = timers_.top();
  if (n == nullptr) return std::nullopt;
  return n->deadline - now();
}

// --- maintenance -----------------------------------------------------------------------

bool Worker::maintenance() {
  shared_.registry.drain_deferred(index_);
  bool any = drain_inbox();
  any |= fire_timers();
  if (io_inflight_ != 0) {
    ring_->submit(true);
    any |= reap();
  }
  if (shared_.single && shared_.injected.load(std::memory_order_relaxed) &&
      shared_.injected.exchange(false, std::memory_order_acquire)) {
    // Cleared before the drain: a push that lands after it sets the flag again.
    Runnable* r = nullptr;
    while (shared_.inject.try_dequeue(r)) {
      fifo_.push(r);
      any = true;
    }
  }
  flush_notify();
  return any;
}

bool Worker::fire_timers() {
  if (timers_.empty()) return false;
  const std::int64_t t = now();
  bool any = false;
  while (TimerNode* n = timers_.top()) {
    if (n->deadline > t) break;
    timers_.pop();
    auto* timer = static_cast<Timer*>(n);
    fire_timer(timer);
    any = true;
  }
  return any;
}

bool Worker::reap() {
  bool any = false;
  ring_->drain([&](std::uint64_t user_data, int res, std::uint32_t flags) {
    (void)res;
    (void)flags;
    if (user_data == kWakeTag) {
      wake_armed_ = false;
      return;
    }
    any = true;
  });
  if (!wake_armed_) arm_wake_read();
  return any;
}

bool Worker::drain_inbox() {
  if (!inbox_nonempty_.load(std::memory_order_acquire)) return false;
  std::vector<Runnable*> batch;
  {
    std::lock_guard g(inbox_mu_);
    batch.swap(inbox_);
    inbox_nonempty_.store(false, std::memory_order_relaxed);
  }
  for (Runnable* r : batch) {
    run_runnable(r);
    if (Join::has_deferred()) Join::free_deferred();  // as after a step of loop_multi
  }
  return !batch.empty();
}

void Worker::arm_wake_read() {
  io_uring_sqe* sqe = ring_->get_sqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(sqe, kWakeTag);
  wake_armed_ = true;
}

bool Worker::discard_leftovers() noexcept {
  // Only callbacks can be left once every task is done; they will not run now.
  // Dropping a callback may schedule another (into these queues): the loops pick it up, and
  // the inbox is taken out from under its lock first.
  std::vector<Runnable*> inbox;
  {
    std::lock_guard g(inbox_mu_);
    inbox.swap(inbox_);
  }
  bool any = !inbox.empty();
  for (Runnable* r : inbox) CallbackState::discard(r);
  auto drop = [&any](Runnable* r) {
    any = true;
    CallbackState::discard(r);
  };
  while (Runnable* r = fifo_.pop()) drop(r);
  while (lifo_ != nullptr) drop(std::exchange(lifo_, nullptr));
  while (Runnable* r = local_.pop()) drop(r);
  while (Runnable* r = spawn_.pop()) drop(r);  // as owner: the worker was joined (AsOwner)
  return any;
}

void Worker::free_leftover_timers() noexcept {
  // Only cancelled callback timers can be left (every task is done); firing them frees them.
  timers_.drain([](TimerNode* n) {
    auto* t = static_cast<Timer*>(n);
    t->cancelled.store(true, std::memory_order_relaxed);
    fire_timer(t);
  });
}

}  // namespace corio::detail
