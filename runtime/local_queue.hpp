// corio::detail::LocalQueue -- a worker's bounded run queue of T* (after Tokio's multi_thread
// local queue). The owning worker pushes and pops at two ends of a ring; idle workers steal the
// oldest half into their own queue.
//
// State: a ring buf_ of Capacity slots, tail_ (written only by the owner), and head_, one 64-bit
// word packing two heads so that a single CAS moves both:
//   real  (low 48 bits)  next item to hand out; pop, take_half and steal advance it.
//   lag   (high 16 bits) real - steal, where steal is the oldest slot a thief may still be
//                        reading. Nonzero only while a steal is copying slots out.
// All counters are indices mod 2^48; slot of index i is i % Capacity (Capacity divides 2^48).
//
// Invariants (indices mod 2^48):
//   * steal <= real <= tail and tail - steal <= Capacity.
//   * [real, tail) are the queued items; [steal, real) are being copied by the single thief that
//     set lag != 0. While lag != 0 no other thief may start (it backs off), so one copy at a time.
//   * The owner writes only slot tail % Capacity and only when tail - steal < Capacity, so a slot
//     a thief may be reading is never overwritten. Thieves never write this queue's slots.
//   * A CAS on head_ expecting value h succeeds only if head_ never moved, since reaching h again
//     takes 2^48 head advances between a thread's load and its CAS (no practical ABA).
//
// Who calls what: push, pop, take_half -- the owner thread only. steal_into -- any thread, but
// dst must be a queue owned by the calling thread (it writes dst's slots and tail), dst != this.
// len, is_empty -- any thread; the answer may be stale by the time it is used.
//
// Memory ordering (slots are always accessed relaxed; head_/tail_ carry all ordering):
//   * push: tail_ store release -> thief's tail_ load acquire in steal_into: the slot and the
//     pointee T written before the push are visible to the thief that copies them.
//   * steal_into's final CAS (lag := 0) release -> owner's head_ load acquire in push, and in a
//     later thief's steal_into on dst: the thief's slot reads happen before the slot is reused.
//   * pop / take_half / steal_into CASes on head_ release -> thief's head_ load acquire: a thief
//     that sees head real = r then reads a tail_ >= r, so tail - real never underflows.
//     Later RMWs on head_ extend each release sequence, so reading any later head value is enough.
//   * Owner loads of its own tail_ are relaxed (no other writer); pop's head_ load is relaxed
//     because the owner only reads slots it wrote itself, and the CAS validates the value.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>

namespace corio::detail {

template <class T, std::uint32_t Capacity = 256, template <class> class Atom = std::atomic>
class LocalQueue {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "power of two, >= 2");
  static_assert(Capacity <= (1u << 15), "lag (<= Capacity) must fit its 16 bits");

 public:
  LocalQueue() noexcept = default;
  // Test hook: starts all counters at `start` so tests can cross the 2^48 index wrap quickly.
  explicit LocalQueue(std::uint64_t start) noexcept
      : head_(pack(0, start & kIdxMask)), tail_(start & kIdxMask) {}
  // Thieves hold references to queues; moving one would strand them.
  LocalQueue(const LocalQueue&) = delete;
  LocalQueue& operator=(const LocalQueue&) = delete;

