#pragma once
// Manual AddressSanitizer poisoning for xgrad's own allocators (the node pool and the buffer cache).
// They ship in every build, the sanitizer build included: a block they hold free is poisoned, so a
// use after free or an overflow past the bytes asked for is reported just as it would be with
// malloc. Without AddressSanitizer these are no-ops.

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define XGRAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XGRAD_ASAN 1
#endif
#endif

#ifdef XGRAD_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace xgrad::detail {

inline void poison(const void* pointer, std::size_t bytes) {
#ifdef XGRAD_ASAN
    ASAN_POISON_MEMORY_REGION(pointer, bytes);
#else
    static_cast<void>(pointer), static_cast<void>(bytes);
#endif
}

inline void unpoison(const void* pointer, std::size_t bytes) {
#ifdef XGRAD_ASAN
    ASAN_UNPOISON_MEMORY_REGION(pointer, bytes);
#else
    static_cast<void>(pointer), static_cast<void>(bytes);
#endif
}

}  // namespace xgrad::detail
