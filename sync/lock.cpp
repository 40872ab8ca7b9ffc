// Lock and Semaphore: thin shells over PermitCore (sync/permits.cpp), plus their errors.
#include <stdexcept>
#include <string>

#include <corio/sync.hpp>

namespace corio {

void Lock::throw_not_acquired() {
  throw std::runtime_error("corio: Lock::release(): the lock is not acquired");
}

Semaphore::Semaphore(std::int64_t value, std::uint64_t bound)
    : core_(value < 0 ? 0 : static_cast<std::uint64_t>(value)), bound_(bound) {
  if (value < 0) {
    throw std::invalid_argument("corio: Semaphore initial value must be >= 0, not " +
                                std::to_string(value));
  }
  if (static_cast<std::uint64_t>(value) > (std::uint64_t{1} << 60)) {
    throw std::invalid_argument("corio: Semaphore initial value too large");
  }
}

void Semaphore::throw_over_released() {
  throw std::invalid_argument("corio: BoundedSemaphore released too many times");
}

}  // namespace corio