  bool push(T* item) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);  // only we write it
    // acquire: pairs with a thief's final CAS, so its reads of the slot we reuse are finished.
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    if (dist(steal_of(head), tail) >= Capacity) return false;
    buf_[tail & kSlotMask].store(item, std::memory_order_relaxed);
    // release: pairs with the thief's tail_ load acquire; publishes the slot and *item.
    tail_.store((tail + 1) & kIdxMask, std::memory_order_release);
    return true;
  }

  T* pop() noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    // relaxed: slots we return were written by this thread; the CAS validates the value.
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t real = real_of(head);
      if (real == tail) return nullptr;
      // A thief mid-copy keeps steal pinned; advancing only real grows lag by one.
      const std::uint64_t lag = lag_of(head);
      const std::uint64_t next = pack(lag == 0 ? 0 : lag + 1, (real + 1) & kIdxMask);
      // release: pairs with thieves' head_ acquire (they must then see a tail_ >= new real).
      if (head_.compare_exchange_weak(head, next, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return buf_[real & kSlotMask].load(std::memory_order_relaxed);
      }
    }
  }

  std::uint32_t take_half(T** out) noexcept {
    constexpr std::uint32_t kHalf = Capacity / 2;
    // relaxed: we read only slots we wrote; strong CAS below validates the value.
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    // A steal in flight, or one that already freed room: either way push will succeed (soon).
    if (lag_of(head) != 0 || dist(real_of(head), tail) < Capacity) return 0;
    const std::uint64_t real = real_of(head);
    const std::uint64_t next = pack(0, (real + kHalf) & kIdxMask);
    // release: as in pop. Strong, because a spurious failure would make the caller spin.
    if (!head_.compare_exchange_strong(head, next, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      return 0;  // only a thief moves head_ concurrently, and its steal makes room
    }
    // Claimed slots stay intact: only this thread writes slots, and it is busy here.
    for (std::uint32_t i = 0; i < kHalf; ++i) {
      out[i] = buf_[(real + i) & kSlotMask].load(std::memory_order_relaxed);
    }
    return kHalf;
  }

  T* steal_into(LocalQueue& dst) noexcept {
    assert(&dst != this);
    const std::uint64_t dst_tail = dst.tail_.load(std::memory_order_relaxed);  // we own dst
    // acquire: pairs with the final CAS of thieves of dst, so their reads of the dst slots we are
    // about to overwrite are finished.
    const std::uint64_t dst_head = dst.head_.load(std::memory_order_acquire);
    // Require room for a full half so the copy below can never overflow dst.
    if (dist(steal_of(dst_head), dst_tail) > Capacity / 2) return nullptr;

    // Phase 1: claim [real, real + n) by advancing real while leaving steal behind, which pins
    // those slots against the owner's push until phase 3.
    // acquire: pairs with the release CASes on head_ (tail_ read below is then >= real).
    std::uint64_t head = head_.load(std::memory_order_acquire);
    std::uint64_t real;
    std::uint64_t n;
    for (;;) {
      if (lag_of(head) != 0) return nullptr;  // another thief is copying; don't wait for it
      real = real_of(head);
      // acquire: pairs with push's tail_ release, making slots [real, tail) and the Ts visible.
      const std::uint64_t tail = tail_.load(std::memory_order_acquire);
      const std::uint64_t avail = dist(real, tail);
      n = avail - avail / 2;
      if (n == 0) return nullptr;
      // Success: release pairs with later thieves' head_ acquire, as in pop; the acquire half
      // only keeps failure no stronger than success, as pre-C++17 rules and some compilers want.
      // Failure acquire: the reloaded head feeds the next iteration like the initial load.
      if (head_.compare_exchange_weak(head, pack(n, (real + n) & kIdxMask),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
        head = pack(n, (real + n) & kIdxMask);
        break;
      }
    }

    // Phase 2: copy. The newest stolen item is returned rather than queued, so n - 1 go to dst.
    for (std::uint64_t i = 0; i + 1 < n; ++i) {
      T* item = buf_[(real + i) & kSlotMask].load(std::memory_order_relaxed);
      dst.buf_[(dst_tail + i) & kSlotMask].store(item, std::memory_order_relaxed);
    }
    T* const ret = buf_[(real + n - 1) & kSlotMask].load(std::memory_order_relaxed);

    // Phase 3: release the pinned slots (steal := real). The owner may have popped meanwhile,
    // so real is re-read on each try.
    for (;;) {
      assert(lag_of(head) != 0);
      // release: pairs with the owner's head_ acquire in push; our slot reads above come first.
      if (head_.compare_exchange_weak(head, pack(0, real_of(head)), std::memory_order_release,
                                      std::memory_order_relaxed)) {
        break;
      }
    }

    if (n > 1) {
      // release: pairs with tail_ acquire of thieves stealing from dst.
      dst.tail_.store((dst_tail + n - 1) & kIdxMask, std::memory_order_release);
    }
    return ret;
  }

  std::uint32_t len() const noexcept {
    // acquire on head: pairs with the release CASes, so the tail_ read is >= real. acquire on
    // tail: pairs with push, so a caller that sees len() > 0 and then steals finds the items.
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    const std::uint64_t n = dist(real_of(head), tail);
    return static_cast<std::uint32_t>(n > Capacity ? Capacity : n);
  }

  bool is_empty() const noexcept { return len() == 0; }

 private:
  static constexpr unsigned kIdxBits = 48;
  static constexpr std::uint64_t kIdxMask = (std::uint64_t{1} << kIdxBits) - 1;
  static constexpr std::uint64_t kSlotMask = Capacity - 1;

  static constexpr std::uint64_t pack(std::uint64_t lag, std::uint64_t real) noexcept {
    return (lag << kIdxBits) | real;
  }
  static constexpr std::uint64_t real_of(std::uint64_t head) noexcept { return head & kIdxMask; }
  static constexpr std::uint64_t lag_of(std::uint64_t head) noexcept { return head >> kIdxBits; }
  static constexpr std::uint64_t steal_of(std::uint64_t head) noexcept {
    return (real_of(head) - lag_of(head)) & kIdxMask;
  }
  // Items from a to b, both indices mod 2^48 with a <= b.
  static constexpr std::uint64_t dist(std::uint64_t a, std::uint64_t b) noexcept {
    return (b - a) & kIdxMask;
  }

  // head_ is hit by every thief's CAS; keep it off the owner's tail_ and slot lines.
  alignas(64) Atom<std::uint64_t> head_{0};
  alignas(64) Atom<std::uint64_t> tail_{0};
  alignas(64) Atom<T*> buf_[Capacity]{};
};

}  // namespace corio::detail
