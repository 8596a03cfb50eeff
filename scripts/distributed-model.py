#!/usr/bin/python3
"""distributed-model.py FASHION_MNIST [--measure] [--write docs/distributed.md]

Produces the figures of docs/distributed.md, none typed by hand:
  - the gradient bytes each process sends into the allreduce per step, for the CNN and the MLP, as
    `fashion_mnist --distributed` prints them (one process, MPI's singleton mode);
  - the compute time per example of one process with one BLAS thread, measured here on a short run;
  - an alpha-beta model of ring allreduce, 2(p-1)/p · n/B + 2(p-1)·k·α for n bytes in k buckets,
    predicting the scaling efficiency at 8, 64 and 512 processes on 10 and 100 Gb/s links, and the
    per-process batch from which communication hides behind backward;
  - with --measure, the throughput of 1 process against 2 under mpirun on this machine (each
    configuration --rounds times, interleaved; the median and the range).
With --write, the generated tables replace what stands between the <!-- distributed:NAME --> and
<!-- /distributed:NAME --> markers of the given file; otherwise they are printed.
"""
import argparse
import json
import os
import re
import subprocess
import tempfile

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
# The links of the model: bandwidth in bytes/s and a per-message latency α (TCP over 10 GbE;
# RDMA over 100 Gb/s InfiniBand or RoCE). Assumptions, stated in the page beside the results.
LINKS = [("10 Gb/s Ethernet (TCP)", 10e9 / 8, 15e-6), ("100 Gb/s InfiniBand (RDMA)", 100e9 / 8, 2e-6)]
RANKS = [2, 8, 64, 512]
BATCH = 64            # examples per process per step in the model's table (weak scaling)
BACKWARD_SHARE = 2 / 3  # backward ≈ 2 × forward: the part of a step that communication can hide behind


