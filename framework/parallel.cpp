#include "framework/parallel.hpp"

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "framework/errors.hpp"

namespace xgrad {
namespace {

// OpenBLAS's thread controls, looked up at run time: xgrad links whichever BLAS the system
// provides, and only OpenBLAS has them.
using SetThreads = void (*)(int);
using GetThreads = int (*)();

std::size_t default_threads() {
    if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
        if (const int n = get(); n > 0) return static_cast<std::size_t>(n);
    const unsigned cores = std::thread::hardware_concurrency();
    return cores ? cores : 1;
}

// A fork-join pool with chunk claiming. A job is cut into a few chunks per thread; the caller and
// the workers claim chunks until none is left, and the caller then waits only for chunks a worker
// has claimed and is running. A worker that the OS schedules late (OpenBLAS's own threads spin
// between gemms and hold the other cores) therefore never delays a job: the caller takes its
// share, and the loop is at worst as fast as on one thread. Workers sleep between jobs
// rather than spin, so they never take a core from the BLAS calls in between.
class Pool {
public:
    ~Pool() { resize(0); }

    std::size_t threads() const { return workers_.size() + 1; }

    /// In a child process after fork(): the workers did not come along. Forget them (they cannot be
    /// joined) and run inline from now on.
    void abandon_after_fork() {
        new std::vector<std::thread>(std::move(workers_));  // leaked on purpose: never joined or destroyed
        workers_.clear();
    }

    void resize(std::size_t workers) {
        {
            std::lock_guard lock(busy_);
            stop_.store(true);
            post();
        }
        for (std::thread& t : workers_) t.join();
        workers_.clear();
        stop_.store(false);
        wake_ = 0;
        for (std::size_t w = 0; w < workers; ++w) workers_.emplace_back([this] { work(); });
    }

    bool run(std::size_t n, std::size_t grain, std::size_t align, void (*body)(void*, std::size_t, std::size_t),
             void* context) {
        if (in_worker_ || workers_.empty()) return false;
        std::unique_lock lock(busy_, std::try_to_lock);
        if (!lock.owns_lock()) return false;
        // Up to four chunks per thread, none shorter than the grain, each a multiple of `align`.
        const std::size_t wanted = std::min(4 * threads(), n / grain);
        if (wanted < 2) return false;
        std::size_t chunk = (n + wanted - 1) / wanted;
        chunk = (chunk + align - 1) / align * align;
        body_ = body, context_ = context, n_ = n, chunk_ = chunk;
        chunks_ = static_cast<std::uint32_t>((n + chunk - 1) / chunk);
        done_.store(0, std::memory_order_relaxed);
        const std::uint64_t id = ++job_id_;
        claim_.store(id << 32, std::memory_order_release);  // publishes the fields above
        post();
        run_chunks(id);
        while (done_.load(std::memory_order_acquire) != chunks_) spin_pause();
        return true;
    }

private:
    static void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    /// Claims and runs chunks of job `id` until none is left (a claim fails once the job changes).
    void run_chunks(std::uint64_t id) {
        std::uint64_t c = claim_.load(std::memory_order_acquire);
        while ((c >> 32) == id && (c & 0xffffffffu) < chunks_) {
            if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
            const std::size_t begin = (c & 0xffffffffu) * chunk_;
            body_(context_, begin, std::min(begin + chunk_, n_));
            done_.fetch_add(1, std::memory_order_release);
            c = claim_.load(std::memory_order_acquire);
        }
    }

    /// Wakes the workers for a new job (or to stop). A condition variable rather than
    /// std::atomic::wait, whose libstdc++ 12 implementation can miss a wake-up (GCC PR 106183).
    void post() {
        {
            std::lock_guard lock(sleep_);
            ++wake_;
        }
        wake_cv_.notify_all();
    }

    void work() {
        in_worker_ = true;
        std::uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock lock(sleep_);
                wake_cv_.wait(lock, [&] { return wake_ != seen; });
                seen = wake_;
            }
            if (stop_.load()) return;
            run_chunks(claim_.load(std::memory_order_acquire) >> 32);
        }
    }

    std::vector<std::thread> workers_;
    std::mutex busy_;  // one job at a time; a second caller runs its loop inline
    std::mutex sleep_;
    std::condition_variable wake_cv_;
    std::uint64_t wake_ = 0;  // bumped (under sleep_) for every job
    std::atomic<std::uint64_t> claim_{0};  // job id << 32 | next chunk
    std::atomic<std::uint32_t> done_{0};
    std::atomic<bool> stop_{false};
    std::uint64_t job_id_ = 0;
    void (*body_)(void*, std::size_t, std::size_t) = nullptr;
    void* context_ = nullptr;
    std::size_t n_ = 0, chunk_ = 0;
    std::atomic<std::uint32_t> chunks_{0};  // read by a worker before its claim can fail
    static thread_local bool in_worker_;
};

thread_local bool Pool::in_worker_ = false;

Pool& pool() {
    static Pool p;
    return p;
}

std::once_flag started;
std::size_t requested = 0;

void start_default() {
    std::call_once(started, [] {
        if (requested == 0) requested = default_threads();
        pool().resize(requested - 1);
        pthread_atfork(nullptr, nullptr, [] { pool().abandon_after_fork(); });
    });
}

}  // namespace

void set_num_threads(std::size_t n) {
    if (n == 0) throw ValueError("set_num_threads: n = 0; at least one thread is needed");
    std::call_once(started, [n] {  // first call: no default pool started
        requested = n;
        pthread_atfork(nullptr, nullptr, [] { pool().abandon_after_fork(); });
    });
    if (pool().threads() != n) pool().resize(n - 1);
    requested = n;
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(static_cast<int>(n));
}

std::size_t num_threads() {
    start_default();
    return pool().threads();
}

namespace detail {

void parallel_for_impl(std::size_t n, std::size_t grain, std::size_t align, void (*body)(void*, std::size_t, std::size_t),
                       void* context) {
    start_default();
    if (!pool().run(n, grain, align ? align : 1, body, context)) body(context, 0, n);
}

}  // namespace detail
}  // namespace xgrad
