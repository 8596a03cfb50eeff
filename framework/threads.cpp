#include "framework/threads.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
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
std::atomic<std::size_t> threads_without_openblas{1};
std::atomic<bool> loops_in_parallel{true};

/// True on a thread while it runs a parallel_for body: a parallel_for inside it runs serially.
thread_local bool in_parallel_body = false;

/// Chunk `index` of `chunks` near-equal ranges over [0, n).
std::size_t chunk_begin(std::size_t index, std::size_t chunks, std::size_t n) {
    return index * (n / chunks) + std::min(index, n % chunks);
}

// The workers and one job at a time. A job is `chunks` ranges that the caller and the workers claim
// one by one from `claim` (so a worker that wakes late, or never, leaves its share to the others),
// and `done` counts the finished ones. The claim word holds the job's generation beside the next
// chunk and the chunk count: a thread that claims a chunk has seen, in the same atomic, that the job
// is live, so the job's fields it then reads stay put until that chunk is done.
class WorkerPool {
public:
    ~WorkerPool() {
        std::lock_guard lock(busy);
        resize(0);
    }

    /// Runs the job on the calling thread and `threads − 1` workers; false when another thread's job
    /// holds the pool.
    bool try_run(std::size_t chunks, std::size_t n, detail::ChunkBody run, const void* body, std::size_t threads) {
        std::unique_lock lock(busy, std::try_to_lock);
        if (!lock) return false;
        if (workers.size() != threads - 1) resize(threads - 1);
        call = run, job_body = body, job_size = n, job_chunks = chunks;
        error = nullptr;
        done.store(0, std::memory_order_relaxed);
        const std::uint32_t job = ++generation;
        claim.store(std::uint64_t{job} << 32 | std::uint64_t{chunks} << 16, std::memory_order_release);
        wake.store(job, std::memory_order_release);
        wake.notify_all();
        run_chunks_of(job);
        for (std::uint32_t finished; (finished = done.load(std::memory_order_acquire)) != chunks;)
            done.wait(finished, std::memory_order_acquire);
        if (error) std::rethrow_exception(error);
        return true;
    }

    static constexpr std::size_t max_chunks = 0xffff;

private:
    void resize(std::size_t count) {
        stopping.store(true, std::memory_order_release);
        wake.fetch_add(1, std::memory_order_release);
        wake.notify_all();
        for (std::thread& t : workers) t.join();
        workers.clear();
        stopping.store(false, std::memory_order_release);
        generation = wake.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < count; ++i) workers.emplace_back([this] { work(); });
    }

    void work() {
        std::uint32_t seen = wake.load(std::memory_order_acquire);
        for (;;) {
            wake.wait(seen, std::memory_order_acquire);
            if (stopping.load(std::memory_order_acquire)) return;
            seen = wake.load(std::memory_order_acquire);
            run_chunks_of(seen);
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
            if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) done.notify_all();
            c = claim.load(std::memory_order_acquire);
        }
        in_parallel_body = outer;
    }

    std::mutex busy;  // held by the thread whose job runs
    std::vector<std::thread> workers;
    std::uint32_t generation = 0;
    // The job: written by its caller before `claim` names it, read by the threads that claim its chunks.
    detail::ChunkBody call = nullptr;
    const void* job_body = nullptr;
    std::size_t job_size = 0, job_chunks = 0;
    std::mutex error_mutex;
    std::exception_ptr error;
    std::atomic<std::uint64_t> claim{0};  // generation << 32 | chunk count << 16 | next chunk
    std::atomic<std::uint32_t> wake{0};   // the latest generation; idle workers sleep on it
    std::atomic<std::uint32_t> done{0};   // chunks of the current job finished
    std::atomic<bool> stopping{false};
};

WorkerPool& pool() {
    static WorkerPool instance;
    return instance;
}
}  // namespace

bool set_num_threads(std::size_t n) {
    if (n == 0 || n > 4096)
        throw ValueError("set_num_threads: n = " + std::to_string(n) + " (need 1 to 4096 threads)");
    threads_without_openblas.store(n, std::memory_order_relaxed);
    SetThreads set = openblas_set_threads();
    if (!set) return false;
    set(static_cast<int>(n));
    return true;
}

std::size_t num_threads() {
    GetThreads get = openblas_get_threads();
    if (!get) return threads_without_openblas.load(std::memory_order_relaxed);
    const int n = get();
    return n > 0 ? static_cast<std::size_t>(n) : 1;
}

namespace detail {
bool set_parallel_loops(bool on) { return loops_in_parallel.exchange(on); }

void run_chunks(std::size_t n, std::size_t grain, ChunkBody call, const void* body) {
    if (n == 0) return;
    const std::size_t threads =
        in_parallel_body || !loops_in_parallel.load(std::memory_order_relaxed) ? 1 : num_threads();
    const std::size_t chunks = std::min({n / std::max<std::size_t>(grain, 1), 4 * threads, WorkerPool::max_chunks});
    if (threads > 1 && chunks > 1 && pool().try_run(chunks, n, call, body, threads)) return;
    call(body, 0, n);
}
}  // namespace detail

}  // namespace xgrad
