// Ring: RAII over one io_uring instance. No coroutine code here.
//
// Invariants
//   Only the thread that created the ring touches it (SINGLE_ISSUER | DEFER_TASKRUN when the
//   kernel takes them): the worker creates its ring on its own thread.
#pragma once

#include <liburing.h>
// <linux/fs.h> (via liburing) defines BLOCK_SIZE, which breaks any later header that uses the
// name as an identifier (the inject queue's does).
#undef BLOCK_SIZE

#include <cstdint>
#include <optional>

namespace corio::detail {

class Ring {
 public:
  /// Throws std::system_error when io_uring cannot be set up.
  explicit Ring(unsigned entries = 256);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  /// A free SQE; submits queued ones first when the SQ is full. Throws std::system_error.
  io_uring_sqe* get_sqe();
  /// Submits queued SQEs without waiting; with get_events also lets the kernel post finished
  /// operations' CQEs. No syscall when there is nothing to do.
  void submit(bool get_events);
  /// Submits, then waits for a CQE or until `timeout_ns` (nullopt: no limit) passes.
  /// Interrupted waits return quietly; the caller re-checks its state.
  void wait(std::optional<std::int64_t> timeout_ns);
  /// Calls f(user_data, res, flags) for each ready CQE and marks them seen. Returns the count.
  template <class F>
  unsigned drain(F&& f) {
    unsigned n = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      f(cqe->user_data, cqe->res, cqe->flags);
      ++n;
    }
    if (n != 0) io_uring_cq_advance(&ring_, n);
    return n;
  }
  bool has_pending_sqes() const noexcept { return io_uring_sq_ready(&ring_) != 0; }
  bool defer_taskrun() const noexcept { return defer_taskrun_; }

 private:
  io_uring ring_{};
  bool defer_taskrun_ = false;
};

}  // namespace corio::detail
