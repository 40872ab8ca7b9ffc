// fire_timer: dispatch on a timer's kind (see Timer in timer_node.hpp).
#include <corio/task.hpp>

namespace corio::detail {

void fire_callback_timer(Timer* t) noexcept;  // loop.cpp

void fire_timer(Timer* t) noexcept {
  switch (t->kind) {
    case Timer::Kind::kSleep:
      SleepAwaiter::on_fire(t);
      return;
    case Timer::Kind::kMultiWait:
      MultiWait::on_timer(t);
      return;
    case Timer::Kind::kCallback:
      fire_callback_timer(t);
      return;
  }
}

}  // namespace corio::detail
