#pragma once
// The examples' training checkpoints: a folder holding the model (parameters and buffers) and the
// optimizer state of the last finished epoch, each written atomically under per-epoch names, and
// checkpoint.json, written last, naming them with the run's identity and per-epoch history. An
// interrupted save leaves the previous checkpoint in force; --resume continues bit for bit.

#include <string>

#include "common/json.hpp"
#include "xgrad.hpp"

namespace xgrad::examples {

class Checkpoint {
public:
    explicit Checkpoint(std::string folder) : folder_(std::move(folder)) {}

    /// Saves after `epochs_done` epochs. `identity` is what a continuation must agree on (data,
    /// model sizes, seed); `history` is the per-epoch figures so far (a JSON array).
    void save(const Module& model, const Optimizer& optimizer, std::size_t epochs_done, const Json& identity,
              const Json& history) const;

    /// What checkpoint.json says. ValueError naming the key and both values unless every member of
    /// `identity` equals the saved one: a checkpoint of another run is refused, not half-used.
    struct Index {
        std::size_t epochs_done = 0;
        Json history;
        std::string model_file, optimizer_file;
    };
    Index read(const Json& identity) const;
    /// Loads the model and the optimizer an index names (load_parameters, Optimizer::load_state).
    static void restore_model(Module& model, const Index& index);
    static void restore_optimizer(Optimizer& optimizer, const Index& index);

    std::string index_path() const { return folder_ + "/checkpoint.json"; }

private:
    std::string model_path(std::size_t epoch) const;
    std::string optimizer_path(std::size_t epoch) const;
    std::string folder_;
};

}  // namespace xgrad::examples
