#include "framework/mask_replay.hpp"

#include <bit>
#include <string>

#include "framework/errors.hpp"

namespace xgrad {

namespace {
thread_local MaskReplay* t_active = nullptr;
}

std::size_t BitMask::count() const {
    std::size_t n = 0;
    for (std::uint64_t w : words_) n += static_cast<std::size_t>(std::popcount(w));
    return n;
}

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
