// A character-level language model — Embedding → LSTM → batch-first Linear — trained on the word
// list of Debian's wamerican package, with held-out words for validation. Prints one line per
// epoch (train and validation loss in nats per character beside the unigram and bigram baselines
// the program computes itself) and K sampled words, each marked novel or found in the word list;
// writes a loss-curve picture and a checkpoint that --resume continues from bit for bit.
//
//   char_rnn --hidden 256 --epochs 4 --lr-schedule cosine --sample 10 --temperature 0.8 --out runs/char_rnn
//
// The vocabulary and the row layout are described in docs/char-rnn.md.

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unordered_set>

#include "common/checkpoint.hpp"
#include "common/cli.hpp"
#include "common/json.hpp"
#include "xgrad.hpp"

using namespace xgrad;
namespace ex = xgrad::examples;

namespace {

// Tokens: end of word 0, apostrophe 1, a..z 2..27, start of word 28. The model predicts the 28
// that can follow a character (every token but the start), so a class index is its token index.
constexpr std::int64_t end_token = 0, start_token = 28;
constexpr std::size_t token_count = 29, class_count = 28, longest_sample = 30;

std::int64_t token_of(char c) { return c == '\'' ? 1 : 2 + (c - 'a'); }
char char_of(std::int64_t token) { return token == 1 ? '\'' : static_cast<char>('a' + (token - 2)); }

struct Settings {
    std::string words_path = "/usr/share/dict/words", scale = "constant", lr_schedule = "none", optimizer = "adam";
    std::string out = "char_rnn_out", json;
    std::size_t hidden = 128, layers = 1, embedding = 32, epochs = 3, seq_len = 32, batch_size = 64;
    std::size_t words_limit = 0, sample = 10, threads = 1, lr_step = 2;
    double keep_prob = 1.0, clip = 5.0, learning_rate = 0.003, lr_gamma = 0.5, temperature = 1.0;
    std::uint32_t seed = 0;
    bool resume = false, no_plots = false;
};

/// The word list, lowercased and kept when made of a-z and the apostrophe only (wamerican's 256
/// lines with accented letters go), each word once, in file order; words too long for a row of --seq-len go.
std::vector<std::string> read_words(const Settings& s, std::size_t& too_long) {
    if (!std::filesystem::exists(s.words_path))
        throw IoError(s.words_path + " does not exist (install Debian's wamerican, or give --words)");
    std::istringstream lines(read_file(s.words_path));
    std::vector<std::string> words;
    std::unordered_set<std::string> seen;
    too_long = 0;
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        bool plain = !line.empty();
        for (char& c : line) {
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            plain = plain && ((c >= 'a' && c <= 'z') || c == '\'');
        }
        if (!plain || !seen.insert(line).second) continue;
        if (line.size() + 2 > s.seq_len + 1) ++too_long;  // <s> word <e> must fit in T + 1 tokens
        else words.push_back(line);
    }
    if (words.size() < 20) throw ValueError(s.words_path + " holds fewer than 20 usable words");
    return words;
}

/// Whole words packed into rows of T + 1 tokens, <s> w1 <e> <s> w2 <e> … padded with <e>: inputs
/// are tokens [0, T) and targets [1, T] of each row, int64 (rows, T). A target that follows an
/// input <e> (the next word's <s>, or padding) is not scored (see scored_loss), so exactly every
/// word's letters and its end are, each from the start of its word — what the baselines score.
data::TensorDataset pack(const std::vector<std::string>& words, std::size_t T) {
    std::vector<double> inputs, targets, row;
    auto flush = [&] {
        row.resize(T + 1, end_token);
        inputs.insert(inputs.end(), row.begin(), row.end() - 1);
        for (std::size_t t = 1; t <= T; ++t) targets.push_back(row[t] == start_token ? end_token : row[t]);
        row.clear();
    };
    for (const std::string& w : words) {
        if (row.size() + w.size() + 2 > T + 1) flush();
        row.push_back(start_token);
        for (char c : w) row.push_back(static_cast<double>(token_of(c)));
        row.push_back(end_token);
    }
    if (!row.empty()) flush();
    const std::size_t rows = inputs.size() / T;
    return data::TensorDataset(Array({rows, T}, inputs, DType::i64), Array({rows, T}, targets, DType::i64));
}

