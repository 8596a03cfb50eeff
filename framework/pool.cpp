#include "framework/pool.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <new>
#include <tuple>
#include <utility>
#include <vector>

#include "framework/op.hpp"
#include "framework/sanitize.hpp"

#ifdef XGRAD_ALLOCATOR_MIMALLOC
#include <mimalloc.h>
#endif

namespace xgrad::detail {

#if defined(XGRAD_ALLOCATOR_MIMALLOC)

// -DXGRAD_ALLOCATOR=mimalloc: the comparison build of docs/performance.md ("Allocators").
void* pool_allocate(std::size_t bytes) {
    if (void* p = mi_malloc(bytes)) return p;
    throw std::bad_alloc();
}
void pool_release(void* pointer, std::size_t) noexcept { mi_free(pointer); }
bool pool_enabled() { return false; }

#elif defined(XGRAD_POOL_DISABLED) || defined(XGRAD_ALLOCATOR_SYSTEM)

void* pool_allocate(std::size_t bytes) { return ::operator new(bytes); }
void pool_release(void* pointer, std::size_t bytes) noexcept { ::operator delete(pointer, bytes); }
bool pool_enabled() { return false; }

#else

namespace {

// 16-byte size classes up to 1 KB; anything larger (an op holding big inline state) uses new.
constexpr std::size_t granule = 16, classes = 64, slab_bytes = std::size_t{64} << 10;
// A thread keeps at most this many free blocks of a class; beyond, they go to the shared depot, so a
// thread that frees what another builds does not hoard them.
constexpr std::size_t thread_list_limit = 4096;
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= granule, "slabs must be aligned for every block");

struct FreeBlock {
    FreeBlock* next;
};

/// A free block is poisoned whole (framework/sanitize.hpp); its link is opened only while the list
/// reads or writes it.
FreeBlock* next_of(FreeBlock* block) {
    unpoison(block, sizeof(FreeBlock));
    FreeBlock* next = block->next;
    poison(block, sizeof(FreeBlock));
    return next;
}
void link(FreeBlock* block, FreeBlock* next) {
    unpoison(block, sizeof(FreeBlock));
    block->next = next;
    poison(block, sizeof(FreeBlock));
}

/// A LIFO list that can be handed over whole: `tail` is the block pushed first.
struct FreeList {
    FreeBlock* head = nullptr;
    FreeBlock* tail = nullptr;
    std::size_t count = 0;

    void push(void* pointer) {
        auto* block = static_cast<FreeBlock*>(pointer);
        link(block, head);
        if (!head) tail = block;
        head = block;
        ++count;
    }
    void* pop() {
        FreeBlock* block = head;
        head = next_of(block);
        if (!head) tail = nullptr;
        --count;
        return block;
    }
    /// Moves all of `from` in front of this list's blocks.
    void splice(FreeList& from) {
        if (!from.head) return;
        link(from.tail, head);
        if (!head) tail = from.tail;
        head = from.head;
        count += from.count;
        from = FreeList{};
    }
};

/// Where blocks go when their thread cannot keep them: released beyond a thread's limit, or still
/// free when the thread ended. Threads refill from it before carving new memory. Slabs are recorded
/// here too, so leak checkers see them as reachable; nothing is ever returned to the system.
struct Depot {
    std::mutex mutex;
    std::array<FreeList, classes + 1> free;
    std::vector<std::pair<char*, std::size_t>> rests;  // uncarved ends of ended threads' regions
    std::vector<void*> slabs;
    std::atomic<std::size_t> blocks{0};  // read without the lock, to skip it when there is nothing
};

Depot& depot() {
    static Depot* instance = new Depot;  // never destroyed: blocks may be freed during static destruction
    return *instance;
}

/// Fresh memory of at least `size` bytes to carve, with the depot's lock held: an ended thread's
/// rest if one is long enough, or a new slab. (Rests shorter than `size` are abandoned: at most
/// 1 KB each, once per ended thread.)
std::pair<char*, std::size_t> new_region(Depot& d, std::size_t size) {
    while (!d.rests.empty()) {
        const auto region = d.rests.back();
        d.rests.pop_back();
        if (region.second >= size) return region;
    }
    d.slabs.reserve(d.slabs.size() + 1);  // may throw before the slab exists: nothing to undo
    void* slab = ::operator new(slab_bytes);
    poison(slab, slab_bytes);  // uncarved memory is no object's
    d.slabs.push_back(slab);
    return {static_cast<char*>(slab), slab_bytes};
}

// Plain data, trivially destructible: the hot path reaches it without a thread_local
// initialisation check. Handing it over at thread exit is t_returner's job, armed on first use.
struct ThreadPool {
    std::array<FreeList, classes + 1> free;  // free[k]: blocks of k · 16 bytes
    char* bump = nullptr;                     // the uncarved rest of this thread's region
    std::size_t bump_left = 0;
    bool armed = false;  // t_returner will hand this pool over when the thread ends
    bool gone = false;   // it has: from now on this thread goes through the depot

