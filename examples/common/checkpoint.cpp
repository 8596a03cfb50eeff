#include "common/checkpoint.hpp"

#include <filesystem>

namespace xgrad::examples {

std::string Checkpoint::model_path(std::size_t epoch) const {
    return folder_ + "/model-epoch" + std::to_string(epoch) + ".npz";
}

std::string Checkpoint::optimizer_path(std::size_t epoch) const {
    return folder_ + "/optimizer-epoch" + std::to_string(epoch) + ".npz";
}

void Checkpoint::save(const Module& model, const Optimizer& optimizer, std::size_t epochs_done, const Json& identity,
                      const Json& history) const {
    save_parameters(model, model_path(epochs_done));
    optimizer.save_state(optimizer_path(epochs_done));
    const Json index = Json::object({{"epochs_done", epochs_done}, {"run", identity},
                                     {"model_file", model_path(epochs_done)},
                                     {"optimizer_file", optimizer_path(epochs_done)}, {"history", history}});
    write_file_atomic(index_path(), index.dump());  // the commit point: the new set is now the checkpoint
    // The previous epoch's files are no longer named by the index: remove them.
    if (epochs_done > 0) {
        std::error_code ignored;
        std::filesystem::remove(model_path(epochs_done - 1), ignored);
        std::filesystem::remove(optimizer_path(epochs_done - 1), ignored);
    }
}

Checkpoint::Index Checkpoint::read(const Json& identity) const {
    const Json index = Json::parse(read_file(index_path()), index_path());
    const Json saved = index.at("run");
    for (const std::string& key : identity.keys()) {
        const std::string was = saved.at(key).dump(), now = identity.at(key).dump();
        if (was != now)
            throw ValueError("--resume: " + index_path() + " is a checkpoint of a run with " + key + " " +
                             was.substr(0, was.size() - 1) + ", not " + now.substr(0, now.size() - 1));
    }
    return {static_cast<std::size_t>(index.at("epochs_done").as_double()), index.at("history"),
            index.at("model_file").as_string(), index.at("optimizer_file").as_string()};
}

void Checkpoint::restore_model(Module& model, const Index& index) { load_parameters(model, index.model_file); }

void Checkpoint::restore_optimizer(Optimizer& optimizer, const Index& index) {
    optimizer.load_state(index.optimizer_file);
}

}  // namespace xgrad::examples
