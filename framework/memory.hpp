#pragma once
// Where the graph's memory comes from: nodes (with their shared_ptr control block), op objects and
// array buffers. A training loop builds and frees the same graph every step, so this is hot.
// Release builds use Debian's mimalloc (thread-local free lists, cheap cross-thread frees, freed
// memory kept for reuse rather than returned to the kernel): measured against xgrad's former
// hand-written node pool and buffer cache and against glibc, it was as fast or faster on every
// benchmark (docs/performance.md, "Allocators"), so no allocator code of xgrad's own remains.
// The sanitizer builds use the system allocator (-DXGRAD_ALLOCATOR=system), which AddressSanitizer
// and ThreadSanitizer intercept: every allocation xgrad makes is then theirs to check.

#include <cstddef>

namespace xgrad::detail {

/// Memory for a node or an op (16-byte aligned, like operator new).
void* node_allocate(std::size_t bytes);
void node_release(void* pointer, std::size_t bytes) noexcept;

/// std::allocator-compatible front end (for std::allocate_shared<Node>).
template <class T>
struct NodeAllocator {
    using value_type = T;
    NodeAllocator() = default;
    template <class U>
    NodeAllocator(const NodeAllocator<U>&) {}
    T* allocate(std::size_t n) { return static_cast<T*>(node_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { node_release(p, n * sizeof(T)); }
    friend bool operator==(const NodeAllocator&, const NodeAllocator&) { return true; }
};

}  // namespace xgrad::detail
