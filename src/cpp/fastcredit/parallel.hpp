// One fit on several cores (`n_jobs`): a small pool of threads owned by the fit, which the
// engine's hot loops split their work over — large matrix products into panels of rows or
// columns, a locally-connected layer's output positions, the patches of a batch, the
// optimizer's element-wise pass (optimizers.hpp: restrict-pointer ranges, which keep its
// loops vectorised). The split depends on the thread count alone, so a fit's result is
// the same for the same n_jobs.
//
// The pool is found through a thread-local pointer set for the duration of a fit
// (ParallelScope); code running inside a task sees no pool, so nothing nests. A sweep
// runs its fits with n_jobs = 1 (no pool): one core per fit.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace fastcredit {

class ThreadPool {
 public:
  /// `threads` in all, the calling thread included (threads - 1 workers).
  explicit ThreadPool(int threads) : threads_(std::max(1, threads)) {
    for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  /// Runs task(i) for i = 0..n-1, thread t taking i = t, t + threads, ...; returns when all
  /// are done. The first exception thrown by a task is rethrown here.
  void run(int n, const std::function<void(int)>& task) {
    if (n <= 0) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      tasks_ = n;
      pending_ = threads_ - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_share(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_share(int t) {
    try {
      for (int i = t; i < tasks_; i += threads_) (*task_)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void work(int t);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0, pending_ = 0;
  long generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

namespace detail {
inline thread_local ThreadPool* current_pool = nullptr;
}

/// The pool of the fit this thread is running, or null (single-threaded, or inside a task).
inline ThreadPool* current_pool() { return detail::current_pool; }

/// Makes `pool` the current pool of this thread while it lives.
class ParallelScope {
 public:
  explicit ParallelScope(ThreadPool* pool) : previous_(detail::current_pool) {
    detail::current_pool = pool != nullptr && pool->threads() > 1 ? pool : nullptr;
  }
  ~ParallelScope() { detail::current_pool = previous_; }
  ParallelScope(const ParallelScope&) = delete;
  ParallelScope& operator=(const ParallelScope&) = delete;

 private:
  ThreadPool* previous_;
};

inline void ThreadPool::work(int t) {
  long seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    detail::current_pool = nullptr;
    run_share(t);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

/// Runs body(i) for i = 0..n-1 on the current pool (on this thread alone without one).
/// Tasks must write disjoint memory. Inside, the pool is not visible (no nesting).
template <typename Body>
void parallel_for(int n, Body body) {
  ThreadPool* pool = current_pool();
  if (pool == nullptr || n <= 1) {
    for (int i = 0; i < n; ++i) body(i);
    return;
  }
  detail::current_pool = nullptr;
  struct Restore {
    ThreadPool* pool;
    ~Restore() { detail::current_pool = pool; }
  } restore{pool};
  pool->run(n, std::function<void(int)>(body));
}

/// The threads parallel_for would use now (1 without a pool).
inline int parallel_threads() { return current_pool() != nullptr ? current_pool()->threads() : 1; }

/// [begin, end) of part `i` of `parts` equal splits of [0, size), boundaries rounded to
/// multiples of `align` (except the last).
inline std::pair<long, long> split_range(long size, int parts, int i, long align = 1) {
  const auto bound = [&](int k) {
    if (k >= parts) return size;
    const long raw = size * k / parts;
    return std::min(size, (raw / align) * align);
  };
  return {bound(i), bound(i + 1)};
}

/// body(begin, end) over a split of [0, size) into one range per thread (one range, the
/// whole, without a pool). Ranges must write disjoint memory.
template <typename Body>
void parallel_ranges(long size, Body body, long align = 1) {
  const int threads = parallel_threads();
  if (threads == 1 || size <= 1) {
    if (size > 0) body(0L, size);
    return;
  }
  parallel_for(threads, [&](int i) {
    const auto [begin, end] = split_range(size, threads, i, align);
    if (end > begin) body(begin, end);
  });
}

}  // namespace fastcredit