/// Cross-entropy summed over the scored targets (those not after an input <e>), and their count.
std::pair<Tensor, double> scored_loss(const Tensor& logits, const Tensor& inputs, const Tensor& targets) {
    const Tensor per_token =
        cross_entropy(logits, targets, CrossEntropyOptions{.axis = 2, .reduction = Reduction::none});
    const Tensor scored = astype(1.0 - (inputs == static_cast<double>(end_token)), DType::f32);
    return {sum(per_token * scored), sum(scored).item()};
}

struct Baselines {
    double unigram = 0, bigram = 0;
};

/// Add-one-smoothed unigram and bigram models counted on the training words, scored on the
/// validation words in nats per character: each word's letters and its end, the first letter
/// conditioned on the start token (the bigram), exactly the targets the LSTM is scored on.
Baselines baselines(const std::vector<std::string>& train, const std::vector<std::string>& validation) {
    std::vector<double> unigram(class_count, 0), bigram(token_count * class_count, 0), after(token_count, 0);
    double total = 0;
    auto each_pair = [](const std::string& w, auto&& visit) {
        std::int64_t previous = start_token;
        for (std::size_t i = 0; i <= w.size(); ++i) {
            const std::int64_t next = i < w.size() ? token_of(w[i]) : end_token;
            visit(static_cast<std::size_t>(previous), static_cast<std::size_t>(next));
            previous = next;
        }
    };
    for (const std::string& w : train)
        each_pair(w, [&](std::size_t a, std::size_t b) {
            ++unigram[b], ++bigram[a * class_count + b], ++after[a], ++total;
        });
    Baselines nats;
    double scored = 0;
    for (const std::string& w : validation)
        each_pair(w, [&](std::size_t a, std::size_t b) {
            nats.unigram -= std::log((unigram[b] + 1) / (total + class_count));
            nats.bigram -= std::log((bigram[a * class_count + b] + 1) / (after[a] + class_count));
            ++scored;
        });
    return {nats.unigram / scored, nats.bigram / scored};
}

/// Embedding → LSTM → batch-first Linear: tokens (N, T) int64 → logits (N, T, classes).
class CharModel : public Module {
public:
    CharModel(const Settings& s, Generator& gen) {
        const DropoutOptions drop{.keep_prob = s.keep_prob, .scale = parse_scale(s.scale)};
        embedding =
            register_module("embedding", std::make_shared<Embedding>(token_count, s.embedding, DType::f32, &gen));
        lstm = register_module(
            "lstm", std::make_shared<LSTM>(s.embedding, s.hidden,
                                           SequenceOptions{.num_layers = s.layers, .batch_first = true,
                                                           .between_layers = drop, .recurrent = drop,
                                                           .cell = {.dtype = DType::f32, .generator = &gen}}));
        output = register_module("output", std::make_shared<Linear>(
                                               s.hidden, class_count,
                                               LinearOptions{.init = Init::xavier, .weight_name = "weight",
                                                             .bias_name = "bias", .dtype = DType::f32,
                                                             .generator = &gen, .layout = Layout::batch_first}));
    }
    /// The logits and the LSTM's final state, starting from `state` (zeros when empty).
    std::pair<Tensor, LSTMState> run(const Tensor& tokens, const LSTMState& state) {
        const SequenceOutput out = lstm->run((*embedding)(tokens), state);
        return {(*output)(out.output), out.state};
    }
    Tensor forward(const Tensor& tokens) override { return run(tokens, {}).first; }

    std::shared_ptr<Embedding> embedding;
    std::shared_ptr<LSTM> lstm;
    std::shared_ptr<Linear> output;
};

/// The validation loss in nats per scored character, in evaluation mode (no dropout).
double evaluate(CharModel& model, const data::TensorDataset& rows) {
    NoGradGuard no_grad;
    model.eval();
    double nats = 0, scored = 0;
    data::DataLoader loader(rows, {.batch_size = 256});
    for (const data::Batch& batch : loader) {
        const auto [loss, count] = scored_loss(model(batch.inputs), batch.inputs, batch.targets);
        nats += loss.item();
        scored += count;
    }
    model.train();
    return nats / scored;
}

