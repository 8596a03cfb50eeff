#include "distributed/distributed.hpp"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>

namespace xgrad::distributed {

namespace {

// xgrad's own communicator (a duplicate of MPI_COMM_WORLD): its errors return codes, which become
// DistributedError, instead of killing the job with MPI's default handler and no xgrad message.
MPI_Comm g_comm = MPI_COMM_NULL;
bool g_alive = false;
std::terminate_handler g_previous_terminate = nullptr;

void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw DistributedError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

MPI_Comm comm(const char* who) {
    if (!g_alive)
        throw DistributedError(std::string(who) +
                               ": MPI is not running; create an xgrad::distributed::Environment first");
    return g_comm;
}

MPI_Datatype mpi_type(DType dtype) {
    switch (dtype) {
        case DType::f32: return MPI_FLOAT;
        case DType::f64: return MPI_DOUBLE;
        case DType::i64: return MPI_INT64_T;
    }
    throw DTypeError("xgrad::distributed: no MPI type for dtype " + std::string(dtype_name(dtype)));
}

/// The array's buffer, typed as its dtype (any of the three).
void* raw(Array& a) {
    return detail::dispatch_any(a.dtype(), [&](auto tag) -> void* { return a.data<decltype(tag)>(); });
}

int as_int(std::size_t n, const char* who) {
    if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw ValueError(std::string(who) + ": " + std::to_string(n) +
                         " elements in one MPI call (MPI counts are int: at most 2^31 - 1)");
    return static_cast<int>(n);
}

void on_terminate() {
    std::string what = "std::terminate was called";
    if (std::exception_ptr error = std::current_exception()) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
            what = "an exception that is not a std::exception";
        }
    }
    abort_job(what);
}

}  // namespace

// ---- the environment ----

Environment::Environment() { start(nullptr, nullptr); }
Environment::Environment(int& argc, char**& argv) { start(&argc, &argv); }

void Environment::start(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized || g_alive)
        throw ValueError("xgrad::distributed::Environment: MPI is already initialised; make one Environment per "
                         "program");
    int provided = MPI_THREAD_SINGLE;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw DistributedError("xgrad::distributed::Environment: the MPI library gives thread level " +
                               std::to_string(provided) + ", at least MPI_THREAD_FUNNELED is needed");
    }
    check(MPI_Comm_dup(MPI_COMM_WORLD, &g_comm), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(g_comm, MPI_ERRORS_RETURN);
    g_alive = true;
    unwinding_at_start_ = std::uncaught_exceptions();
    g_previous_terminate = std::set_terminate(on_terminate);
}

Environment::~Environment() {
    // An exception on its way out of this scope: the other processes may be waiting for this one in
    // a collective, and MPI_Finalize would wait for them. End them all.
    if (std::uncaught_exceptions() > unwinding_at_start_)
        abort_job("an exception is leaving the scope of xgrad::distributed::Environment (catch it and call "
                  "abort_job(e.what()) to see its message here)");
    std::set_terminate(g_previous_terminate);
    g_alive = false;
    MPI_Comm_free(&g_comm);
    MPI_Finalize();
}

std::size_t Environment::rank() const { return distributed::rank(); }
std::size_t Environment::world_size() const { return distributed::world_size(); }

std::string Environment::host() const {
    char name[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    check(MPI_Get_processor_name(name, &length), "MPI_Get_processor_name");
    return std::string(name, static_cast<std::size_t>(length));
}

bool initialized() { return g_alive; }

std::size_t rank() {
    int r = 0;
    check(MPI_Comm_rank(comm("rank"), &r), "MPI_Comm_rank");
    return static_cast<std::size_t>(r);
}

std::size_t world_size() {
    int p = 0;
    check(MPI_Comm_size(comm("world_size"), &p), "MPI_Comm_size");
    return static_cast<std::size_t>(p);
}

void abort_job(const std::string& message, int exit_code) {
    if (g_alive) {
        int r = 0, p = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
        MPI_Comm_size(MPI_COMM_WORLD, &p);
        std::fprintf(stderr, "xgrad rank %d of %d: %s\n", r, p, message.c_str());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, exit_code);
    } else {
        std::fprintf(stderr, "xgrad: %s\n", message.c_str());
        std::fflush(stderr);
    }
    std::_Exit(exit_code);
}

