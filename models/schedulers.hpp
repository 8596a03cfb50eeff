#pragma once
// Learning-rate schedules, stepped once per epoch as PyTorch's torch.optim.lr_scheduler: epoch 0
// runs at the optimizer's learning rate as found at construction (the base), and each step() ends
// an epoch and sets the rate of the next one through the optimizer's validated setter. Schedules
// that are a function of the epoch are computed in closed form, so set_epoch(e) resumes one exactly.

#include <cstdint>

#include "models/optim.hpp"

namespace xgrad {

class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    /// Ends an epoch: epoch() goes up by one and the optimizer gets that epoch's learning rate.
    virtual void step();
    /// Resumes at epoch e (>= 0): sets the learning rate the schedule gives epoch e.
    virtual void set_epoch(std::int64_t epoch);
    std::int64_t epoch() const { return epoch_; }
    /// The learning rate this scheduler last set (the base one before any step).
    double last_lr() const { return last_lr_; }
    double base_lr() const { return base_lr_; }
    Optimizer& optimizer() const { return optimizer_; }

protected:
    /// Binds to the optimizer (which must outlive the scheduler) and reads its learning rate.
    LRScheduler(Optimizer& optimizer, const char* name);
    /// The closed-form learning rate of epoch e.
    virtual double lr_at(std::int64_t epoch) const = 0;
    void set_lr(double lr);
    /// epoch_ + 1; ValueError at the last epoch rather than a signed overflow.
    std::int64_t next_epoch() const;

    Optimizer& optimizer_;
    const char* name_;
    double base_lr_, last_lr_;
    std::int64_t epoch_ = 0;
};

/// lr = base · gamma^⌊epoch / step_size⌋
class StepLR : public LRScheduler {
public:
    StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

protected:
    double lr_at(std::int64_t epoch) const override;

private:
    std::int64_t step_size_;
    double gamma_;
};

/// lr = base · gamma^epoch
class ExponentialLR : public LRScheduler {
public:
    ExponentialLR(Optimizer& optimizer, double gamma);

protected:
    double lr_at(std::int64_t epoch) const override;

private:
    double gamma_;
};

/// PyTorch's closed form: lr = eta_min + (base - eta_min) · (1 + cos(π · epoch / T_max)) / 2. It
/// reaches eta_min at epoch T_max and, continued, rises again (a period of 2·T_max).
class CosineAnnealingLR : public LRScheduler {
public:
    CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0);

protected:
    double lr_at(std::int64_t epoch) const override;

private:
    std::int64_t T_max_;
    double eta_min_;
};

/// The optimization course's schedule_lr_decay: lr = base / (1 + decay_rate · ⌊epoch / time_interval⌋).
class InverseTimeDecay : public LRScheduler {
public:
    InverseTimeDecay(Optimizer& optimizer, double decay_rate, std::int64_t time_interval);

protected:
    double lr_at(std::int64_t epoch) const override;

private:
    double decay_rate_;
    std::int64_t time_interval_;
};

struct ReduceLROnPlateauOptions {
    enum class Mode { min, max };
    Mode mode = Mode::min;       ///< min: the metric should fall (a loss); max: rise (an accuracy)
    double factor = 0.1;         ///< lr = lr · factor on a plateau, in (0, 1)
    std::int64_t patience = 10;  ///< epochs without improvement tolerated before reducing
    double threshold = 1e-4;     ///< relative: better means below best · (1 - threshold) (min mode)
    std::int64_t cooldown = 0;   ///< epochs after a reduction during which bad epochs are not counted
    double min_lr = 0.0;         ///< the learning rate never goes below it
    double eps = 1e-8;           ///< a reduction smaller than this is not applied (PyTorch's eps)
};

/// PyTorch's ReduceLROnPlateau (relative threshold): step(metric) once per epoch; after more than
/// `patience` epochs without improvement it multiplies the optimizer's current learning rate by
/// `factor` (not below min_lr) and waits `cooldown` epochs before counting again.
class ReduceLROnPlateau : public LRScheduler {
public:
    explicit ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options = {});
    /// Ends an epoch whose watched metric was `metric` (ValueError if it is NaN).
    void step(double metric);
    /// Sets the epoch counter only: the rate follows the metrics, not the epoch.
    void set_epoch(std::int64_t epoch) override;
    double best() const { return best_; }
    std::int64_t bad_epochs() const { return bad_epochs_; }

private:
    /// Without a metric there is nothing to decide: ValueError (step() on a ReduceLROnPlateau
    /// itself does not compile; this catches the call through an LRScheduler&).
    void step() override;
    double lr_at(std::int64_t) const override { return last_lr_; }
    bool improves(double metric) const;

    ReduceLROnPlateauOptions options_;
    double best_;
    std::int64_t bad_epochs_ = 0, cooldown_left_ = 0;
};

}  // namespace xgrad