/// `count` words drawn from softmax(logits / temperature), all at once: each starts from the start
/// token and ends at the end token (or after longest_sample letters). One uniform per unfinished
/// word per step, in order, from `gen`.
std::vector<std::string> sample_words(CharModel& model, std::size_t count, double temperature, Generator& gen) {
    NoGradGuard no_grad;
    model.eval();
    std::vector<std::string> words(count);
    std::vector<bool> done(count, false);
    std::vector<double> tokens(count, start_token);
    LSTMState state;
    for (std::size_t step = 0; step <= longest_sample; ++step) {
        auto [logits, next] = model.run(constant(Array({count, 1}, tokens, DType::i64)), state);
        state = next;
        const Array probs = softmax(logits * (1.0 / temperature), 2).value();  // (count, 1, classes)
        bool all_done = true;
        for (std::size_t k = 0; k < count; ++k) {
            if (done[k]) continue;
            const double u = gen.uniform();
            std::size_t c = 0;
            for (double cumulative = probs.flat(k * class_count); cumulative <= u && c + 1 < class_count;)
                cumulative += probs.flat(k * class_count + ++c);
            tokens[k] = static_cast<double>(c);
            if (c == end_token || step == longest_sample) done[k] = true;
            else words[k] += char_of(static_cast<std::int64_t>(c)), all_done = false;
        }
        if (all_done) break;
    }
    model.train();
    return words;
}

struct EpochResult {
    double train_loss = 0, validation_loss = 0, learning_rate = 0, seconds = 0;
    std::vector<double> train_tenths;  // the mean training loss over each tenth of the epoch's steps
    std::vector<std::string> samples;
};

ex::Json to_json(const EpochResult& r) {
    ex::Json tenths = ex::Json::array(), samples = ex::Json::array();
    for (double v : r.train_tenths) tenths.push_back(v);
    for (const std::string& w : r.samples) samples.push_back(w);
    return ex::Json::object({{"train_loss", r.train_loss}, {"validation_loss", r.validation_loss},
                             {"learning_rate", r.learning_rate}, {"train_loss_tenths", tenths},
                             {"samples", samples}, {"seconds", r.seconds}});
}

EpochResult from_json(const ex::Json& e) {
    EpochResult r{e.at("train_loss").as_double(), e.at("validation_loss").as_double(),
                  e.at("learning_rate").as_double(), e.at("seconds").as_double(), {}, {}};
    for (std::size_t i = 0; i < e.at("train_loss_tenths").size(); ++i)
        r.train_tenths.push_back(e.at("train_loss_tenths").at(i).as_double());
    for (std::size_t i = 0; i < e.at("samples").size(); ++i) r.samples.push_back(e.at("samples").at(i).as_string());
    return r;
}

std::unique_ptr<Optimizer> make_optimizer(const Settings& s, const std::vector<Tensor>& parameters) {
    if (s.optimizer == "sgd") return std::make_unique<SGD>(parameters, s.learning_rate);
    if (s.optimizer == "momentum") return std::make_unique<Momentum>(parameters, s.learning_rate, 0.9);
    if (s.optimizer == "rmsprop") return std::make_unique<RMSprop>(parameters, s.learning_rate);
    if (s.optimizer == "adamw") return std::make_unique<AdamW>(parameters, s.learning_rate);
    return std::make_unique<Adam>(parameters, s.learning_rate);
}

/// --lr-schedule, stepped once per epoch: step multiplies the rate by --lr-gamma every --lr-step
/// epochs, exponential by --lr-gamma every epoch, cosine anneals to 0 over --epochs, plateau
/// multiplies it by --lr-gamma after an epoch whose validation loss did not improve, inverse-time
/// divides the base rate by 1 + ⌊epoch / --lr-step⌋.
struct Schedule {
    std::unique_ptr<LRScheduler> scheduler;
    ReduceLROnPlateau* plateau = nullptr;

    Schedule(const Settings& s, Optimizer& opt) {
        const auto step = static_cast<std::int64_t>(s.lr_step);
        if (s.lr_schedule == "step") scheduler = std::make_unique<StepLR>(opt, step, s.lr_gamma);
        if (s.lr_schedule == "exponential") scheduler = std::make_unique<ExponentialLR>(opt, s.lr_gamma);
        if (s.lr_schedule == "cosine")
            scheduler = std::make_unique<CosineAnnealingLR>(opt, static_cast<std::int64_t>(s.epochs));
        if (s.lr_schedule == "inverse-time") scheduler = std::make_unique<InverseTimeDecay>(opt, 1.0, step);
        if (s.lr_schedule == "plateau") {
            auto p = std::make_unique<ReduceLROnPlateau>(
                opt, ReduceLROnPlateauOptions{.factor = s.lr_gamma, .patience = 0});
            plateau = p.get();
            scheduler = std::move(p);
        }
    }
    void end_epoch(double validation_loss) {
        if (plateau) plateau->step(validation_loss);
        else if (scheduler) scheduler->step();
    }
};

