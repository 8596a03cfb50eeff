#pragma once
// Bit-packed dropout masks, and the replay scope that makes dropout gradient-checkable.
//
// A finite-difference check evaluates the loss many times; fresh masks at every evaluation would
// make it compare different functions. Inside a MaskReplay scope the first evaluation records every
// mask drawn; after rewind(), every later evaluation replays them in the same order.

#include <cstdint>
#include <vector>

namespace xgrad {

/// One bit per element (a dropout mask of n elements holds ceil(n/64) words).
class BitMask {
public:
    BitMask() = default;
    explicit BitMask(std::size_t size) : words_((size + 63) / 64, 0), size_(size) {}

    bool test(std::size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1u; }
    /// The ceil(size / 64) words, bit j of word w = element 64·w + j: for word-at-a-time loops and
    /// whole-mask producers (bits past size must stay 0).
    std::uint64_t* words() { return words_.data(); }
    const std::uint64_t* words() const { return words_.data(); }
    std::size_t size() const { return size_; }
    std::size_t count() const;
    /// Bytes held by the mask's storage.
    std::size_t bytes() const { return words_.size() * sizeof(std::uint64_t); }

private:
    std::vector<std::uint64_t> words_;
    std::size_t size_ = 0;
};

/// RAII scope: records the masks of every dropout op run inside it, then (after rewind) replays them.
/// Thread-local; scopes nest (the innermost is active).
class MaskReplay {
public:
    MaskReplay();
    ~MaskReplay();
    MaskReplay(const MaskReplay&) = delete;
    MaskReplay& operator=(const MaskReplay&) = delete;

    /// Switch to (or restart) replay from the first recorded mask.
    void rewind();
    bool replaying() const { return replaying_; }
    std::size_t recorded() const { return masks_.size(); }

    /// The innermost active scope, or nullptr.
    static MaskReplay* active();
    /// Used by dropout: the next recorded mask (GraphError if the sequence or size differs).
    const BitMask& next(std::size_t size);
    void record(const BitMask& mask) { masks_.push_back(mask); }

private:
    std::vector<BitMask> masks_;
    std::size_t cursor_ = 0;
    bool replaying_ = false;
    MaskReplay* previous_;
};

}  // namespace xgrad
