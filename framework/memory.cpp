#include "framework/memory.hpp"

#include <new>

#include "framework/array.hpp"
#include "framework/op.hpp"

#ifdef XGRAD_ALLOCATOR_MIMALLOC
#include <mimalloc.h>
#endif

namespace xgrad {

namespace detail {

namespace {
/// Buffers are cache-line aligned: whole-line loads for the vectorised loops, no false sharing.
constexpr std::size_t buffer_alignment = 64;
}  // namespace

#ifdef XGRAD_ALLOCATOR_MIMALLOC

void* node_allocate(std::size_t bytes) {
    // operator new's alignment: mi_malloc gives only 8 to blocks of 8 bytes or less, and 16 to sizes
    // that are multiples of 16 (its size classes), so the size is rounded up.
    constexpr std::size_t align = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    if (void* p = mi_malloc((bytes + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
void node_release(void* pointer, std::size_t) noexcept { mi_free(pointer); }

void* buffer_allocate(std::size_t bytes) {
    if (void* p = mi_malloc_aligned(bytes ? bytes : 1, buffer_alignment)) return p;
    throw std::bad_alloc();
}
void buffer_release(void* pointer, std::size_t) noexcept { mi_free(pointer); }

#else

void* node_allocate(std::size_t bytes) { return ::operator new(bytes); }
void node_release(void* pointer, std::size_t) noexcept { ::operator delete(pointer); }

void* buffer_allocate(std::size_t bytes) { return ::operator new(bytes ? bytes : 1, std::align_val_t{buffer_alignment}); }
void buffer_release(void* pointer, std::size_t) noexcept { ::operator delete(pointer, std::align_val_t{buffer_alignment}); }

#endif

}  // namespace detail

void* Op::operator new(std::size_t bytes) { return detail::node_allocate(bytes); }
void Op::operator delete(void* pointer, std::size_t bytes) noexcept { detail::node_release(pointer, bytes); }
// Over-aligned ops (alignas(64) members, say) take the aligned global forms.
void* Op::operator new(std::size_t bytes, std::align_val_t alignment) { return ::operator new(bytes, alignment); }
void Op::operator delete(void* pointer, std::size_t, std::align_val_t alignment) noexcept {
    ::operator delete(pointer, alignment);
}

}  // namespace xgrad