void barrier() { check(MPI_Barrier(comm("barrier")), "MPI_Barrier"); }

// ---- collectives ----

void allreduce_sum(Array& values) {
    MPI_Comm c = comm("allreduce_sum");
    if (!values.defined()) throw ValueError("allreduce_sum: the array is undefined");
    check(MPI_Allreduce(MPI_IN_PLACE, raw(values), as_int(values.size(), "allreduce_sum"), mpi_type(values.dtype()),
                        MPI_SUM, c),
          "MPI_Allreduce");
}

void allreduce_sum(std::vector<double>& values) {
    MPI_Comm c = comm("allreduce_sum");
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_int(values.size(), "allreduce_sum"), MPI_DOUBLE, MPI_SUM, c),
          "MPI_Allreduce");
}

void broadcast(Array& values, std::size_t root) {
    MPI_Comm c = comm("broadcast");
    if (!values.defined()) throw ValueError("broadcast: the array is undefined");
    check(MPI_Bcast(raw(values), as_int(values.size(), "broadcast"), mpi_type(values.dtype()), static_cast<int>(root), c),
          "MPI_Bcast");
}

namespace {
/// name dtype shape, one line per tensor: what two processes' modules must agree on.
std::string describe_state(const std::vector<std::pair<std::string, Tensor>>& state) {
    std::string text;
    for (const auto& [name, tensor] : state)
        text += name + " " + dtype_name(tensor.dtype()) + " " + shape_str(tensor.shape()) + "\n";
    return text;
}
}  // namespace

void broadcast_parameters(Module& module, std::size_t root) {
    MPI_Comm c = comm("broadcast_parameters");
    const std::size_t p = world_size();
    if (root >= p)
        throw ValueError("broadcast_parameters: root = " + std::to_string(root) + " with " + std::to_string(p) +
                         " processes");
    const int r = static_cast<int>(root);
    const auto state = module.named_state();
    // Root's description first, so a mismatch is reported (on every process, none left waiting)
    // instead of broadcasting bytes into tensors of another shape.
    std::string text = describe_state(state);
    unsigned long long length = text.size();
    check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, r, c), "MPI_Bcast");
    std::string roots(length, '\0');
    if (rank() == root) roots = text;
    check(MPI_Bcast(roots.data(), as_int(roots.size(), "broadcast_parameters"), MPI_CHAR, r, c), "MPI_Bcast");
    int same = roots == text ? 1 : 0;
    check(MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, c), "MPI_Allreduce");
    if (!same) {
        if (roots != text)
            throw ValueError("broadcast_parameters: process " + std::to_string(rank()) +
                             "'s module differs from root " + std::to_string(root) + "'s.\nroot's:\n" + roots +
                             "this process's:\n" + text);
        throw ValueError("broadcast_parameters: another process's module differs from root " +
                         std::to_string(root) + "'s (that process names the difference)");
    }
    for (const auto& [name, tensor] : state) {
        Tensor t = tensor;
        Array& value = t.mutable_value();
        check(MPI_Bcast(raw(value), as_int(value.size(), name.c_str()), mpi_type(value.dtype()), r, c), "MPI_Bcast");
    }
}

std::function<void(std::size_t& kept, std::size_t& units)> global_dropout_counts() {
    comm("global_dropout_counts");  // fail at set-up, not in the middle of a forward pass
    return [](std::size_t& kept, std::size_t& units) {
        unsigned long long counts[2] = {kept, units};
        check(MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm("dropout counts")),
              "MPI_Allreduce (dropout counts)");
        kept = static_cast<std::size_t>(counts[0]);
        units = static_cast<std::size_t>(counts[1]);
    };
}

