#include "framework/threads.hpp"

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "framework/errors.hpp"

namespace xgrad {
namespace {
// Looked up at run time: xgrad links whichever BLAS the system provides, and only OpenBLAS has them.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
SetThreads openblas_set_threads() {
    static const auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return set;
}
GetThreads openblas_get_threads() {
    static const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return get;
}
std::atomic<bool> loops_in_parallel{true};

// The thread count set_num_threads configured: 0 until it is first called (num_threads() then asks
// OpenBLAS, whose count comes from OPENBLAS_NUM_THREADS or the cores), or until a parallel_for_with_blas
// job first records OpenBLAS's count before lowering it. Kept here rather than read back from
// OpenBLAS because those jobs lower OpenBLAS's count to 1 for their duration: another thread asking
// meanwhile must get the configured count, not the job's 1.
std::atomic<std::size_t> configured_threads{0};

// The jobs of parallel_for_with_blas that are running (at most one uses the workers; others run
// serially on their callers): OpenBLAS stays at one thread until the last of them ends, and then
// gets the configured count back — also one that set_num_threads configured meanwhile.
std::mutex blas_threads_mutex;
std::size_t blas_jobs_running = 0;

/// One OpenBLAS thread while a parallel_for_with_blas job runs on the workers.
class BlasOnCallingThreads {
public:
    explicit BlasOnCallingThreads(bool on) : set_(on ? openblas_set_threads() : nullptr) {
        if (!set_) return;
        std::lock_guard lock(blas_threads_mutex);
        if (blas_jobs_running++ > 0) return;
        if (configured_threads.load(std::memory_order_relaxed) == 0)
            if (GetThreads get = openblas_get_threads()) configured_threads.store(std::max(get(), 1));
        set_(1);
    }
    ~BlasOnCallingThreads() {
        if (!set_) return;
        std::lock_guard lock(blas_threads_mutex);
        if (--blas_jobs_running == 0) set_(static_cast<int>(configured_threads.load(std::memory_order_relaxed)));
    }
    BlasOnCallingThreads(const BlasOnCallingThreads&) = delete;
    BlasOnCallingThreads& operator=(const BlasOnCallingThreads&) = delete;

private:
    SetThreads set_;
};

/// True on a thread while it runs a parallel_for body: a parallel_for inside it runs serially.
thread_local bool in_parallel_body = false;

/// A spin-wait's pause: lets the core's other hardware thread run, and saves power.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
}

// The workers and one job at a time. A job is `chunks` ranges that the caller and the workers claim
// one by one from `claim` (so a worker that wakes late, or never, leaves its share to the others),
// and `done` counts the finished ones. The claim word holds the job's generation beside the next
// chunk and the chunk count: a thread that claims a chunk has seen, in the same atomic, that the job
// is live, so the job's fields it then reads stay put until that chunk is done.
//
// Sleeping and waking go through a mutex and condition variables. An earlier version slept on
// std::atomic::wait, and the test that changes the thread count 3 000 times hung with every worker
// asleep after the generation had moved on: libstdc++ 12's notify skips the futex wake when it counts
// no waiter, a check that the generation's release store is not ordered against (a lost wake-up).
//
// The pool is never destroyed: its workers sleep when the process exits, and a static destructor
// joining them could hang (a body that calls exit(), a fork's child whose workers do not exist). A
// forked child gets a pool of its own (pool()).
class WorkerPool {
public:
    /// Runs the job on the calling thread and `threads − 1` workers; false when another thread's job
    /// holds the pool, or when the workers cannot be started (the caller then runs the loop alone).
    bool try_run(std::size_t chunks, std::size_t n, detail::ChunkBody run, const void* body, std::size_t threads,
                 bool bodies_call_blas) {
        std::unique_lock lock(busy, std::try_to_lock);
        if (!lock) return false;
        const BlasOnCallingThreads blas(bodies_call_blas);  // restored however the job ends
        if (workers.size() != threads - 1) {
            try {
                resize(threads - 1);
            } catch (const std::system_error&) {
                return false;
            }
        }
        call = run, job_body = body, job_size = n, job_chunks = chunks;
        done.store(0, std::memory_order_relaxed);
        const std::uint32_t job = published + 1;  // only this thread writes `published`: read unlocked
        claim.store(std::uint64_t{job} << 32 | std::uint64_t{chunks} << 16, std::memory_order_release);
        {
            std::lock_guard sleeping(sleep_mutex);
            published = job;
        }
        job_published.notify_all();
        run_chunks_of(job);
        // The caller's core is idle until the last chunk ends: poll for a while (tens of µs) before
        // sleeping, since a chunk is typically that long and a wake-up costs as much again.
        for (int i = 0; i < 4096 && done.load(std::memory_order_acquire) != chunks; ++i) cpu_relax();
        if (done.load(std::memory_order_acquire) != chunks) {
            std::unique_lock sleeping(sleep_mutex);
            all_done.wait(sleeping, [&] { return done.load(std::memory_order_acquire) == chunks; });
        }
        if (error) std::rethrow_exception(std::exchange(error, nullptr));
        return true;
    }