    /// Cuts `size` bytes off this thread's region, replacing the region first if it is too short
    /// (its rest, under 1 KB, is abandoned).
    void* carve(std::size_t size, Depot& d) {
        if (bump_left < size) {
            std::lock_guard<std::mutex> lock(d.mutex);
            std::tie(bump, bump_left) = new_region(d, size);
        }
        void* p = bump;
        bump += size;
        bump_left -= size;
        return p;
    }
};
thread_local ThreadPool t_pool;

struct PoolReturner {
    ~PoolReturner();
};
thread_local PoolReturner t_returner;

/// Makes sure t_returner exists (its destructor is registered on first use): called on the slow
/// paths and on a thread's first release, so every thread that holds blocks hands them on.
void arm(ThreadPool& pool) {
    pool.armed = true;
    static_cast<void>(&t_returner);
}

PoolReturner::~PoolReturner() {
    ThreadPool& pool = t_pool;
    Depot& d = depot();
    std::lock_guard<std::mutex> lock(d.mutex);
    std::size_t moved = 0;
    for (std::size_t k = 1; k <= classes; ++k) {
        moved += pool.free[k].count;
        d.free[k].splice(pool.free[k]);
    }
    d.blocks += moved;
    if (pool.bump_left >= granule) {
        try {
            d.rests.emplace_back(pool.bump, pool.bump_left);
        } catch (...) {  // no memory to remember the rest: it stays unused
        }
    }
    pool.bump_left = 0;
    pool.gone = true;
}

}  // namespace

namespace {
void* take(std::size_t bytes) {
    const std::size_t k = (bytes + granule - 1) / granule;
    ThreadPool& pool = t_pool;
    FreeList& list = pool.free[k];
    if (list.head) return list.pop();  // the common case: no lock, no depot (a gone pool is empty)
    Depot& d = depot();
    if (pool.gone) {
        // This thread is ending: a block from the depot, or plain new (it joins the pool when freed).
        std::lock_guard<std::mutex> lock(d.mutex);
        if (!d.free[k].head) return ::operator new(k * granule);
        --d.blocks;
        return d.free[k].pop();
    }
    if (!pool.armed) arm(pool);
    if (d.blocks.load(std::memory_order_relaxed) > 0) {
        std::lock_guard<std::mutex> lock(d.mutex);
        d.blocks -= d.free[k].count;
        list.splice(d.free[k]);
    }
    if (list.head) return list.pop();
    return pool.carve(k * granule, d);
}

void give_back(void* pointer, std::size_t bytes) noexcept {
    const std::size_t k = (bytes + granule - 1) / granule;
    poison(pointer, k * granule);
    ThreadPool& pool = t_pool;
    if (pool.gone) {
        Depot& d = depot();
        std::lock_guard<std::mutex> lock(d.mutex);
        d.free[k].push(pointer);
        ++d.blocks;
        return;
    }
    FreeList& list = pool.free[k];
    list.push(pointer);
    if (!pool.armed) arm(pool);
    if (list.count <= thread_list_limit) return;
    Depot& d = depot();
    std::lock_guard<std::mutex> lock(d.mutex);
    d.blocks += list.count;
    d.free[k].splice(list);
}
}  // namespace

void* pool_allocate(std::size_t bytes) {
    if (bytes == 0 || bytes > classes * granule) return ::operator new(bytes);
    void* p = take(bytes);
    unpoison(p, bytes);  // exactly the bytes asked for: the block's padding stays poisoned
    return p;
}

void pool_release(void* pointer, std::size_t bytes) noexcept {
    if (!pointer) return;
    if (bytes == 0 || bytes > classes * granule) {
        ::operator delete(pointer);
        return;
    }
    give_back(pointer, bytes);
}

bool pool_enabled() { return true; }

#endif

}  // namespace xgrad::detail

namespace xgrad {

void* Op::operator new(std::size_t bytes) { return detail::pool_allocate(bytes); }
void Op::operator delete(void* pointer, std::size_t bytes) noexcept { detail::pool_release(pointer, bytes); }
// Over-aligned ops (alignas(32) members, say) bypass the pool, whose blocks are 16-byte aligned.
void* Op::operator new(std::size_t bytes, std::align_val_t alignment) { return ::operator new(bytes, alignment); }
void Op::operator delete(void* pointer, std::size_t bytes, std::align_val_t alignment) noexcept {
    ::operator delete(pointer, bytes, alignment);
}

}  // namespace xgrad