/// What a checkpoint must agree on with the command line to be continued: the data and the model.
ex::Json run_identity(const Settings& s) {
    return ex::Json::object({{"words", s.words_path}, {"words_limit", s.words_limit}, {"seq_len", s.seq_len},
                             {"seed", s.seed}, {"embedding", s.embedding}, {"hidden", s.hidden},
                             {"layers", s.layers}});
}

/// Restores a checkpoint: returns the epochs already done, fills the history and brings the
/// schedule to the next epoch: a plateau schedule by replaying the validation losses (before the
/// optimizer's state is loaded: it scales the rate it finds), a closed-form one by set_epoch after
/// (so that it gives this run's rate: cosine's horizon is this command line's --epochs).
std::size_t load_checkpoint(const ex::Checkpoint& c, Module& model, Optimizer& optimizer, Schedule& schedule,
                            std::vector<EpochResult>& history, const Settings& s) {
    const ex::Checkpoint::Index saved = c.read(run_identity(s));
    ex::Checkpoint::restore_model(model, saved);
    for (std::size_t i = 0; i < saved.history.size(); ++i) {
        history.push_back(from_json(saved.history.at(i)));
        if (schedule.plateau) schedule.plateau->step(history.back().validation_loss);
    }
    ex::Checkpoint::restore_optimizer(optimizer, saved);
    if (schedule.scheduler && !schedule.plateau)
        schedule.scheduler->set_epoch(static_cast<std::int64_t>(history.size()));
    return saved.epochs_done;
}

void plot_curves(const std::string& picture, const std::vector<EpochResult>& history, const Baselines& b) {
    std::ostringstream train, validation;
    for (std::size_t e = 0; e < history.size(); ++e) {
        const std::size_t parts = history[e].train_tenths.size();
        for (std::size_t k = 0; k < parts; ++k)
            train << ex::repr(static_cast<double>(e) + static_cast<double>(k + 1) / static_cast<double>(parts)) << " "
                  << ex::repr(history[e].train_tenths[k]) << "\n";
        validation << e + 1 << " " << ex::repr(history[e].validation_loss) << "\n";
    }
    ex::run_gnuplot(picture, ex::gnuplot_datablock("t", train.str()) + ex::gnuplot_datablock("v", validation.str()) +
                                 "set grid\nset key below horizontal\nset offsets 0, 0, graph 0.05, graph 0.05\n"
                                 "set xlabel 'epoch'\nset ylabel 'nats per character'\nset xrange [0:" +
                                 std::to_string(history.size()) + "]\nset title 'character LSTM on the word list'\n"
                                 "plot $t using 1:2 with lines lw 2 title 'train (mean over tenths of an epoch)', "
                                 "$v using 1:2 with linespoints lw 2 pt 7 title 'validation', " +
                                 ex::repr(b.unigram) + " with lines dt 2 lw 2 title 'unigram baseline', " +
                                 ex::repr(b.bigram) + " with lines dt 3 lw 2 title 'bigram baseline'\n",
                    900, 550);
}

}  // namespace