    static constexpr std::size_t max_chunks = 0xffff;

private:
    void resize(std::size_t count) {
        {
            std::lock_guard sleeping(sleep_mutex);
            stopping = true;
        }
        job_published.notify_all();
        for (std::thread& t : workers) t.join();
        workers.clear();
        stopping = false;  // no worker left to read it
        // From the generation before the job about to be published: a worker that starts late still
        // takes part in it. (Only this thread writes `published`, so it may read it unlocked.)
        for (std::size_t i = 0; i < count; ++i) workers.emplace_back([this, seen = published] { work(seen); });
    }

    void work(std::uint32_t seen) {
        std::unique_lock sleeping(sleep_mutex);
        for (;;) {
            job_published.wait(sleeping, [&] { return stopping || published != seen; });
            if (stopping) return;
            seen = published;
            sleeping.unlock();
            run_chunks_of(seen);
            sleeping.lock();
        }
    }

    /// Claims and runs chunks of job `job` until none is left (or another job has begun).
    void run_chunks_of(std::uint32_t job) {
        const bool outer = in_parallel_body;
        in_parallel_body = true;
        std::uint64_t c = claim.load(std::memory_order_acquire);
        for (;;) {
            if (c >> 32 != job || (c & 0xffff) >= ((c >> 16) & 0xffff)) break;
            if (!claim.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
            const std::size_t index = c & 0xffff, chunks = job_chunks;
            try {
                call(job_body, chunk_begin(index, chunks, job_size), chunk_begin(index + 1, chunks, job_size));
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
            }
            if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
                // Under the mutex: the caller is either before its check of `done` or asleep.
                std::lock_guard sleeping(sleep_mutex);
                all_done.notify_all();
            }
            c = claim.load(std::memory_order_acquire);
        }
        in_parallel_body = outer;
    }

    std::mutex busy;  // held by the thread whose job runs
    std::vector<std::thread> workers;
    // The job: written by its caller before `claim` names it, read by the threads that claim its chunks.
    detail::ChunkBody call = nullptr;
    const void* job_body = nullptr;
    std::size_t job_size = 0, job_chunks = 0;
    std::mutex error_mutex;
    std::exception_ptr error;
    std::atomic<std::uint64_t> claim{0};  // generation << 32 | chunk count << 16 | next chunk
    std::atomic<std::uint32_t> done{0};   // chunks of the current job finished
    // Under sleep_mutex: the latest job's generation (workers wait for it to change) and the stop flag.
    // Both are written only by the thread holding `busy`.
    std::mutex sleep_mutex;
    std::condition_variable job_published, all_done;
    std::uint32_t published = 0;
    bool stopping = false;
};

std::atomic<WorkerPool*> the_pool{nullptr};

WorkerPool& pool() {
    static const bool created = [] {
        the_pool.store(new WorkerPool, std::memory_order_release);
        // A forked child has none of the parent's workers, and the parent's pool may be held by a
        // thread that does not exist in the child: the child starts a pool of its own.
        pthread_atfork(nullptr, nullptr, [] { the_pool.store(new WorkerPool, std::memory_order_release); });
        return true;
    }();
    (void)created;
    return *the_pool.load(std::memory_order_acquire);
}
}  // namespace

bool set_num_threads(std::size_t n) {
    if (n == 0 || n > 4096)
        throw ValueError("set_num_threads: n = " + std::to_string(n) + " (need 1 to 4096 threads)");
    std::lock_guard lock(blas_threads_mutex);
    configured_threads.store(n, std::memory_order_relaxed);
    SetThreads set = openblas_set_threads();
    if (!set) return false;
    if (blas_jobs_running == 0) set(static_cast<int>(n));  // else the last job running sets it
    return true;
}

std::size_t num_threads() {
    if (const std::size_t n = configured_threads.load(std::memory_order_relaxed); n != 0) return n;
    GetThreads get = openblas_get_threads();
    if (!get) return 1;
    const int n = get();
    return n > 0 ? static_cast<std::size_t>(n) : 1;
}

namespace detail {
std::size_t blas_library_threads() {
    GetThreads get = openblas_get_threads();
    return get ? static_cast<std::size_t>(std::max(get(), 0)) : 0;
}

bool set_parallel_loops(bool on) { return loops_in_parallel.exchange(on); }

void run_chunks(std::size_t n, std::size_t grain, ChunkBody call, const void* body, bool bodies_call_blas) {
    if (n == 0) return;
    const std::size_t most_chunks = n / std::max<std::size_t>(grain, 1);
    // Too small to split, nested or switched off: no need to ask for the thread count.
    const std::size_t threads =
        most_chunks < 2 || in_parallel_body || !loops_in_parallel.load(std::memory_order_relaxed) ? 1 : num_threads();
    const std::size_t chunks = std::min({most_chunks, 4 * threads, WorkerPool::max_chunks});
    if (threads > 1 && pool().try_run(chunks, n, call, body, threads, bodies_call_blas)) return;
    call(body, 0, n);
}
}  // namespace detail

}  // namespace xgrad
