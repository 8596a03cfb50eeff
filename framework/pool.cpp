#include "framework/pool.hpp"

#include <array>
#include <mutex>
#include <new>
#include <vector>

#include "framework/op.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define XGRAD_POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XGRAD_POOL_DISABLED 1
#endif
#endif

namespace xgrad::detail {

#ifdef XGRAD_POOL_DISABLED

void* pool_allocate(std::size_t bytes) { return ::operator new(bytes); }
void pool_release(void* pointer, std::size_t bytes) noexcept { ::operator delete(pointer, bytes); }
bool pool_enabled() { return false; }

#else

namespace {

// 16-byte size classes up to 1 KB; anything larger (an op holding big inline state) uses new.
constexpr std::size_t granule = 16, classes = 64, slab_bytes = std::size_t{64} << 10;

struct FreeBlock {
    FreeBlock* next;
};

// Slabs are owned here, process-wide, and never freed: a block may be released by another thread
// than the one that carved it, or after its thread has exited, and must stay valid memory.
std::mutex g_slabs_mutex;
std::vector<void*>* g_slabs = new std::vector<void*>;  // leaked on purpose: outlives every thread

void* new_slab() {
    void* slab = ::operator new(slab_bytes);
    std::lock_guard<std::mutex> lock(g_slabs_mutex);
    try {
        g_slabs->push_back(slab);
    } catch (...) {
        ::operator delete(slab);
        throw;
    }
    return slab;
}

// Plain data only (no destructor), so it is usable during thread exit too: blocks still on a
// thread's lists when it ends stay in their slabs, unused.
struct ThreadPool {
    std::array<FreeBlock*, classes + 1> free{};  // free[k]: blocks of k · 16 bytes
    char* bump = nullptr;                         // the uncarved rest of this thread's newest slab
    std::size_t bump_left = 0;
};
thread_local ThreadPool t_pool;

}  // namespace

void* pool_allocate(std::size_t bytes) {
    const std::size_t k = (bytes + granule - 1) / granule;
    if (bytes == 0 || k > classes) return ::operator new(bytes);
    ThreadPool& pool = t_pool;
    if (FreeBlock* block = pool.free[k]) {
        pool.free[k] = block->next;
        return block;
    }
    const std::size_t size = k * granule;
    if (pool.bump_left < size) {
        pool.bump = static_cast<char*>(new_slab());  // the old slab's tail (< 1 KB) is abandoned
        pool.bump_left = slab_bytes;
    }
    void* p = pool.bump;
    pool.bump += size;
    pool.bump_left -= size;
    return p;
}

void pool_release(void* pointer, std::size_t bytes) noexcept {
    if (!pointer) return;
    const std::size_t k = (bytes + granule - 1) / granule;
    if (bytes == 0 || k > classes) {
        ::operator delete(pointer);
        return;
    }
    ThreadPool& pool = t_pool;
    auto* block = static_cast<FreeBlock*>(pointer);
    block->next = pool.free[k];
    pool.free[k] = block;
}

bool pool_enabled() { return true; }

#endif

}  // namespace xgrad::detail

namespace xgrad {

void* Op::operator new(std::size_t bytes) { return detail::pool_allocate(bytes); }
void Op::operator delete(void* pointer, std::size_t bytes) noexcept { detail::pool_release(pointer, bytes); }

}  // namespace xgrad
