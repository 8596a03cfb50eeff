// Fashion-MNIST end to end: a CNN (two conv + pool blocks, two linear layers, dropout) or an MLP
// (784-256-256-10) trained batch-first on Debian's dataset-fashion-mnist, with the dropout scale
// question asked on real data (--scale). Prints one line per epoch; writes curves, a confusion
// matrix, a grid of misclassified test images and a checkpoint that --resume continues from.
//
//   fashion_mnist --model cnn --epochs 5 --optimizer adam --learning-rate 0.001 --out runs/cnn
//   mpirun -np 2 fashion_mnist --distributed --model cnn --batch-size 32   (docs/distributed.md)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "common/checkpoint.hpp"
#include "common/cli.hpp"
#include "common/json.hpp"
#include "xgrad.hpp"
#ifdef XGRAD_HAVE_DISTRIBUTED
#include "distributed/distributed.hpp"
#endif

using namespace xgrad;
namespace ex = xgrad::examples;

namespace {

struct Settings {
    std::string model = "cnn", optimizer = "adam", scale = "constant", out = "fashion_mnist_out", json, data_root;
    std::string dtype = "float32";
    std::size_t epochs = 5, batch_size = 64, threads = 2, train_limit = 0, test_limit = 0;
    double learning_rate = 0.001, keep_prob = 0.5, keep_prob_2d = 1.0;
    std::uint32_t seed = 0;
    bool resume = false, no_plots = false, distributed = false, global_scale = false, no_overlap = false;
};

/// Where a data-parallel run stands: one process of world_size, or the only one.
struct Ranks {
    std::size_t rank = 0, world_size = 1;
    bool root() const { return rank == 0; }
};

/// The two models of the issue, batch-first. Dropout counts per example along axis 0; its masks
/// come from `masks` (nullptr: the global generator) and a measured scale's counts go through
/// `reduce_counts` when one is given (over all processes' masks).
std::shared_ptr<Sequential> make_model(const Settings& s, DType dtype, Generator& gen, Generator* masks = nullptr,
                                       std::function<void(std::size_t&, std::size_t&)> reduce_counts = {}) {
    const DropoutOptions drop{.keep_prob = s.keep_prob, .scale = parse_scale(s.scale), .example_axis = 0,
                              .generator = masks, .reduce_counts = reduce_counts};
    auto net = std::make_shared<Sequential>();
    auto linear = [&](std::size_t in, std::size_t out) {
        return std::make_shared<Linear>(in, out, LinearOptions{.init = Init::he, .weight_name = "weight",
                                                               .bias_name = "bias", .dtype = dtype, .generator = &gen,
                                                               .layout = Layout::batch_first});
    };
    if (s.model == "cnn") {
        // Conv2d → ReLU as one node each (Conv2dReLU: the same values, gradients and parameter names,
        // without two passes over the activations each way).
        const ConvOptions conv{.padding = 1, .dtype = dtype, .generator = &gen};
        net->add(std::make_shared<Conv2dReLU>(1, 32, 3, conv), "conv1");
        net->add(std::make_shared<MaxPool2d>(2));
        net->add(std::make_shared<Conv2dReLU>(32, 64, 3, conv), "conv2");
        net->add(std::make_shared<MaxPool2d>(2));
        if (s.keep_prob_2d < 1.0)
            net->add(std::make_shared<Dropout2d>(DropoutOptions{.keep_prob = s.keep_prob_2d, .scale = drop.scale,
                                                                .generator = masks, .reduce_counts = reduce_counts}));
        net->add(std::make_shared<Flatten>());
        net->add(linear(64 * 7 * 7, 128), "fc1");
        net->add(std::make_shared<ReLU>());
        if (s.keep_prob < 1.0) net->add(std::make_shared<Dropout>(drop));
        net->add(linear(128, 10), "fc2");
    } else {
        net->add(std::make_shared<Flatten>());
        net->add(linear(784, 256), "fc1");
        net->add(std::make_shared<ReLU>());
        if (s.keep_prob < 1.0) net->add(std::make_shared<Dropout>(drop));
        net->add(linear(256, 256), "fc2");
        net->add(std::make_shared<ReLU>());
        if (s.keep_prob < 1.0) net->add(std::make_shared<Dropout>(drop));
        net->add(linear(256, 10), "fc3");
    }
    return net;
}

std::unique_ptr<Optimizer> make_optimizer(const Settings& s, const std::vector<Tensor>& parameters) {
    if (s.optimizer == "sgd") return std::make_unique<SGD>(parameters, s.learning_rate);
    if (s.optimizer == "momentum") return std::make_unique<Momentum>(parameters, s.learning_rate, 0.9);
    return std::make_unique<Adam>(parameters, s.learning_rate);
}

/// The first `limit` examples of a dataset (all when limit is 0): CI's small slices.
data::TensorDataset first(const data::TensorDataset& d, std::size_t limit, DType dtype) {
    const std::size_t n = limit == 0 ? d.size() : std::min(limit, d.size());
    const Tensor inputs = slice(constant(d.inputs()), 0, 0, static_cast<std::int64_t>(n));
    const Tensor targets = slice(constant(d.targets()), 0, 0, static_cast<std::int64_t>(n));
    return data::TensorDataset(inputs.value().astype(dtype), targets.value());
}

struct EpochResult {
    double train_loss = 0, train_accuracy = 0, test_accuracy = 0, seconds = 0;
};

/// The model's predicted classes for a whole dataset, in evaluation mode, batch by batch.
Tensor predict(Module& model, const data::TensorDataset& d, std::size_t batch_size) {
    NoGradGuard no_grad;
    const bool was_training = model.training();
    model.eval();
    std::vector<Tensor> predicted;
    data::DataLoader loader(d, {.batch_size = batch_size});
    for (const data::Batch& batch : loader) predicted.push_back(argmax(model(batch.inputs), 1));
    model.train(was_training);
    return concat(predicted, 0);
}

/// What a checkpoint must agree on with the command line to be continued.
ex::Json run_identity(const Settings& s) {
    return ex::Json::object({{"model", s.model}, {"seed", s.seed}, {"dtype", s.dtype}});
}

ex::Json to_json(const std::vector<EpochResult>& history) {
    ex::Json epochs = ex::Json::array();
    for (const EpochResult& r : history)
        epochs.push_back(ex::Json::object({{"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
                                           {"test_accuracy", r.test_accuracy}, {"seconds", r.seconds}}));
    return epochs;
}

std::vector<EpochResult> history_from(const ex::Json& epochs) {
    std::vector<EpochResult> history;
    for (std::size_t i = 0; i < epochs.size(); ++i) {
        const ex::Json e = epochs.at(i);
        history.push_back({e.at("train_loss").as_double(), e.at("train_accuracy").as_double(),
                           e.at("test_accuracy").as_double(), e.at("seconds").as_double()});
    }
    return history;
}

void plot_curves(const std::string& picture, const std::vector<EpochResult>& history) {
    std::ostringstream rows;
    for (std::size_t e = 0; e < history.size(); ++e)
        rows << e + 1 << " " << ex::repr(history[e].train_loss) << " " << ex::repr(history[e].train_accuracy) << " "
             << ex::repr(history[e].test_accuracy) << "\n";
    ex::run_gnuplot(picture, ex::gnuplot_datablock("h", rows.str()) +
                                 "set multiplot layout 1,2\nset grid\nset xlabel 'epoch'\nset title 'training loss'\n"
                                 "plot $h using 1:2 with linespoints lw 2 title 'train loss'\n"
                                 "set title 'accuracy'\nset key bottom right\n"
                                 "plot $h using 1:3 with linespoints lw 2 title 'train', "
                                 "$h using 1:4 with linespoints lw 2 title 'test'\nunset multiplot\n",
                    1100, 450);
}

void plot_confusion(const std::string& picture, const Array& labels, const Array& predicted) {
    std::vector<std::size_t> counts(100, 0);
    for (std::size_t i = 0; i < labels.size(); ++i)
        ++counts[static_cast<std::size_t>(labels.flat(i)) * 10 + static_cast<std::size_t>(predicted.flat(i))];
    std::ostringstream rows, tics;
    for (std::size_t t = 0; t < 10; ++t) {
        for (std::size_t p = 0; p < 10; ++p) rows << p << " " << t << " " << counts[t * 10 + p] << "\n";
        rows << "\n";
    }
    const auto& names = data::FashionMnist::class_names();
    for (std::size_t k = 0; k < 10; ++k) tics << (k ? ", " : "") << ex::gnuplot_quote(names[k]) << " " << k;
    std::ostringstream labels_cmd;
    for (std::size_t t = 0; t < 10; ++t)
        for (std::size_t p = 0; p < 10; ++p)
            labels_cmd << "set label '" << counts[t * 10 + p] << "' at " << p << "," << t << " center front font ',8'\n";
    ex::run_gnuplot(picture, ex::gnuplot_datablock("m", rows.str()) + labels_cmd.str() +
                                 "set title 'confusion matrix (test set): rows true, columns predicted'\n"
                                 "set xtics (" + tics.str() + ") rotate by 45 right\nset ytics (" + tics.str() + ")\n"
                                 "set yrange [9.5:-0.5]\nset xrange [-0.5:9.5]\nset palette defined (0 'white', 1 '#2166ac')\n"
                                 "set cbrange [0:*]\nplot $m using 1:2:3 with image notitle\n",
                    850, 800);
}

void plot_misclassified(const std::string& picture, const Array& images, const Array& labels, const Array& predicted) {
    const auto& names = data::FashionMnist::class_names();
    std::ostringstream script;
    script << "set multiplot layout 4,4 title 'misclassified test images: true → predicted'\nunset xtics\nunset ytics\n"
              "unset colorbox\nset palette gray negative\nset yrange [27.5:-0.5]\nset xrange [-0.5:27.5]\nset size ratio -1\n";
    std::size_t shown = 0;
    for (std::size_t i = 0; i < labels.size() && shown < 16; ++i) {
        if (labels.flat(i) == predicted.flat(i)) continue;
        std::ostringstream rows;
        for (std::size_t y = 0; y < 28; ++y) {
            for (std::size_t x = 0; x < 28; ++x) rows << x << " " << y << " " << images.flat(i * 784 + y * 28 + x) << "\n";
            rows << "\n";
        }
        const std::string block = "img" + std::to_string(shown);
        script << ex::gnuplot_datablock(block, rows.str()) << "set title "
               << ex::gnuplot_quote(names[static_cast<std::size_t>(labels.flat(i))] + " → " +
                                    names[static_cast<std::size_t>(predicted.flat(i))])
               << " noenhanced font ',8'\nplot $" << block << " using 1:2:3 with image notitle\n";
        ++shown;
    }
    script << "unset multiplot\n";
    if (shown) ex::run_gnuplot(picture, script.str(), 900, 950);
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    ex::CommandLine app("fashion_mnist", "Trains a CNN or an MLP on Fashion-MNIST (Debian's dataset-fashion-mnist).");
    app.option("--model", s.model, "cnn or mlp").one_of({"cnn", "mlp"}).show_default();
    app.option("--epochs", s.epochs, "Epochs to train (in all, counting those a --resume continues)").range(1, 1e6).show_default();
    app.option("--batch-size", s.batch_size, "Examples per step").range(1, 1e6).show_default();
    app.option("--optimizer", s.optimizer, "sgd, momentum or adam").one_of({"sgd", "momentum", "adam"}).show_default();
    app.option("--learning-rate", s.learning_rate, "Step size").positive().show_default();
    app.option("--keep-prob", s.keep_prob, "Dropout keep probability before the last linear layer(s); 1 = no dropout")
        .range(0, 1, ex::CommandLine::Ends::open_low).show_default();
    app.option("--keep-prob-2d", s.keep_prob_2d, "CNN only: channel-wise dropout (dropout2d) after the conv blocks; 1 = off")
        .range(0, 1, ex::CommandLine::Ends::open_low).show_default();
    app.option("--scale", s.scale, "Dropout scale: constant, measured, per-example or classic")
        .one_of({"constant", "measured", "per-example", "classic"}).show_default();
    app.option("--seed", s.seed, "Seed of the weights, the shuffles and the dropout masks").show_default();
    app.option("--threads", s.threads, "BLAS threads").range(1, 1024).show_default();
    app.option("--dtype", s.dtype, "float32 or float64").one_of({"float32", "float64"}).show_default();
    app.option("--train-limit", s.train_limit, "Train on the first N examples only (0: all 60 000)").show_default();
    app.option("--test-limit", s.test_limit, "Test on the first N examples only (0: all 10 000)").show_default();
    app.option("--data", s.data_root, "Folder of the IDX files (default: the Debian package's)");
    app.option("--out", s.out, "Folder for the pictures and the checkpoint (\"\": none)").show_default();
    app.option("--json", s.json, "Also write the settings and every epoch's figures to this JSON file");
    app.flag("--resume", s.resume, "Continue from the checkpoint in --out");
    app.flag("--no-plots", s.no_plots, "Do not draw the pictures");
    app.flag("--distributed", s.distributed,
             "Data-parallel over MPI (run under mpirun): --batch-size examples per process, gradients averaged, "
             "rank 0 prints and writes");
    app.flag("--global-scale", s.global_scale,
             "With --distributed and --scale measured: count the kept units over the whole global batch (all "
             "processes) instead of each process's share");
    app.flag("--no-overlap", s.no_overlap,
             "With --distributed: reduce the gradients after backward with blocking allreduces instead of "
             "overlapping non-blocking ones with backward");
    app.parse_or_exit(argc, argv);
    Ranks ranks;
#ifdef XGRAD_HAVE_DISTRIBUTED
    // MPI from here to the end of main: a failure on any process ends the whole job with its message.
    std::optional<distributed::Environment> mpi;
    if (s.distributed) {
        mpi.emplace(argc, argv);
        ranks = {mpi->rank(), mpi->world_size()};
    }
#endif
    // Only rank 0 speaks; the others' lines would repeat its own.
    std::ostream quiet(nullptr);
    std::ostream& out = ranks.root() ? std::cout : quiet;
    try {
#ifndef XGRAD_HAVE_DISTRIBUTED
        if (s.distributed)
            throw ValueError("--distributed: this build has no MPI (configure with XGRAD_DISTRIBUTED=ON and "
                             "libopenmpi-dev installed)");
#endif
        if (s.global_scale && (!s.distributed || s.scale != "measured"))
            throw ValueError("--global-scale needs --distributed and --scale measured (got --scale " + s.scale +
                             (s.distributed ? ")" : ", no --distributed)"));
        ex::check_output_folder("--out", s.out, true);
        ex::check_output_file("--json", s.json);
        if (s.resume && s.out.empty()) throw ValueError("--resume needs --out (the folder holding the checkpoint)");
        set_num_threads(s.threads);
        const DType dtype = s.dtype == "float32" ? DType::f32 : DType::f64;
        const data::FashionMnist full = s.data_root.empty() ? data::fashion_mnist() : data::fashion_mnist(s.data_root);
        const data::TensorDataset train = first(full.train, s.train_limit, dtype);
        const data::TensorDataset test = first(full.test, s.test_limit, dtype);

        Generator weights(s.seed);
        Generator masks;  // each process's own dropout stream under --distributed, reseeded every epoch
        std::function<void(std::size_t&, std::size_t&)> reduce_counts;
#ifdef XGRAD_HAVE_DISTRIBUTED
        if (s.global_scale) reduce_counts = distributed::global_dropout_counts();
#endif
        auto model = make_model(s, dtype, weights, s.distributed ? &masks : nullptr, reduce_counts);
        auto optimizer = make_optimizer(s, model->parameters());
        const ex::Checkpoint checkpoint(s.out);
        std::vector<EpochResult> history;
        std::size_t start = 0;
        if (s.resume) {
            // Every process reads the checkpoint (--out must be a folder they all see). It holds
            // nothing that depends on the number of processes, so a run may resume on any number.
            const ex::Checkpoint::Index saved = checkpoint.read(run_identity(s));
            ex::Checkpoint::restore_model(*model, saved);
            ex::Checkpoint::restore_optimizer(*optimizer, saved);
            history = history_from(saved.history);
            start = saved.epochs_done;
            out << "resumed after epoch " << start << " from " << checkpoint.index_path() << "\n";
        }
        data::DataLoaderOptions loading{.batch_size = s.batch_size, .shuffle = true, .seed = s.seed};
        std::function<void()> synchronize_gradients;  // after backward, before the step: none on one process
#ifdef XGRAD_HAVE_DISTRIBUTED
        std::optional<distributed::DistributedDataParallel> ddp;
        if (s.distributed) {
            // Each process its shard of the epoch's order; rank 0's weights everywhere.
            loading.shuffle = false;
            loading.sampler = std::make_shared<data::DistributedSampler>(
                train.size(), ranks.world_size, ranks.rank, data::DistributedSamplerOptions{.seed = s.seed});
            ddp.emplace(*model, distributed::DdpOptions{.overlap = !s.no_overlap});
            synchronize_gradients = [&ddp] { ddp->synchronize(); };
            std::size_t count = 0;
            for (const Tensor& p : model->parameters()) count += p.size();
            out << "distributed: " << ranks.world_size << " processes, " << s.batch_size << " examples each per step ("
                << s.batch_size * ranks.world_size << " in all); " << count << " parameters, "
                << ddp->bytes_per_step() << " bytes of gradient allreduced per step in " << ddp->bucket_bytes().size()
                << " buckets\n";
        }
#endif
        data::DataLoader loader(train, loading);
        out << s.model << ": " << model->parameters().size() << " parameter tensors, " << train.size()
            << " training and " << test.size() << " test examples, " << loader.size() << " steps per epoch\n";
        Tensor predicted;  // the test set's predicted classes after the last epoch trained here
        for (std::size_t epoch = start; epoch < s.epochs; ++epoch) {
#ifdef XGRAD_HAVE_DISTRIBUTED
            // The epoch's time is training time: not rank 0 waiting for the others to finish loading
            // the data or for its own test pass of the last epoch to be over.
            if (s.distributed) distributed::barrier();
#endif
            const auto started = std::chrono::steady_clock::now();
            // Dropout masks come from a stream fixed by (seed, epoch), so a resumed run draws the
            // masks an uninterrupted one would have.
            // Under --distributed each process draws from its own stream of that seed (rank-split).
            global_generator().seed(data::DataLoader::epoch_seed(s.seed + 1, epoch));
#ifdef XGRAD_HAVE_DISTRIBUTED
            if (s.distributed) masks = distributed::rank_generator(data::DataLoader::epoch_seed(s.seed + 1, epoch));
#endif
            loader.set_epoch(epoch);
            model->train();
            double loss_sum = 0, correct = 0, seen = 0;
            ex::Progress progress("epoch " + std::to_string(epoch + 1), loader.size());
            std::size_t step = 0;
            for (const data::Batch& batch : loader) {
                const Tensor logits = (*model)(batch.inputs);
                const Tensor loss = cross_entropy(logits, batch.targets);
                optimizer->zero_grad();
                loss.backward();
                if (synchronize_gradients) synchronize_gradients();
                optimizer->step();
                const double n = static_cast<double>(batch.targets.size());
                loss_sum += loss.item() * n;
                correct += sum(argmax(logits, 1) == batch.targets).item();
                seen += n;
                progress.update(++step);
            }
#ifdef XGRAD_HAVE_DISTRIBUTED
            if (s.distributed) {  // the figures of the global batch: every process's share summed
                std::vector<double> sums{loss_sum, correct, seen};
                distributed::allreduce_sum(sums);
                loss_sum = sums[0], correct = sums[1], seen = sums[2];
            }
#endif
            EpochResult r;
            r.train_loss = loss_sum / seen;
            r.train_accuracy = correct / seen;
            // The test pass, the report and the checkpoint are rank 0's (the models are identical);
            // the others go on and wait for it in the next epoch's first allreduce.
            if (!ranks.root()) continue;
            predicted = predict(*model, test, 500);
            r.test_accuracy = mean(predicted == constant(test.targets())).item();
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            history.push_back(r);
            out << "epoch " << epoch + 1 << ": train loss " << std::fixed << std::setprecision(4) << r.train_loss
                      << ", train accuracy " << r.train_accuracy << ", test accuracy " << r.test_accuracy << ", "
                      << std::setprecision(1) << r.seconds << " seconds" << std::defaultfloat << std::endl;
            if (!s.out.empty()) checkpoint.save(*model, *optimizer, epoch + 1, run_identity(s), to_json(history));
        }
        if (!ranks.root()) return 0;
        if (!s.out.empty() && !s.no_plots && !history.empty()) {
            // The last epoch's predictions, unless every epoch was done before this (resumed) run.
            if (!predicted.defined()) predicted = predict(*model, test, 500);
            plot_curves(s.out + "/curves.png", history);
            plot_confusion(s.out + "/confusion.png", test.targets(), predicted.value());
            plot_misclassified(s.out + "/misclassified.png", test.inputs(), test.targets(), predicted.value());
            out << "wrote " << s.out << "/curves.png, confusion.png, misclassified.png\n";
        }
        if (!s.json.empty()) {
            const ex::Json epochs = to_json(history);
            const ex::Json report = ex::Json::object(
                {{"model", s.model}, {"optimizer", s.optimizer}, {"learning_rate", s.learning_rate},
                 {"batch_size", s.batch_size}, {"keep_prob", s.keep_prob}, {"keep_prob_2d", s.keep_prob_2d},
                 {"scale", s.scale}, {"seed", s.seed}, {"threads", s.threads}, {"dtype", s.dtype},
                 {"processes", ranks.world_size}, {"global_scale", s.global_scale},
                 {"train_examples", train.size()}, {"test_examples", test.size()}, {"epochs", epochs}});
            write_file_atomic(s.json, report.dump());
        }
    } catch (const std::exception& e) {
#ifdef XGRAD_HAVE_DISTRIBUTED
        // The others may be waiting for this process in a collective: end them all, with the reason.
        if (s.distributed) distributed::abort_job(std::string("fashion_mnist: ") + e.what());
#endif
        std::cerr << "fashion_mnist: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
