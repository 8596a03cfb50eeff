#pragma once
// Sequence layers with PyTorch's weights and layouts, so a PyTorch state_dict maps one to one:
// Embedding; the cells RNNCell, LSTMCell, GRUCell (weight_ih (G·H, in), weight_hh (G·H, H), bias_ih,
// bias_hh; gate order i, f, g, o for the LSTM and r, z, n for the GRU); and RNN, LSTM, GRU over a
// sequence (time first (T, N, in), or batch first (N, T, in)), stacked num_layers deep. Each step is
// recorded as ordinary ops (linear, split, sigmoid, tanh, …), so backward runs through time with no
// code of its own, and recurrent dropout is ordinary dropout applied with one mask per sequence.

#include <optional>

#include "models/module.hpp"

namespace xgrad {

/// Rows of a (num_embeddings, dim) table picked by int64 indices of any shape: (…) → (…, dim). The
/// gradient adds into the rows used (scatter-add), as PyTorch's dense embedding gradient.
class Embedding : public Module {
public:
    Embedding(std::size_t num_embeddings, std::size_t dim, DType dtype = DType::f64, Generator* generator = nullptr);
    Tensor forward(const Tensor& indices) override;
    Tensor weight;  ///< (num_embeddings, dim), drawn N(0, 1) as PyTorch's
};

/// Options shared by the cells and the sequence layers.
struct RecurrentOptions {
    bool bias = true;
    DType dtype = DType::f64;
    Generator* generator = nullptr;  ///< nullptr: the global generator
    /// RNN(Cell) only: "tanh" or "relu".
    std::string nonlinearity = "tanh";
};

/// The state an LSTM carries: hidden h and cell c, each (N, H) for a cell ((L, N, H) for a layer).
struct LSTMState {
    Tensor h, c;
};

/// The weights of one recurrent step: W_ih (G·H, in), W_hh (G·H, H), b_ih, b_hh (G·H), uniform in
/// ±1/√H as PyTorch initialises them.
class RecurrentCell : public Module {
public:
    std::size_t input_size() const { return input_size_; }
    std::size_t hidden_size() const { return hidden_size_; }
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;

protected:
    RecurrentCell(std::size_t input_size, std::size_t hidden_size, std::size_t gates, const RecurrentOptions& options,
                  const std::string& suffix);
    /// x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh, each (N, G·H).
    Tensor input_part(const Tensor& x) const;
    Tensor hidden_part(const Tensor& h) const;
    /// x (N, in) and h (N, H) checked; a missing h is zeros.
    Tensor checked_state(const char* who, const Tensor& x, const Tensor& h) const;

    std::size_t input_size_, hidden_size_;
};

/// h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu).
class RNNCell : public RecurrentCell {
public:
    RNNCell(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options = {},
            const std::string& suffix = "");
    Tensor forward(const Tensor& x) override { return step(x, Tensor()); }
    Tensor step(const Tensor& x, const Tensor& h);

private:
    bool relu_;
};

/// i, f, g, o = σ, σ, tanh, σ of the four gate blocks; c' = f⊙c + i⊙g; h' = o⊙tanh(c').
class LSTMCell : public RecurrentCell {
public:
    LSTMCell(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options = {},
             const std::string& suffix = "");
    Tensor forward(const Tensor& x) override { return step(x, {}).h; }
    LSTMState step(const Tensor& x, const LSTMState& state);
};

/// r, z = σ(input part + hidden part) of their blocks; n = tanh(x-part_n + r⊙(h-part_n));
/// h' = (1 - z)⊙n + z⊙h.
class GRUCell : public RecurrentCell {
public:
    GRUCell(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options = {},
            const std::string& suffix = "");
    Tensor forward(const Tensor& x) override { return step(x, Tensor()); }
    Tensor step(const Tensor& x, const Tensor& h);
};

/// Options of the sequence layers beyond the cells'.
struct SequenceOptions {
    std::size_t num_layers = 1;
    bool batch_first = false;  ///< (N, T, in) instead of (T, N, in)
    /// Dropout on the outputs of each layer but the last (PyTorch's `dropout`); keep_prob 1 = off.
    DropoutOptions between_layers{.keep_prob = 1.0};
    /// Recurrent (variational) dropout, Gal & Ghahramani: one mask per sequence on the hidden state
    /// fed back at every step of every layer, in any of the four scale modes; the measured scales
    /// count per sequence batch (measured) or per sequence (per-example). keep_prob 1 = off.
    DropoutOptions recurrent{.keep_prob = 1.0};
    RecurrentOptions cell;
    /// LSTM only: record every step's ops (an input projection, a recurrent product and an
    /// lstm_cell node per step) instead of one lstm_layer node per layer. The same values to rounding
    /// (within 1e-12 in float64, recurrent/fused_lstm_layers_equal_the_unrolled_cells); slower,
    /// but a DOT drawing then shows the recurrence step by step. RNN and GRU always unroll.
    bool unrolled = false;
};

/// What a sequence layer returns: every step's top-layer hidden state — (T, N, H), or (N, T, H)
/// batch first — and the final state of every layer, (L, N, H) (c too for an LSTM).
struct SequenceOutput {
    Tensor output;
    LSTMState state;  ///< h_n (and c_n for an LSTM; undefined otherwise)
};

/// A stack of cells run over time. forward(x) starts from zeros; run(x, state) from a given state.
class RecurrentLayer : public Module {
public:
    Tensor forward(const Tensor& x) override { return run(x, {}).output; }
    SequenceOutput run(const Tensor& x, const LSTMState& initial = {});
    const SequenceOptions& options() const { return options_; }
    std::size_t hidden_size() const { return hidden_size_; }

protected:
    enum class Kind { rnn, lstm, gru };
    RecurrentLayer(Kind kind, std::size_t input_size, std::size_t hidden_size, const SequenceOptions& options);

private:
    Kind kind_;
    std::size_t hidden_size_;
    SequenceOptions options_;
    std::vector<std::shared_ptr<RecurrentCell>> cells_;
};

class RNN : public RecurrentLayer {
public:
    RNN(std::size_t input_size, std::size_t hidden_size, const SequenceOptions& options = {})
        : RecurrentLayer(Kind::rnn, input_size, hidden_size, options) {}
};
class LSTM : public RecurrentLayer {
public:
    LSTM(std::size_t input_size, std::size_t hidden_size, const SequenceOptions& options = {})
        : RecurrentLayer(Kind::lstm, input_size, hidden_size, options) {}
};
class GRU : public RecurrentLayer {
public:
    GRU(std::size_t input_size, std::size_t hidden_size, const SequenceOptions& options = {})
        : RecurrentLayer(Kind::gru, input_size, hidden_size, options) {}
};

/// The recurrent-dropout mask of one sequence batch: dropout of ones (N, H) with the options'
/// scale mode (measured counts the whole (N, H) mask, per-example each sequence's H units), drawn
/// once and multiplied into the hidden state at every step. Evaluation: ones (classic: keep_prob).
Tensor recurrent_dropout_mask(std::size_t batch, std::size_t hidden, const DropoutOptions& options, DType dtype);

}  // namespace xgrad
