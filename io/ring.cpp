#include "io/ring.hpp"

#include <cerrno>
#include <system_error>

namespace corio::detail {

Ring::Ring(unsigned entries) {
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
  int rc = io_uring_queue_init_params(entries, &ring_, &p);
  if (rc == -EINVAL) {
    // Older kernel: fall back to a plain ring; the owner-only rule is kept by the worker.
    p = io_uring_params{};
    rc = io_uring_queue_init_params(entries, &ring_, &p);
  } else if (rc == 0) {
    defer_taskrun_ = true;
  }
  if (rc < 0) throw std::system_error(-rc, std::system_category(), "corio: io_uring_queue_init");
}

Ring::~Ring() {
  io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  int rc = io_uring_submit(&ring_);
  if (rc < 0) throw std::system_error(-rc, std::system_category(), "corio: io_uring_submit");
  sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) throw std::system_error(EBUSY, std::system_category(), "corio: SQ full");
  return sqe;
}

void Ring::submit(bool get_events) {
  // With DEFER_TASKRUN completions are only posted when we enter the kernel, so a caller
  // with operations in flight asks for get_events even when nothing is queued.
  if (io_uring_sq_ready(&ring_) == 0 && !(get_events && defer_taskrun_)) return;
  int rc = io_uring_submit_and_get_events(&ring_);
  if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    throw std::system_error(-rc, std::system_category(), "corio: io_uring_submit");
  }
}

void Ring::wait(std::optional<std::int64_t> timeout_ns) {
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (timeout_ns) {
    std::int64_t ns = *timeout_ns < 0 ? 0 : *timeout_ns;
    __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    rc = io_uring_submit_and_wait(&ring_, 1);
  }
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
    throw std::system_error(-rc, std::system_category(), "corio: io_uring wait");
  }
}

}  // namespace corio::detail