Generator rank_generator(std::uint64_t seed) { return Generator::philox(seed, rank()); }

// ---- DistributedDataParallel ----

struct DistributedDataParallel::State {
    struct Slot {
        std::string name;
        Tensor parameter;
        std::size_t bucket = 0, offset = 0;  // offset in elements within the bucket
        bool ready = false;                  // its gradient of this backward is in the bucket
    };
    struct Bucket {
        DType dtype = DType::f32;
        std::size_t elements = 0;
        std::vector<std::uint64_t> storage;  // 8-byte aligned, for float or double
        std::vector<std::size_t> slots;
        std::size_t pending = 0;  // slots not yet ready
        void* data() { return storage.data(); }
    };

    MPI_Comm comm = MPI_COMM_NULL;
    std::size_t world = 1;
    bool overlap = true;
    std::vector<Slot> slots;
    std::vector<Bucket> buckets;
    std::vector<MPI_Request> requests;  // one per bucket; MPI_REQUEST_NULL when none is open
    std::size_t next_to_start = 0;            // buckets start in order: those before it have started
    std::size_t last_started_in_backward = 0;  // next_to_start when the last synchronize() began

    static void copy_into(Bucket& b, const Slot& s, const Array& grad) {
        const Array& value = s.parameter.value();
        if (grad.dtype() != value.dtype() || grad.size() != value.size())
            throw GraphError("DistributedDataParallel: the gradient of '" + s.name + "' is " +
                             dtype_name(grad.dtype()) + " " + shape_str(grad.shape()) + ", its parameter " +
                             dtype_name(value.dtype()) + " " + shape_str(value.shape()));
        const std::size_t bytes = element_size(b.dtype);
        const void* values = detail::dispatch(b.dtype, [&](auto tag) -> const void* { return grad.data<decltype(tag)>(); });
        std::memcpy(static_cast<char*>(b.data()) + s.offset * bytes, values, grad.size() * bytes);
    }

    void start(std::size_t k) {
        Bucket& b = buckets[k];
        if (!overlap) {
            check(MPI_Allreduce(MPI_IN_PLACE, b.data(), as_int(b.elements, "DistributedDataParallel bucket"),
                                mpi_type(b.dtype), MPI_SUM, comm),
                  "MPI_Allreduce");
            return;
        }
        check(MPI_Iallreduce(MPI_IN_PLACE, b.data(), as_int(b.elements, "DistributedDataParallel bucket"),
                             mpi_type(b.dtype), MPI_SUM, comm, &requests[k]),
              "MPI_Iallreduce");
    }

    /// The gradient-ready hook's work: the gradient into its bucket, then every bucket that is full
    /// and next in line started. Buckets start in one order on every process, as MPI requires of
    /// collectives, whatever order this process's backward finished them in.
    void on_ready(std::size_t j, const Array& grad) {
        Slot& s = slots[j];
        Bucket& b = buckets[s.bucket];
        if (s.bucket < next_to_start)
            throw GraphError("DistributedDataParallel: a second gradient for '" + s.name +
                             "' before synchronize() (its bucket is already being averaged); call synchronize() "
                             "after every backward");
        copy_into(b, s, grad);
        if (!s.ready) {
            s.ready = true;
            --b.pending;
        }
        if (!overlap) return;  // synchronize() reduces every bucket
        while (next_to_start < buckets.size() && buckets[next_to_start].pending == 0) start(next_to_start++);
        // Open MPI has no progress thread: a test now and then moves the started reductions on.
        int done = 0;
        check(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE),
              "MPI_Testall");
    }

    void synchronize() {
        last_started_in_backward = next_to_start;
        for (; next_to_start < buckets.size(); ++next_to_start) {
            Bucket& b = buckets[next_to_start];
            for (std::size_t j : b.slots) {
                Slot& s = slots[j];
                if (s.ready) continue;
                // Not reached by this backward: its gradient as it stands (from an earlier pass), or
                // zeros, so every process contributes to every bucket.
                const Array& grad = s.parameter.grad();
                if (grad.defined())
                    copy_into(b, s, grad);
                else
                    std::memset(static_cast<char*>(b.data()) + s.offset * element_size(b.dtype), 0,
                                s.parameter.size() * element_size(b.dtype));
                s.ready = true;
            }
            b.pending = 0;
            start(next_to_start);
        }
        check(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
        for (Slot& s : slots) {
            Bucket& b = buckets[s.bucket];
            Array& grad = s.parameter.mutable_grad();
            if (!grad.defined() || grad.shape() != s.parameter.shape() || grad.dtype() != b.dtype)
                grad = Array::zeros(s.parameter.shape(), b.dtype);
            detail::dispatch(b.dtype, [&](auto tag) {
                using T = decltype(tag);
                T* out = grad.data<T>();
                const T* sum = static_cast<const T*>(b.data()) + s.offset;
                const T n = static_cast<T>(world);
                for (std::size_t i = 0; i < s.parameter.size(); ++i) out[i] = sum[i] / n;
            });
            s.ready = false;
        }
        for (Bucket& b : buckets) b.pending = b.slots.size();
        next_to_start = 0;
    }
};

