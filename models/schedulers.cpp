#include "models/schedulers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "framework/errors.hpp"

namespace xgrad {

namespace {

void check_positive(const char* who, const char* what, double value) {
    if (!(value > 0.0) || !std::isfinite(value))
        throw ValueError(std::string(who) + ": " + what + " = " + format_exact(value) +
                         " must be finite and > 0");
}

void check_at_least(const char* who, const char* what, std::int64_t value, std::int64_t least) {
    if (value < least)
        throw ValueError(std::string(who) + ": " + what + " = " + std::to_string(value) +
                         " must be >= " + std::to_string(least));
}

}  // namespace

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer, const char* name)
    : optimizer_(optimizer), name_(name), base_lr_(optimizer.learning_rate()), last_lr_(base_lr_) {}

std::int64_t LRScheduler::next_epoch() const {
    if (epoch_ == std::numeric_limits<std::int64_t>::max())
        throw ValueError(std::string(name_) + ": step() past epoch " + std::to_string(epoch_) + ", the last one");
    return epoch_ + 1;
}

void LRScheduler::step() { set_epoch(next_epoch()); }

void LRScheduler::set_epoch(std::int64_t epoch) {
    check_at_least(name_, "epoch", epoch, 0);
    set_lr(lr_at(epoch));
    epoch_ = epoch;
}

void LRScheduler::set_lr(double lr) {
    optimizer_.set_learning_rate(lr);
    last_lr_ = lr;
}

// ---- the closed-form schedules ----

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
    check_at_least(name_, "step_size", step_size, 1);
    check_positive(name_, "gamma", gamma);
}

double StepLR::lr_at(std::int64_t epoch) const {
    return base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma)
    : LRScheduler(optimizer, "ExponentialLR"), gamma_(gamma) {
    check_positive(name_, "gamma", gamma);
}

double ExponentialLR::lr_at(std::int64_t epoch) const {
    return base_lr_ * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
    check_at_least(name_, "T_max", T_max, 1);
    if (!(eta_min >= 0.0) || !std::isfinite(eta_min))
        throw ValueError(std::string(name_) + ": eta_min = " + format_exact(eta_min) +
                         " must be finite and >= 0");
}

double CosineAnnealingLR::lr_at(std::int64_t epoch) const {
    const double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(T_max_);
    return eta_min_ + (base_lr_ - eta_min_) * (1 + std::cos(phase)) / 2;
}

InverseTimeDecay::InverseTimeDecay(Optimizer& optimizer, double decay_rate, std::int64_t time_interval)
    : LRScheduler(optimizer, "InverseTimeDecay"), decay_rate_(decay_rate), time_interval_(time_interval) {
    if (!(decay_rate >= 0.0) || !std::isfinite(decay_rate))
        throw ValueError(std::string(name_) + ": decay_rate = " + format_exact(decay_rate) +
                         " must be finite and >= 0");
    check_at_least(name_, "time_interval", time_interval, 1);
}

double InverseTimeDecay::lr_at(std::int64_t epoch) const {
    return base_lr_ / (1 + decay_rate_ * static_cast<double>(epoch / time_interval_));
}

// ---- ReduceLROnPlateau ----

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : LRScheduler(optimizer, "ReduceLROnPlateau"), options_(options) {
    if (!(options.factor > 0.0 && options.factor < 1.0))
        throw ValueError(std::string(name_) + ": factor = " + format_exact(options.factor) +
                         " is outside (0, 1)");
    check_at_least(name_, "patience", options.patience, 0);
    check_at_least(name_, "cooldown", options.cooldown, 0);
    for (const auto& [what, value] : {std::pair{"threshold", options.threshold},
                                      std::pair{"min_lr", options.min_lr}, std::pair{"eps", options.eps}})
        if (!(value >= 0.0) || !std::isfinite(value))
            throw ValueError(std::string(name_) + ": " + what + " = " + format_exact(value) +
                             " must be finite and >= 0");
    const bool min = options.mode == ReduceLROnPlateauOptions::Mode::min;
    best_ = min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::improves(double metric) const {
    if (options_.mode == ReduceLROnPlateauOptions::Mode::min)
        return metric < best_ * (1 - options_.threshold);
    return metric > best_ * (1 + options_.threshold);
}

void ReduceLROnPlateau::step(double metric) {
    if (std::isnan(metric))
        throw ValueError(std::string(name_) + ": the metric at epoch " + std::to_string(epoch_ + 1) +
                         " is NaN");
    epoch_ = next_epoch();
    if (improves(metric)) {
        best_ = metric;
        bad_epochs_ = 0;
    } else {
        ++bad_epochs_;
    }
    if (cooldown_left_ > 0) {  // the epochs right after a reduction are not held against the new rate
        --cooldown_left_;
        bad_epochs_ = 0;
    }
    if (bad_epochs_ > options_.patience) {
        const double old_lr = optimizer_.learning_rate();
        const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
        if (old_lr - new_lr > options_.eps) optimizer_.set_learning_rate(new_lr);
        cooldown_left_ = options_.cooldown;
        bad_epochs_ = 0;
    }
    last_lr_ = optimizer_.learning_rate();
}

void ReduceLROnPlateau::step() {
    throw ValueError(std::string(name_) + ": step() needs the metric it watches; call step(metric)");
}

void ReduceLROnPlateau::set_epoch(std::int64_t epoch) {
    check_at_least(name_, "epoch", epoch, 0);
    epoch_ = epoch;
}

}  // namespace xgrad