def run(command):
    p = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if p.returncode:
        raise SystemExit(f"distributed-model: {' '.join(command)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


def gradient_bytes(program, model):
    out = run([program, "--model", model, "--distributed", "--epochs", "1", "--train-limit", "64", "--test-limit",
               "10", "--out", "", "--no-plots", "--threads", "1"])
    m = re.search(r"(\d+) parameters, (\d+) bytes of gradient allreduced per step in (\d+) buckets", out)
    if not m:
        raise SystemExit(f"distributed-model: no parameter line in the output of fashion_mnist --model {model}:\n{out}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def epoch_seconds(command, examples):
    """Examples per second of the training epoch of a fashion_mnist run (its --json report)."""
    with tempfile.TemporaryDirectory() as folder:
        report = os.path.join(folder, "r.json")
        run(command + ["--json", report])
        with open(report) as f:
            seconds = json.load(f)["epochs"][0]["seconds"]
    return seconds, examples / seconds


def fashion(program, model, examples, *extra):
    return [program, "--model", model, "--epochs", "1", "--train-limit", str(examples), "--test-limit", "100",
            "--out", "", "--no-plots", "--keep-prob", "1", *extra]


def allreduce_seconds(p, n, buckets, bandwidth, alpha):
    return 2 * (p - 1) / p * n / bandwidth + 2 * (p - 1) * buckets * alpha


def model_tables(program, examples):
    lines = ["| model | parameters | gradient bytes per step | buckets (1 MB) | compute per example, 1 thread |",
             "|---|---|---|---|---|"]
    rows = {}
    for model in ("cnn", "mlp"):
        count, nbytes, buckets = gradient_bytes(program, model)
        seconds, _ = epoch_seconds(fashion(program, model, examples, "--threads", "1", "--batch-size", str(BATCH)),
                                   examples)
        per_example = seconds / examples
        rows[model] = (nbytes, buckets, per_example)
        lines.append(f"| {model} | {count:,} | {nbytes:,} ({nbytes / 2**20:.2f} MiB) | {buckets} | "
                     f"{per_example * 1e3:.3f} ms |")
    sizes = "\n".join(lines)

    lines = ["| model | link | p | allreduce per step | compute per step (batch 64) | efficiency, no overlap | "
             "efficiency, overlapped with backward | batch per process that hides it |",
             "|---|---|---|---|---|---|---|---|"]
    for model, (nbytes, buckets, per_example) in rows.items():
        compute = BATCH * per_example
        for link, bandwidth, alpha in LINKS:
            for p in RANKS:
                comm = allreduce_seconds(p, nbytes, buckets, bandwidth, alpha)
                exposed = max(0.0, comm - BACKWARD_SHARE * compute)
                hide = comm / (BACKWARD_SHARE * per_example)
                lines.append(f"| {model} | {link} | {p} | {comm * 1e3:.2f} ms | {compute * 1e3:.1f} ms | "
                             f"{compute / (compute + comm):.1%} | {compute / (compute + exposed):.1%} | "
                             f"{max(1, round(hide + 0.5))} |")
    return sizes, "\n".join(lines)


def throughput_table(program, examples, rounds):
    """Each configuration `rounds` times, the configurations interleaved round by round, so a burst of
    load from elsewhere on the machine hits them alike; the median and the range of examples/s."""
    lines = [f"| model | run | examples/s, median of {rounds} | min – max |", "|---|---|---|---|"]
    for model in ("mlp", "cnn"):
        two = MPIRUN + ["-np", "2"]
        distributed = ["--threads", "1", "--distributed", "--batch-size", "32"]
        runs = [("1 process, 1 BLAS thread, batch 64", fashion(program, model, examples, "--threads", "1")),
                ("1 process, 2 BLAS threads, batch 64", fashion(program, model, examples, "--threads", "2")),
                ("2 processes (mpirun -np 2), 1 thread each, batch 32 each",
                 two + fashion(program, model, examples, *distributed)),
                ("the same, waiting processes yield the core (--mca mpi_yield_when_idle 1)",
                 two + ["--mca", "mpi_yield_when_idle", "1"] + fashion(program, model, examples, *distributed)),
                ("the same, blocking allreduce after backward (--no-overlap)",
                 two + ["--mca", "mpi_yield_when_idle", "1"] +
                 fashion(program, model, examples, *distributed, "--no-overlap"))]
        rates = {name: [] for name, _ in runs}
        for _ in range(rounds):
            for name, command in runs:
                rates[name].append(epoch_seconds(command, examples)[1])
        for name, _ in runs:
            r = sorted(rates[name])
            lines.append(f"| {model} | {name} | {r[len(r) // 2]:.0f} | {r[0]:.0f} – {r[-1]:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("program", help="build-mpi/examples/fashion_mnist")
    parser.add_argument("--measure", action="store_true", help="also time 1 process against 2 on this machine")
    parser.add_argument("--examples", type=int, default=4096, help="training examples per timed epoch")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration in --measure")
    parser.add_argument("--write", help="the page whose marked sections are replaced")
    args = parser.parse_args()
    sections = {}
    sections["sizes"], sections["model"] = model_tables(args.program, args.examples)
    if args.measure:
        sections["throughput"] = throughput_table(args.program, args.examples, args.rounds)
    if not args.write:
        for name, text in sections.items():
            print(f"## {name}\n{text}\n")
        return
    with open(args.write) as f:
        page = f.read()
    for name, text in sections.items():
        begin, end = f"<!-- distributed:{name} -->", f"<!-- /distributed:{name} -->"
        if begin not in page or end not in page:
            raise SystemExit(f"distributed-model: {args.write} has no {begin} ... {end} section")
        page = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: f"{begin}\n{text}\n{end}", page,
                      flags=re.S)
    with open(args.write + ".tmp", "w") as f:
        f.write(page)
    os.replace(args.write + ".tmp", args.write)


if __name__ == "__main__":
    main()
