#include "models/recurrent.hpp"

#include <cmath>

#include "framework/errors.hpp"

namespace xgrad {

namespace {

Generator& generator_of(Generator* g) { return g ? *g : global_generator(); }

/// U(-k, k) with k = 1/√H: PyTorch's initialisation of every recurrent weight and bias.
Array uniform(const Shape& shape, double k, Generator& gen, DType dtype) {
    Array a = gen.rand(shape);
    for (std::size_t i = 0; i < a.size(); ++i) a.set_flat(i, (2 * a.flat(i) - 1) * k);
    return a.astype(dtype);
}

}  // namespace

Embedding::Embedding(std::size_t num_embeddings, std::size_t dim, DType dtype, Generator* generator) {
    if (num_embeddings == 0 || dim == 0) throw ValueError("Embedding: num_embeddings and dim must be ≥ 1");
    weight = register_parameter("weight", Tensor(generator_of(generator).randn({num_embeddings, dim}).astype(dtype)));
}

Tensor Embedding::forward(const Tensor& indices) {
    if (indices.dtype() != DType::i64)
        throw DTypeError(std::string("Embedding: indices must be int64, got ") + dtype_name(indices.dtype()) + " " +
                         shape_str(indices.shape()));
    // Flatten the indices, pick rows, and give them back their shape with dim appended.
    Shape out = indices.shape();
    out.push_back(weight.shape()[1]);
    return reshape(index_select(weight, 0, reshape(indices, {-1})), out);
}

RecurrentCell::RecurrentCell(std::size_t input_size, std::size_t hidden_size, std::size_t gates,
                             const RecurrentOptions& options, const std::string& suffix)
    : input_size_(input_size), hidden_size_(hidden_size) {
    if (input_size == 0 || hidden_size == 0) throw ValueError("recurrent cell: input_size and hidden_size must be ≥ 1");
    Generator& gen = generator_of(options.generator);
    const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
    weight_ih = register_parameter("weight_ih" + suffix, Tensor(uniform({gates * hidden_size, input_size}, k, gen, options.dtype)));
    weight_hh = register_parameter("weight_hh" + suffix, Tensor(uniform({gates * hidden_size, hidden_size}, k, gen, options.dtype)));
    if (options.bias) {
        bias_ih = register_parameter("bias_ih" + suffix, Tensor(uniform({gates * hidden_size}, k, gen, options.dtype)));
        bias_hh = register_parameter("bias_hh" + suffix, Tensor(uniform({gates * hidden_size}, k, gen, options.dtype)));
    }
}

Tensor RecurrentCell::input_part(const Tensor& x) const {
    if (bias_ih.defined()) return linear(x, weight_ih, bias_ih, Layout::batch_first);
    return matmul(x, weight_ih, false, true);
}

Tensor RecurrentCell::hidden_part(const Tensor& h) const {
    if (bias_hh.defined()) return linear(h, weight_hh, bias_hh, Layout::batch_first);
    return matmul(h, weight_hh, false, true);
}

Tensor RecurrentCell::checked_state(const char* who, const Tensor& x, const Tensor& h) const {
    if (x.ndim() != 2 || x.shape()[1] != input_size_)
        throw ShapeError(std::string(who) + ": input of shape " + shape_str(x.shape()) + " (expected (N, " +
                         std::to_string(input_size_) + "))");
    const Shape state{x.shape()[0], hidden_size_};
    if (!h.defined()) return constant(Array(state, x.dtype()), "h0");
    if (h.shape() != state)
        throw ShapeError(std::string(who) + ": state of shape " + shape_str(h.shape()) + " (expected " +
                         shape_str(state) + ")");
    return h;
}

RNNCell::RNNCell(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options,
                 const std::string& suffix)
    : RecurrentCell(input_size, hidden_size, 1, options, suffix), relu_(options.nonlinearity == "relu") {
    if (options.nonlinearity != "tanh" && options.nonlinearity != "relu")
        throw ValueError("RNNCell: nonlinearity must be tanh or relu, got '" + options.nonlinearity + "'");
}

Tensor RNNCell::step(const Tensor& x, const Tensor& h) {
    const Tensor state = checked_state("RNNCell", x, h);
    const Tensor pre = input_part(x) + hidden_part(state);
    return relu_ ? relu(pre) : tanh(pre);
}

LSTMCell::LSTMCell(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options,
                   const std::string& suffix)
    : RecurrentCell(input_size, hidden_size, 4, options, suffix) {}

namespace {
/// An LSTM's state is h and c together: given one without the other (truncated backpropagation that
/// forgot to carry c), the missing one would silently restart from zeros.
void check_whole_lstm_state(const char* who, const LSTMState& state) {
    if (state.h.defined() != state.c.defined())
        throw ValueError(std::string(who) + ": the initial state has " + (state.h.defined() ? "h" : "c") +
                         " but no " + (state.h.defined() ? "c" : "h") +
                         "; an LSTM's state is both (pass {h, c}), or neither to start from zeros");
}
}  // namespace

LSTMState LSTMCell::step(const Tensor& x, const LSTMState& state) {
    check_whole_lstm_state("LSTMCell", state);
    const Tensor h = checked_state("LSTMCell", x, state.h);
    const Tensor c = checked_state("LSTMCell", x, state.c);
    // The gates' element-wise part is one fused op (ops/recurrent.cpp): [h' | c'].
    const Tensor next = lstm_cell(input_part(x) + hidden_part(h), c);
    const auto H = static_cast<std::int64_t>(hidden_size_);
    return {slice(next, 1, 0, H), slice(next, 1, H, 2 * H)};
}

GRUCell::GRUCell(std::size_t input_size, std::size_t hidden_size, const RecurrentOptions& options,
                 const std::string& suffix)
    : RecurrentCell(input_size, hidden_size, 3, options, suffix) {}

Tensor GRUCell::step(const Tensor& x, const Tensor& h_in) {
    const Tensor h = checked_state("GRUCell", x, h_in);
    const std::vector<std::size_t> blocks(3, hidden_size_);
    const std::vector<Tensor> xi = split(input_part(x), blocks, 1), hh = split(hidden_part(h), blocks, 1);
    const Tensor r = sigmoid(xi[0] + hh[0]), z = sigmoid(xi[1] + hh[1]);
    const Tensor n = tanh(xi[2] + r * hh[2]);
    return (1.0 - z) * n + z * h;
}

Tensor recurrent_dropout_mask(std::size_t batch, std::size_t hidden, const DropoutOptions& options, DType dtype) {
    DropoutOptions o = options;
    o.example_axis = 0;  // a row of the mask is one sequence
    return dropout(constant(Array::ones({batch, hidden}, dtype), "recurrent mask"), o);
}

RecurrentLayer::RecurrentLayer(Kind kind, std::size_t input_size, std::size_t hidden_size, const SequenceOptions& options)
    : kind_(kind), hidden_size_(hidden_size), options_(options) {
    const char* name = kind == Kind::rnn ? "RNN" : (kind == Kind::lstm ? "LSTM" : "GRU");
    if (options.num_layers == 0) throw ValueError(std::string(name) + ": num_layers must be ≥ 1");
    options.between_layers.validate(name);
    options.recurrent.validate(name);
    for (std::size_t l = 0; l < options.num_layers; ++l) {
        const std::size_t in = l == 0 ? input_size : hidden_size;
        const std::string suffix = "_l" + std::to_string(l);
        std::shared_ptr<RecurrentCell> cell;
        if (kind == Kind::rnn) cell = std::make_shared<RNNCell>(in, hidden_size, options.cell, suffix);
        if (kind == Kind::lstm) cell = std::make_shared<LSTMCell>(in, hidden_size, options.cell, suffix);
        if (kind == Kind::gru) cell = std::make_shared<GRUCell>(in, hidden_size, options.cell, suffix);
        cells_.push_back(register_module("", cell));  // PyTorch's names: weight_ih_l0, …
    }
}

SequenceOutput RecurrentLayer::run(const Tensor& x, const LSTMState& initial) {
    const char* name = kind_ == Kind::rnn ? "RNN" : (kind_ == Kind::lstm ? "LSTM" : "GRU");
    if (x.ndim() != 3)
        throw ShapeError(std::string(name) + ": input must be " + (options_.batch_first ? "(N, T, in)" : "(T, N, in)") +
                         ", got " + shape_str(x.shape()));
    const int time_axis = options_.batch_first ? 1 : 0;
    const std::size_t steps = x.shape()[static_cast<std::size_t>(time_axis)];
    const std::size_t batch = x.shape()[options_.batch_first ? 0 : 1];
    const std::size_t layers = cells_.size();
    if (x.shape()[2] != cells_.front()->input_size())
        throw ShapeError(std::string(name) + ": input of shape " + shape_str(x.shape()) + " has " +
                         std::to_string(x.shape()[2]) + " features (its last axis), but the layer was built for " +
                         "input_size " + std::to_string(cells_.front()->input_size()));
    const Shape state_shape{layers, batch, hidden_size_};
    for (const Tensor* s : {&initial.h, &initial.c})
        if (s->defined() && s->shape() != state_shape)
            throw ShapeError(std::string(name) + ": initial state of shape " + shape_str(s->shape()) + " (expected " +
                             shape_str(state_shape) + ")");
    if (kind_ == Kind::lstm)
        check_whole_lstm_state(name, initial);
    else if (initial.c.defined())
        throw ValueError(std::string(name) + ": the initial state has a cell state c, which only an LSTM has; pass "
                         "{h} (or nothing, to start from zeros)");
    if (steps == 0) throw ShapeError(std::string(name) + ": the sequence is empty (T = 0)");

    // The current layer's input: one (T, N, ·) tensor (`sequence`) or, once split, a list of steps
    // (`inputs`). Each form is made from the other only when a layer needs it.
    Tensor sequence = x;
    std::vector<Tensor> inputs;
    auto steps_of = [&](const Tensor& whole) {
        std::vector<Tensor> list;
        list.reserve(steps);
        for (std::size_t t = 0; t < steps; ++t) list.push_back(select(whole, time_axis, static_cast<std::int64_t>(t)));
        return list;
    };
    std::vector<Tensor> final_h, final_c;
    DropoutOptions between = options_.between_layers, recurrent = options_.recurrent;
    between.training = between.training && training();
    recurrent.training = recurrent.training && training();
    for (std::size_t l = 0; l < layers; ++l) {
        RecurrentCell& cell = *cells_[l];
        Tensor h = initial.h.defined() ? select(initial.h, 0, static_cast<std::int64_t>(l)) : Tensor();
        Tensor c = initial.c.defined() ? select(initial.c, 0, static_cast<std::int64_t>(l)) : Tensor();
        if (!h.defined()) h = constant(Array({batch, hidden_size_}, x.dtype()), "h0");
        if (!c.defined() && kind_ == Kind::lstm) c = constant(Array({batch, hidden_size_}, x.dtype()), "c0");
        // One mask for the whole sequence: the same units of h are dropped at every step.
        const bool drop_recurrent = recurrent.keep_prob < 1.0 || recurrent.scale == DropoutScale::classic;
        const Tensor mask = drop_recurrent ? recurrent_dropout_mask(batch, hidden_size_, recurrent, x.dtype()) : Tensor();
        if (kind_ == Kind::lstm && !options_.unrolled) {
            // The whole layer as one node (ops/recurrent.cpp).
            if (!sequence.defined()) sequence = stack(inputs, time_axis);
            const LstmSequence run = lstm_layer(sequence, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih,
                                                cell.bias_hh, mask, options_.batch_first);
            sequence = run.output;
            inputs.clear();
            final_h.push_back(run.h);
            final_c.push_back(run.c);
        } else {
            if (inputs.empty()) inputs = steps_of(sequence);
            sequence = Tensor();
            std::vector<Tensor> outputs;
            outputs.reserve(steps);
            for (std::size_t t = 0; t < steps; ++t) {
                const Tensor fed_back = mask.defined() ? h * mask : h;
                if (kind_ == Kind::lstm) {
                    const LSTMState next = static_cast<LSTMCell&>(cell).step(inputs[t], {fed_back, c});
                    h = next.h;
                    c = next.c;
                } else if (kind_ == Kind::gru) {
                    h = static_cast<GRUCell&>(cell).step(inputs[t], fed_back);
                } else {
                    h = static_cast<RNNCell&>(cell).step(inputs[t], fed_back);
                }
                outputs.push_back(h);
            }
            final_h.push_back(h);
            if (kind_ == Kind::lstm) final_c.push_back(c);
            inputs = std::move(outputs);
        }
        const bool drop_between = l + 1 < layers && (between.keep_prob < 1.0 || between.scale == DropoutScale::classic);
        if (drop_between) {
            // Step by step, whichever form the layer gave: the same masks, drawn in the same order.
            if (inputs.empty()) inputs = steps_of(sequence);
            sequence = Tensor();
            DropoutOptions per_step = between;
            per_step.example_axis = 0;  // a row of a step's (N, H) output is one sequence
            for (Tensor& o : inputs) o = dropout(o, per_step);
        }
    }
    SequenceOutput out;
    out.output = sequence.defined() ? sequence : stack(inputs, time_axis);
    out.state.h = stack(final_h, 0);
    if (kind_ == Kind::lstm) out.state.c = stack(final_c, 0);
    return out;
}

}  // namespace xgrad
