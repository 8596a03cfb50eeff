#pragma once
// Running the study's independent cells on several threads.

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.hpp"

namespace xgrad::examples::dropout_study {

/// Runs task(i) for every i in [0, count) on `jobs` threads (the calling thread is one of them).
/// Tasks write only to their own result slot, so no locking is needed; the first exception stops the
/// remaining tasks and is rethrown here.
template <class Task>
void run_parallel(std::size_t count, std::size_t jobs, const std::string& label, const Task& task) {
    std::atomic<std::size_t> next{0};
    std::size_t done = 0;
    std::mutex mutex;  // guards done, progress and failure
    xgrad::examples::Progress progress(label, count);
    std::exception_ptr failure;
    auto worker = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            try {
                task(i);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!failure) failure = std::current_exception();
                next = count;
                return;
            }
            std::lock_guard lock(mutex);
            progress.update(++done);
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t j = 1; j < std::min(jobs, count); ++j) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace xgrad::examples::dropout_study