DistributedDataParallel::DistributedDataParallel(Module& module, DdpOptions options)
    : state_(std::make_shared<State>()) {
    State& st = *state_;
    st.comm = comm("DistributedDataParallel");
    st.world = world_size();
    st.overlap = options.overlap;
    if (options.broadcast) broadcast_parameters(module);
    const auto named = module.named_parameters();
    // Reverse registration order: backward reaches the last layers first, so their bucket fills
    // first and goes out while the first layers' gradients are still being computed.
    for (std::size_t k = named.size(); k-- > 0;) {
        const auto& [name, parameter] = named[k];
        if (!parameter.requires_grad()) continue;
        const DType dtype = parameter.dtype();
        if (dtype != DType::f32 && dtype != DType::f64)
            throw DTypeError("DistributedDataParallel: parameter '" + name + "' is " + dtype_name(dtype) +
                             "; gradients are averaged in float32 or float64");
        const std::size_t bytes = parameter.size() * element_size(dtype);
        if (st.buckets.empty() || st.buckets.back().dtype != dtype ||
            st.buckets.back().elements * element_size(dtype) + bytes > options.bucket_bytes) {
            st.buckets.emplace_back();
            st.buckets.back().dtype = dtype;
        }
        State::Bucket& b = st.buckets.back();
        st.slots.push_back(State::Slot{name, parameter, st.buckets.size() - 1, b.elements, false});
        b.slots.push_back(st.slots.size() - 1);
        b.elements += parameter.size();
    }
    for (State::Bucket& b : st.buckets) {
        b.storage.assign((b.elements * element_size(b.dtype) + 7) / 8, 0);
        b.pending = b.slots.size();
    }
    st.requests.assign(st.buckets.size(), MPI_REQUEST_NULL);
    const std::weak_ptr<State> weak = state_;
    for (std::size_t j = 0; j < st.slots.size(); ++j)
        st.slots[j].parameter.register_grad_ready_hook([weak, j](Array& grad) {
            if (const auto s = weak.lock()) s->on_ready(j, grad);
        });
}

DistributedDataParallel::~DistributedDataParallel() = default;

void DistributedDataParallel::synchronize() { state_->synchronize(); }

std::vector<std::size_t> DistributedDataParallel::bucket_bytes() const {
    std::vector<std::size_t> sizes;
    for (const State::Bucket& b : state_->buckets) sizes.push_back(b.elements * element_size(b.dtype));
    return sizes;
}

std::size_t DistributedDataParallel::bytes_per_step() const {
    std::size_t total = 0;
    for (const State::Bucket& b : state_->buckets) total += b.elements * element_size(b.dtype);
    return total;
}

std::size_t DistributedDataParallel::buckets_started_in_backward() const { return state_->last_started_in_backward; }

}  // namespace xgrad::distributed
