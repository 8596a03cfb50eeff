#include "hand_written.hpp"

#include <cblas.h>

#include <cmath>

#include "framework/random.hpp"

namespace xgrad::bench {

HandWrittenRegNet::HandWrittenRegNet(const std::vector<double>& X, const std::vector<double>& Y, std::size_t m)
    : m_(m), X_(X), Y_(Y) {
    Generator gen(3);
    auto init = [&](std::size_t out, std::size_t in) {
        std::vector<double> w(out * in);
        for (double& v : w) v = gen.normal() / std::sqrt(static_cast<double>(in));
        return w;
    };
    W1_ = init(20, 2), W2_ = init(3, 20), W3_ = init(1, 3);
    b1_.assign(20, 0.0), b2_.assign(3, 0.0), b3_.assign(1, 0.0);
    Z1_.resize(20 * m), A1_.resize(20 * m), Z2_.resize(3 * m), A2_.resize(3 * m), A3_.resize(m);
    D1_.resize(20 * m), D2_.resize(3 * m), dZ3_.resize(m), dA2_.resize(3 * m), dA1_.resize(20 * m);
    dW1_.resize(40), dW2_.resize(60), dW3_.resize(3);
}

double HandWrittenRegNet::step(double lr, double keep_prob, bool measured) {
    const int m = static_cast<int>(m_);
    auto uniform = [&] {  // xorshift: the floor should not pay for MT19937 either
        rng_ ^= rng_ << 13, rng_ ^= rng_ >> 7, rng_ ^= rng_ << 17;
        return static_cast<double>(rng_ >> 11) * 0x1.0p-53;
    };
    auto drop = [&](std::vector<double>& A, std::vector<double>& D) {
        if (keep_prob >= 1.0) return;
        std::size_t kept = 0;
        for (double& d : D) kept += (d = uniform() < keep_prob ? 1.0 : 0.0) != 0.0;
        const double scale = measured ? (kept ? static_cast<double>(D.size()) / static_cast<double>(kept) : 0.0)
                                      : 1.0 / keep_prob;
        for (std::size_t i = 0; i < A.size(); ++i) A[i] *= D[i] * scale;
        for (double& d : D) d *= scale;  // D now holds mask · scale, reused by backward
    };
    auto linear = [&](const std::vector<double>& W, const std::vector<double>& b, const std::vector<double>& in,
                      std::vector<double>& out, int rows, int cols) {
        for (int r = 0; r < rows; ++r)
            for (int j = 0; j < m; ++j) out[static_cast<std::size_t>(r * m + j)] = b[static_cast<std::size_t>(r)];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, cols, 1.0, W.data(), cols, in.data(), m, 1.0,
                    out.data(), m);
    };
    // Forward.
    linear(W1_, b1_, X_, Z1_, 20, 2);
    for (std::size_t i = 0; i < Z1_.size(); ++i) A1_[i] = Z1_[i] > 0 ? Z1_[i] : 0.0;
    drop(A1_, D1_);
    linear(W2_, b2_, A1_, Z2_, 3, 20);
    for (std::size_t i = 0; i < Z2_.size(); ++i) A2_[i] = Z2_[i] > 0 ? Z2_[i] : 0.0;
    drop(A2_, D2_);
    std::vector<double>& Z3 = dZ3_;
    linear(W3_, b3_, A2_, Z3, 1, 3);
    double cost = 0;
    for (int j = 0; j < m; ++j) {
        const double a = 1.0 / (1.0 + std::exp(-Z3[static_cast<std::size_t>(j)]));
        A3_[static_cast<std::size_t>(j)] = a;
        const double y = Y_[static_cast<std::size_t>(j)];
        cost -= y * std::log(a) + (1 - y) * std::log(1 - a);
    }
    cost /= m;
    // Backward.
    for (int j = 0; j < m; ++j) dZ3_[static_cast<std::size_t>(j)] = (A3_[static_cast<std::size_t>(j)] - Y_[static_cast<std::size_t>(j)]) / m;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, 3, m, 1.0, dZ3_.data(), m, A2_.data(), m, 0.0, dW3_.data(), 3);
    double db3 = 0;
    for (double g : dZ3_) db3 += g;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 3, m, 1, 1.0, W3_.data(), 3, dZ3_.data(), m, 0.0, dA2_.data(), m);
    for (std::size_t i = 0; i < dA2_.size(); ++i) dA2_[i] *= (Z2_[i] > 0 ? 1.0 : 0.0) * (keep_prob < 1 ? D2_[i] : 1.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 3, 20, m, 1.0, dA2_.data(), m, A1_.data(), m, 0.0, dW2_.data(), 20);
    double db2[3] = {0, 0, 0};
    for (int r = 0; r < 3; ++r)
        for (int j = 0; j < m; ++j) db2[r] += dA2_[static_cast<std::size_t>(r * m + j)];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 20, m, 3, 1.0, W2_.data(), 20, dA2_.data(), m, 0.0, dA1_.data(), m);
    for (std::size_t i = 0; i < dA1_.size(); ++i) dA1_[i] *= (Z1_[i] > 0 ? 1.0 : 0.0) * (keep_prob < 1 ? D1_[i] : 1.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 20, 2, m, 1.0, dA1_.data(), m, X_.data(), m, 0.0, dW1_.data(), 2);
    double db1[20] = {};
    for (int r = 0; r < 20; ++r)
        for (int j = 0; j < m; ++j) db1[r] += dA1_[static_cast<std::size_t>(r * m + j)];
    // Update.
    for (std::size_t i = 0; i < 40; ++i) W1_[i] -= lr * dW1_[i];
    for (std::size_t i = 0; i < 60; ++i) W2_[i] -= lr * dW2_[i];
    for (std::size_t i = 0; i < 3; ++i) W3_[i] -= lr * dW3_[i];
    for (std::size_t i = 0; i < 20; ++i) b1_[i] -= lr * db1[i];
    for (std::size_t i = 0; i < 3; ++i) b2_[i] -= lr * db2[i];
    b3_[0] -= lr * db3;
    return cost;
}

}  // namespace xgrad::bench