int main(int argc, char** argv) {
    Settings s;
    ex::CommandLine app("char_rnn",
                        "Trains a character-level LSTM language model on a word list (Debian's wamerican).");
    app.option("--hidden", s.hidden, "LSTM hidden units").range(1, 1e5).show_default();
    app.option("--layers", s.layers, "Stacked LSTM layers").range(1, 16).show_default();
    app.option("--embedding", s.embedding, "Embedding size of a character").range(1, 1e5).show_default();
    app.option("--epochs", s.epochs, "Epochs to train (in all, counting those a --resume continues)")
        .range(1, 1e6).show_default();
    app.option("--seq-len", s.seq_len, "Tokens per training row (whole words packed; longer words are left out)")
        .range(3, 1e4).show_default();
    app.option("--batch-size", s.batch_size, "Rows per step").range(1, 1e6).show_default();
    app.option("--optimizer", s.optimizer, "adam, adamw, rmsprop, momentum or sgd")
        .one_of({"adam", "adamw", "rmsprop", "momentum", "sgd"}).show_default();
    app.option("--learning-rate", s.learning_rate, "Step size (of the first epoch, under a schedule)")
        .positive().show_default();
    app.option("--lr-schedule", s.lr_schedule, "none, step, exponential, cosine, plateau or inverse-time")
        .one_of({"none", "step", "exponential", "cosine", "plateau", "inverse-time"}).show_default();
    app.option("--lr-gamma", s.lr_gamma, "Factor of the step, exponential and plateau schedules")
        .range(0, 1, ex::CommandLine::Ends::open).show_default();
    app.option("--lr-step", s.lr_step, "Epochs per step of the step and inverse-time schedules")
        .range(1, 1e6).show_default();
    app.option("--clip", s.clip, "Clip the gradients' global L2 norm to this (0: no clipping)")
        .non_negative().show_default();
    app.option("--keep-prob", s.keep_prob, "Keep probability of the recurrent dropout (and between layers); 1 = off")
        .range(0, 1, ex::CommandLine::Ends::open_low).show_default();
    app.option("--scale", s.scale, "Dropout scale: constant, measured, per-example or classic")
        .one_of({"constant", "measured", "per-example", "classic"}).show_default();
    app.option("--seed", s.seed, "Seed of the word shuffle, the weights, the batches, the dropout masks, the samples")
        .show_default();
    app.option("--sample", s.sample, "Words to sample after each epoch").range(0, 1e4).show_default();
    app.option("--temperature", s.temperature, "Sampling temperature: softmax(logits / t)").positive().show_default();
    app.option("--words", s.words_path, "The word list, one word a line").show_default();
    app.option("--words-limit", s.words_limit, "Use the first N words of the shuffled list only (0: all; else >= 20)")
        .show_default();
    app.option("--threads", s.threads, "BLAS threads").range(1, 1024).show_default();
    app.option("--out", s.out, "Folder for the picture and the checkpoint (\"\": none)").show_default();
    app.option("--json", s.json, "Also write the settings and every epoch's figures to this JSON file");
    app.flag("--resume", s.resume, "Continue from the checkpoint in --out");
    app.flag("--no-plots", s.no_plots, "Do not draw the picture");
    app.parse_or_exit(argc, argv);
    try {
        ex::check_output_folder("--out", s.out, true);
        ex::check_output_file("--json", s.json);
        if (s.resume && s.out.empty()) throw ValueError("--resume needs --out (the folder holding the checkpoint)");
        if (s.words_limit > 0 && s.words_limit < 20) throw ValueError("--words-limit must be 0 (all) or at least 20");
        set_num_threads(s.threads);

        // One generator seeded with --seed shuffles the words (numpy's RandomState(seed).permutation)
        // and then draws the weights; 10% of the (limited) list is held out for validation.
        std::size_t too_long = 0;
        const std::vector<std::string> all_words = read_words(s, too_long);
        Generator gen(s.seed);
        const std::vector<std::size_t> order = gen.permutation(all_words.size());
        const std::size_t used = s.words_limit ? std::min(s.words_limit, all_words.size()) : all_words.size();
        std::vector<std::string> train_words, validation_words;
        for (std::size_t i = 0; i < used; ++i)
            (i < used / 10 ? validation_words : train_words).push_back(all_words[order[i]]);
        const std::unordered_set<std::string> in_list(all_words.begin(), all_words.end());
        const std::unordered_set<std::string> in_training(train_words.begin(), train_words.end());
        const data::TensorDataset train = pack(train_words, s.seq_len);
        const data::TensorDataset validation = pack(validation_words, s.seq_len);
        const Baselines base = baselines(train_words, validation_words);

        CharModel model(s, gen);
        auto optimizer = make_optimizer(s, model.parameters());
        Schedule schedule(s, *optimizer);
        const ex::Checkpoint checkpoint(s.out);
        std::vector<EpochResult> history;
        std::size_t start = 0;
        if (s.resume) {
            start = load_checkpoint(checkpoint, model, *optimizer, schedule, history, s);
            std::cout << "resumed after epoch " << start << " from " << checkpoint.index_path() << "\n";
        }
        data::DataLoader loader(train, {.batch_size = s.batch_size, .shuffle = true, .seed = s.seed});
        std::cout << all_words.size() << " words in " << s.words_path << " (" << too_long << " longer than "
                  << s.seq_len - 1 << " letters left out): " << train_words.size() << " to train on, "
                  << validation_words.size() << " held out; " << train.size() << " rows of " << s.seq_len
                  << " tokens, " << loader.size() << " steps per epoch\n";
        for (std::size_t epoch = start; epoch < s.epochs; ++epoch) {
            const auto started = std::chrono::steady_clock::now();
            // Dropout masks come from a stream fixed by (seed, epoch), so a resumed run draws the
            // masks an uninterrupted one would have (the LSTM's masks come from the global generator).
            global_generator().seed(data::DataLoader::epoch_seed(s.seed + 1, epoch));
            loader.set_epoch(epoch);
            model.train();
            EpochResult r;
            r.learning_rate = optimizer->learning_rate();
            double nats = 0, scored = 0, tenth_nats = 0, tenth_scored = 0;
            ex::Progress progress("epoch " + std::to_string(epoch + 1), loader.size());
            std::size_t step = 0;
            for (const data::Batch& batch : loader) {
                const auto [total, count] = scored_loss(model(batch.inputs), batch.inputs, batch.targets);
                const Tensor loss = total / count;
                optimizer->zero_grad();
                loss.backward();
                if (s.clip > 0) clip_grad_norm(model.parameters(), s.clip);
                optimizer->step();
                nats += total.item(), scored += count, tenth_nats += total.item(), tenth_scored += count;
                ++step;
                if ((step * 10) / loader.size() != ((step - 1) * 10) / loader.size()) {  // a tenth ends here
                    r.train_tenths.push_back(tenth_nats / tenth_scored);
                    tenth_nats = tenth_scored = 0;
                }
                progress.update(step);
            }
            r.train_loss = nats / scored;
            r.validation_loss = evaluate(model, validation);
            Generator sampler(data::DataLoader::epoch_seed(s.seed + 2, epoch));
            r.samples = sample_words(model, s.sample, s.temperature, sampler);
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            history.push_back(r);
            schedule.end_epoch(r.validation_loss);
            std::cout << "epoch " << epoch + 1 << ": train loss " << std::fixed << std::setprecision(4) << r.train_loss
                      << " nats/char, validation loss " << r.validation_loss << " nats/char (unigram " << base.unigram
                      << ", bigram " << base.bigram << "), " << std::setprecision(1) << r.seconds << " seconds"
                      << std::defaultfloat << std::endl;
            std::size_t novel = 0;
            for (std::size_t k = 0; k < r.samples.size(); ++k) {
                const std::string& w = r.samples[k];
                const bool trained = in_training.count(w), listed = in_list.count(w);
                novel += !listed && !w.empty();
                std::cout << (k ? ", " : "  samples: ");
                if (w.empty()) std::cout << "(an empty word)";
                else
                    std::cout << w << " ("
                              << (trained ? "training word" : listed ? "in the list, not trained on" : "novel") << ")";
            }
            if (!r.samples.empty())
                std::cout << "\n  " << novel << " of " << r.samples.size() << " samples are novel (temperature "
                          << s.temperature << ")" << std::endl;
            if (!s.out.empty()) {
                ex::Json curves = ex::Json::array();
                for (const EpochResult& done : history) curves.push_back(to_json(done));
                checkpoint.save(model, *optimizer, epoch + 1, run_identity(s), curves);
            }
        }
        if (!history.empty()) {
            const double v = history.back().validation_loss;
            std::cout << std::fixed << std::setprecision(4) << "validation loss " << v << " nats/char: "
                      << (v < base.unigram ? "below" : "not below") << " the unigram baseline (" << base.unigram
                      << "), " << (v < base.bigram ? "below" : "not below") << " the bigram baseline (" << base.bigram
                      << ")" << std::defaultfloat << "\n";
        }
        if (!s.out.empty() && !s.no_plots && !history.empty()) {
            plot_curves(s.out + "/curves.png", history, base);
            std::cout << "wrote " << s.out << "/curves.png\n";
        }
        if (!s.json.empty()) {
            ex::Json epochs = ex::Json::array();
            for (const EpochResult& r : history) epochs.push_back(to_json(r));
            ex::Json report = ex::Json::object(
                {{"run", run_identity(s)}, {"optimizer", s.optimizer}, {"learning_rate", s.learning_rate},
                 {"lr_schedule", s.lr_schedule}, {"lr_gamma", s.lr_gamma}, {"lr_step", s.lr_step},
                 {"batch_size", s.batch_size}, {"clip", s.clip}, {"keep_prob", s.keep_prob}, {"scale", s.scale},
                 {"temperature", s.temperature}, {"threads", s.threads}, {"train_words", train_words.size()},
                 {"validation_words", validation_words.size()}, {"train_rows", train.size()},
                 {"unigram_loss", base.unigram}, {"bigram_loss", base.bigram}, {"epochs", epochs}});
            write_file_atomic(s.json, report.dump());
        }
    } catch (const std::exception& e) {
        std::cerr << "char_rnn: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
