#include "framework/mask_replay.hpp"

#include <bit>
#include <string>

#include "framework/errors.hpp"
#include "framework/simd.hpp"

namespace xgrad {

namespace {
thread_local MaskReplay* t_active = nullptr;

XGRAD_POPCNT_CLONES std::size_t count_bits(const std::uint64_t* words, std::size_t n) {
    std::size_t bits = 0;
    for (std::size_t i = 0; i < n; ++i) bits += static_cast<std::size_t>(std::popcount(words[i]));
    return bits;
}
}  // namespace

std::size_t BitMask::count() const { return count_bits(words_.data(), words_.size()); }

MaskReplay::MaskReplay() : previous_(t_active) { t_active = this; }
MaskReplay::~MaskReplay() { t_active = previous_; }

MaskReplay* MaskReplay::active() { return t_active; }

void MaskReplay::rewind() {
    replaying_ = true;
    cursor_ = 0;
}

const BitMask& MaskReplay::next(std::size_t size) {
    if (cursor_ >= masks_.size())
        throw GraphError("MaskReplay: dropout #" + std::to_string(cursor_ + 1) + " has no recorded mask (only " +
                         std::to_string(masks_.size()) +
                         " were recorded): the replayed function must run the same dropouts in the same order");
    const BitMask& mask = masks_[cursor_];
    if (mask.size() != size)
        throw GraphError("MaskReplay: dropout #" + std::to_string(cursor_ + 1) + " needs a mask of " +
                         std::to_string(size) + " elements but the recorded one has " + std::to_string(mask.size()));
    ++cursor_;
    return mask;
}

}  // namespace xgrad
