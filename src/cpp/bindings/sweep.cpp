// `_core.sweep`: many independent fits on a pool of std::threads, one fit per thread at a
// time, with the GIL released while they train. Python supplies the fits one by one
// (`next_job`, called by a free worker with the GIL held) and takes each outcome back
// (`done`), so only as many fits are in memory as there are threads, and the training data
// every job maps is shared read-only, never copied. The calling thread watches for Ctrl-C.
#include "sweep.hpp"

#include <pybind11/pybind11.h>

#include <Eigen/Core>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "fit_job.hpp"

namespace fastcredit::bindings {

namespace {

/// A C++ exception as the Python exception instance pybind11 would raise for it (GIL held).
py::object python_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (py::error_already_set& e) {
    return e.value();
  } catch (py::builtin_exception& e) {
    e.set_error();
  } catch (const InvalidArgument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception in a fit");
  }
  return py::error_already_set().value();
}

struct Pool {
  py::function next_job, done;
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable finished;
  int running = 0;
  std::optional<py::error_already_set> fatal;  // raised by next_job/done: ends the sweep

  /// One thread: take a job, train it without the GIL, hand its outcome back; repeat.
  void work() {
#ifdef _OPENMP
    omp_set_num_threads(1);  // one core per fit: no nested Eigen/OpenMP threads
#endif
    {
      py::gil_scoped_acquire gil;
      Hooks hooks;
      hooks.interrupted = [this] { return stop.load(std::memory_order_relaxed); };
      try {
        while (!stop.load()) {
          py::object item = next_job();
          if (item.is_none()) break;
          auto parts = item.cast<py::tuple>();
          if (parts.size() != 3) throw py::value_error("next_job must return (key, job, evaluation)");
          std::unique_ptr<FitJob> job;
          std::exception_ptr error;
          double seconds = 0.0;
          try {
            job = make_fit_job(parts[1].cast<py::dict>(), parts[2].cast<py::sequence>());
            py::gil_scoped_release nogil;
            const auto start = std::chrono::steady_clock::now();
            try {
              job->run(hooks);
            } catch (...) {
              error = std::current_exception();
            }
            seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          } catch (...) {
            error = std::current_exception();
          }
          py::dict outcome;
          if (error) {
            outcome["reason"] = "error";
            outcome["error"] = python_exception(error);
          } else {
            outcome = job->outcome();
            outcome["error"] = py::none();
          }
          outcome["fit_time"] = seconds;
          job.reset();  // drops its references to the arrays, with the GIL held
          done(parts[0], outcome);
        }
      } catch (py::error_already_set& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!fatal) fatal.emplace(std::move(e));
        stop = true;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!fatal) {
          const py::object exception = python_exception(std::current_exception());
          PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.ptr())), exception.ptr());
          fatal.emplace();
        }
        stop = true;
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    --running;
    finished.notify_all();
  }
};

void sweep(py::function next_job, py::function done, int n_jobs, py::object should_stop) {
  if (n_jobs < 1) throw py::value_error("n_jobs must be >= 1");
  Pool pool;
  pool.next_job = std::move(next_job);
  pool.done = std::move(done);
  std::optional<py::error_already_set> interrupt;
  std::vector<std::thread> threads;
  {
    py::gil_scoped_release release;
    std::unique_lock<std::mutex> lock(pool.mutex);
    for (int i = 0; i < n_jobs; ++i) {
      try {
        threads.emplace_back(&Pool::work, &pool);
        ++pool.running;
      } catch (const std::system_error&) {
        if (threads.empty()) throw;
        break;  // fewer threads than asked for still finish the sweep
      }
    }
    // Python runs signal handlers only in the main thread: poll them here, at most every
    // 50 ms, and stop every fit (within a batch) when one raises, e.g. on Ctrl-C. Off the
    // main thread (a Dask worker's task) should_stop() is the caller's Ctrl-C.
    while (pool.running > 0) {
      if (pool.finished.wait_for(lock, std::chrono::milliseconds(50), [&] { return pool.running == 0; })) break;
      lock.unlock();
      {
        py::gil_scoped_acquire gil;
        if (!interrupt && PyErr_CheckSignals() != 0) {
          interrupt.emplace();
          pool.stop = true;
        } else if (!should_stop.is_none() && !pool.stop) {
          try {
            if (py::bool_(should_stop())) pool.stop = true;  // fits end as interrupted, handed to done
          } catch (py::error_already_set& e) {
            interrupt.emplace(std::move(e));
            pool.stop = true;
          }
        }
      }
      lock.lock();
    }
    lock.unlock();
    for (auto& t : threads) t.join();
  }
  if (interrupt) throw std::move(*interrupt);
  if (pool.fatal) throw std::move(*pool.fatal);
}

}  // namespace

void bind_sweep(py::module_& m) {
  Eigen::initParallel();
  m.def("sweep", &sweep, py::arg("next_job"), py::arg("done"), py::arg("n_jobs"), py::arg("should_stop") = py::none(),
        "Run fits on n_jobs threads with the GIL released. next_job() returns (key, job, "
        "evaluation) or None when there is no more work; job is _core.train's fit description "
        "dict, evaluation (X, Y) pairs scored after training. done(key, outcome) "
        "receives what _core.train returns plus 'scores' and 'fit_time' (seconds); a fit that "
        "fails has reason 'error' and the exception in 'error'. Ctrl-C stops every fit and is "
        "re-raised; an exception in next_job or done stops the sweep and is re-raised. "
        "should_stop(), if given, is polled every 50 ms: true stops every fit within a batch "
        "(reason 'interrupted') and hands out no more jobs.");
}

}  // namespace fastcredit::bindings
