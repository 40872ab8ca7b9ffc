// Lifetime: items in queues are destroyed exactly once on every path (got, discarded by an
// immediate shutdown, left in a destroyed queue, held by a cancelled putter); the frames of
// cancelled waiters are freed; a primitive may be destroyed by the task it just woke while
// the waker is still returning from release()/set()/put (ASan checks that nothing touches it);
// and a million awaits that complete at once use no stack.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include <corio/runtime.hpp>
#include <corio/sync.hpp>
#include <corio/task.hpp>
#include "support/corio_test.hpp"
#include "support/counted.hpp"

namespace corio {
namespace {

using namespace std::chrono_literals;
using test::Counted;
using test::run_test;
using test::stress_iters;

class SyncLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override { Counted::reset_counts(); }
};

TEST_F(SyncLifetimeTest, QueuedItemsAreDestroyedExactlyOnce) {
  run_test([]() -> Coro<void> {
    {
      Queue<Counted> q;
      for (int i = 0; i < 10; ++i) co_await q.put(Counted());
      for (int i = 0; i < 4; ++i) {
        Counted c = co_await q.get();
        EXPECT_GE(c.id, 0);
      }
      EXPECT_EQ(Counted::active_count(), 6);
    }  // the queue is destroyed with six items inside
    EXPECT_EQ(Counted::active_count(), 0);
    {
      LifoQueue<Counted> lq;
      PriorityQueue<std::shared_ptr<Counted>> pq;
      for (int i = 0; i < 5; ++i) {
        lq.put_nowait(Counted());
        pq.put_nowait(std::make_shared<Counted>());
      }
      (void)lq.get_nowait();
      (void)pq.get_nowait();
    }
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(SyncLifetimeTest, ImmediateShutdownDestroysDiscardedItems) {
  run_test([]() -> Coro<void> {
    Queue<Counted> q;
    for (int i = 0; i < 10; ++i) q.put_nowait(Counted());
    EXPECT_EQ(Counted::active_count(), 10);
    q.shutdown(true);
    EXPECT_EQ(Counted::active_count(), 0);
    co_return;
  });
}

TEST_F(SyncLifetimeTest, CancelledPutterDestroysItsItemAndFrame) {
  run_test([]() -> Coro<void> {
    Queue<Counted> q(1);
    q.put_nowait(Counted());
    auto putter = [&](Counted in_frame) -> Coro<void> {
      (void)in_frame;
      co_await q.put(Counted());
    };
    {
      Task<void> p = create_task(putter(Counted()));
      co_await sleep(0s);
      EXPECT_GE(Counted::active_count(), 3);  // queued item, frame parameter, awaited item...
      p.cancel();
      EXPECT_THROW(co_await p, CancelledError);
    }  // the last handle: the frame goes
    EXPECT_EQ(Counted::active_count(), 1);
    (void)q.get_nowait();
    EXPECT_EQ(Counted::active_count(), 0);
  });
}

TEST_F(SyncLifetimeTest, FramesOfCancelledWaitersAreFreed) {
  run_test([]() -> Coro<void> {
    Lock lock;
    Event ev;
    Condition cond;
    Semaphore sem(0);
    Barrier bar(3);
    Queue<int> q;
    co_await lock.acquire();
    auto on_lock = [&](Counted) -> Coro<void> { co_await lock.acquire(); };
    auto on_event = [&](Counted) -> Coro<void> { co_await ev.wait(); };
    auto on_cond = [&](Counted) -> Coro<void> {
      auto g = co_await cond.scoped();
      co_await cond.wait();
    };
    auto on_sem = [&](Counted) -> Coro<void> { co_await sem.acquire(); };
    auto on_bar = [&](Counted) -> Coro<void> { co_await bar.wait(); };
    auto on_get = [&](Counted) -> Coro<void> { (void)co_await q.get(); };
    auto on_join = [&](Counted) -> Coro<void> { co_await q.join(); };
    q.put_nowait(1);
    (void)q.get_nowait();  // one unfinished item: join() waits
    {
      std::vector<Task<void>> ts;
      ts.push_back(create_task(on_lock(Counted())));
      ts.push_back(create_task(on_event(Counted())));
      ts.push_back(create_task(on_cond(Counted())));
      ts.push_back(create_task(on_sem(Counted())));
      ts.push_back(create_task(on_bar(Counted())));
      ts.push_back(create_task(on_get(Counted())));
      ts.push_back(create_task(on_join(Counted())));
      co_await sleep(0s);
      EXPECT_EQ(Counted::active_count(), 7);
      for (auto& t : ts) t.cancel();
      for (auto& t : ts) EXPECT_THROW(co_await t, CancelledError);
    }
    EXPECT_EQ(Counted::active_count(), 0);
    // Nothing is left queued: the primitives work as if nobody had waited.
    lock.release();
    EXPECT_FALSE(lock.locked());
    sem.release();
    EXPECT_EQ(sem.value(), 1u);
    EXPECT_EQ(bar.n_waiting(), 0u);
    EXPECT_FALSE(cond.locked());
    q.task_done();
    co_await q.join();
  });
}

TEST_F(SyncLifetimeTest, WokenTaskMayDestroyThePrimitiveAtOnce) {
  // The woken task runs on another worker and frees the primitive while the waker may still
  // be inside release() / set() / put_nowait(): under ASan, any touch after the wake shows.
  const int rounds = static_cast<int>(stress_iters(2000));
  run_test(
      [&]() -> Coro<void> {
        for (int r = 0; r < rounds; ++r) {
          auto lock = std::make_unique<Lock>();
          auto ev = std::make_unique<Event>();
          auto q = std::make_unique<Queue<int>>();
          auto sem = std::make_unique<Semaphore>(0);
          Lock* lp = lock.get();
          Event* ep = ev.get();
          Queue<int>* qp = q.get();
          Semaphore* sp = sem.get();
          std::atomic<int> gone{0};  // how many the owner has destroyed
          co_await lp->acquire();
          auto owner = [&]() -> Coro<void> {
            co_await lp->acquire();
            lp->release();
            lock.reset();
            gone = 1;
            co_await ep->wait();
            ev.reset();
            gone = 2;
            (void)co_await qp->get();
            q.reset();
            gone = 3;
            co_await sp->acquire();
            sem.reset();
          };
          Task<void> t = create_task(owner());
          co_await sleep(0s);
          lp->release();  // Lifetime: the owner may free *lp before this returns
          while (gone.load() < 1) co_await sleep(0s);
          ep->set();
          while (gone.load() < 2) co_await sleep(0s);
          qp->put_nowait(1);
          while (gone.load() < 3) co_await sleep(0s);
          sp->release();
          co_await t;
          EXPECT_FALSE(sem);
        }
      },
      test::multi_thread(0), 120s);
}

TEST(SyncDepthTest, AMillionReadyAwaitsUseNoStack) {
  run_test([]() -> Coro<void> {
    Lock lock;
    Event ev;
    ev.set();
    Semaphore sem(1);
    Queue<int> q;
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) {
      co_await lock.acquire();
      lock.release();
      co_await ev.wait();
      co_await sem.acquire();
      sem.release();
      co_await q.put(i);
      sum += co_await q.get();
    }
    EXPECT_EQ(sum, 499999500000L);
  });
}

TEST(SyncDepthTest, AMillionReadyAwaitsInMultiThreadModeYieldButFinish) {
  // With several workers the budget makes a task yield now and then; it keeps what it got.
  run_test(
      []() -> Coro<void> {
        Lock lock;
        Queue<int> q;
        long sum = 0;
        for (int i = 0; i < 1'000'000; ++i) {
          co_await lock.acquire();
          lock.release();
          co_await q.put(i);
          sum += co_await q.get();
        }
        EXPECT_EQ(sum, 499999500000L);
        EXPECT_FALSE(lock.locked());
      },
      test::multi_thread(2));
}

}  // namespace
}  // namespace corio
