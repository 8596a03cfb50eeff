#pragma once
// A pool for the graph's own small objects — nodes (with their shared_ptr control block) and op
// objects. Every recorded op allocates one of each and a graph frees them all together, so with
// malloc a large graph paid more per node the larger it grew (glibc coalescing and re-splitting
// free chunks scattered over the heap: 218 ns per node at 1 000 nodes, 1 683 ns at 1 000 000).
// The pool keeps freed blocks on per-thread, per-size free lists carved from 64 KB slabs, so
// building a graph reuses, in order, the memory the previous one released.
//
// Across threads: a block goes to the list of the thread that frees it. A thread keeps at most 4 096
// free blocks of a size and hands the rest to a shared depot, and an ending thread hands over all
// it holds; threads refill from the depot before carving new memory. Slabs are never returned to
// the system: the pool's footprint is the most graph memory live at once, plus up to 4 096 spare
// blocks of each size per thread. The sanitizer build runs this same pool with its free blocks and
// uncarved slab memory poisoned (framework/sanitize.hpp), so AddressSanitizer reports a use after
// free or an overflow of a node or op; for valgrind, build with -DXGRAD_POOL_DISABLED.

#include <cstddef>

namespace xgrad::detail {

void* pool_allocate(std::size_t bytes);
/// `bytes` must be the size given to pool_allocate for this block.
void pool_release(void* pointer, std::size_t bytes) noexcept;
/// False only when built with -DXGRAD_POOL_DISABLED (for valgrind): then both are plain new and delete.
bool pool_enabled();

/// std::allocator-compatible front end (for std::allocate_shared<Node>).
template <class T>
struct PoolAllocator {
    using value_type = T;
    static_assert(alignof(T) <= 16, "PoolAllocator: the pool's blocks are 16-byte aligned");
    PoolAllocator() = default;
    template <class U>
    PoolAllocator(const PoolAllocator<U>&) {}
    T* allocate(std::size_t n) { return static_cast<T*>(pool_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { pool_release(p, n * sizeof(T)); }
    friend bool operator==(const PoolAllocator&, const PoolAllocator&) { return true; }
};

}  // namespace xgrad::detail
