#!/usr/bin/env python3
"""The cost model of data-parallel training over N ranks (docs/distributed.md, issue 21).

A step of one rank with b samples costs

    T(N, b) = T_c(b)                                compute: typenet-bench's measured train step
            + 2 L (ceil(log2 N) alpha + (N-1) 24 C / beta)   synchronized batch norm: per layer
                                                    one exchange of 3 doubles a channel forward and
                                                    one backward (an allgather, recursive doubling)
            + 2 ceil(log2 N) alpha                  the step's loss/accuracy sum and the stop flag
            + E                                     the gradient sum that is not hidden

with the gradient sum of S bytes as a ring all-reduce, A = 2 (N-1) alpha + 2 (N-1)/N S / beta, and
E = A without overlap (--grad-buckets 0), E = max(A - T_bwd, A_last) with it: the backward pass
(T_bwd = 2/3 of T_c, backward's share of the FLOPs) hides the rest, except the last bucket
(256 KiB) that starts when backward ends. L and C (the layers with batch statistics and their
channels) and S (4 bytes a parameter) come from typenet-bench's census of the network; alpha (the
latency of one small collective) and beta (the link's bandwidth) from the link: measured by
typenet-comm-bench, or the presets below for links this machine does not have.

  scripts/cost-model.py                              # the tables of docs/distributed.md
  scripts/cost-model.py --models resnet20 --threads 2 --json
  scripts/cost-model.py predict --bench FILE.json --ranks 2 --alpha-us 60 --gbit 1 [--base-ms X]

Runs build/bin/typenet-bench (BUILD_DIR) with --no-peak; needs no data set.
"""
import argparse
import json
import math
import os
import subprocess
import sys

# Links this machine does not have: (name, alpha in microseconds, bandwidth in Gbit/s). The
# latencies are typical MPI small-message figures, not measurements: TCP over 10 Gbit/s Ethernet
# (kernel network stack, ~25 us) and an RDMA fabric at 100 Gbit/s (InfiniBand/RoCE, ~3 us).
LINKS = [("10 Gbit/s Ethernet (TCP, alpha 25 us)", 25.0, 10.0),
         ("100 Gbit/s RDMA (alpha 3 us)", 3.0, 100.0)]
BUCKET_BYTES = 256 * 1024
BACKWARD_SHARE = 2.0 / 3.0


def bench(build, model, batch, threads, steps):
    """typenet-bench --json for one model and per-rank batch: its train step and census."""
    cmd = [os.path.join(build, "bin", "typenet-bench"), "--model", model, "--batch", str(batch),
           "--threads", str(threads), "--steps", str(steps), "--warmup", "2", "--no-peak", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def census(j):
    s = j["batch_statistics_sync"]
    layers = s["forward_exchanges"]
    channels = s["forward_doubles"] // 3  # over the layers, per step
    return j["gradient_bytes"], layers, channels


def step_ms(t_c_ms, grad_bytes, layers, channels, n, alpha_us, gbit, overlap=True, bn="global"):
    """Predicted step time in ms of one rank: (total, bn, small, exposed gradient sum)."""
    if n <= 1:
        return t_c_ms, 0.0, 0.0, 0.0
    alpha = alpha_us * 1e-3                      # ms
    per_byte = 8.0 / (gbit * 1e9) * 1e3          # ms a byte
    rounds = math.ceil(math.log2(n))
    # batch norm: one exchange a layer forward and one backward; channels summed over the layers
    bn_ms = 0.0
    if bn == "global":
        bn_ms = 2 * (layers * rounds * alpha + (n - 1) * 24 * channels * per_byte)
    small_ms = 2 * rounds * alpha
    ring = lambda s: 2 * (n - 1) * alpha + 2 * (n - 1) / n * s * per_byte
    a = ring(grad_bytes)
    if overlap:
        exposed = max(a - BACKWARD_SHARE * t_c_ms, ring(min(grad_bytes, BUCKET_BYTES)))
    else:
        exposed = a
    if bn == "local":  # the running statistics averaged after every step: 2 doubles a channel
        small_ms += ring(8 * channels)
    return t_c_ms + bn_ms + small_ms + exposed, bn_ms, small_ms, exposed


def project(args):
    build = os.environ.get("BUILD_DIR", "build")
    ranks = [int(x) for x in args.ranks.split(",")]
    out = {"threads": args.threads, "global_batch": args.global_batch, "per_rank": args.per_rank, "models": []}
    for model in args.models.split(","):
        batches = sorted({args.global_batch, args.per_rank} | {max(1, args.global_batch // n) for n in ranks})
        # batch norm in train mode needs 2 samples a rank
        batches = [b for b in batches if b >= 2]
        steps = args.steps
        t = {}
        first = None
        for b in batches:
            j = bench(build, model, b, args.threads, steps)
            first = first or j
            t[b] = j["train"]["median_step_ms"]
        grad_bytes, layers, channels = census(first)
        m = {"model": model, "cpu": first["cpu"], "isa": first["isa"], "gradient_bytes": grad_bytes,
             "batch_norm_layers": layers, "batch_norm_channels": channels,
             "step_ms": {str(b): t[b] for b in batches}, "links": []}
        one = args.global_batch / t[args.global_batch]  # images a ms, one rank at the global batch
        for name, alpha, gbit in LINKS:
            rows = []
            for n in ranks:
                for kind, b in (("strong", args.global_batch // n), ("weak", args.per_rank)):
                    if b < 2:
                        continue
                    total, bn, small, exposed = step_ms(t[b], grad_bytes, layers, channels, n, alpha, gbit)
                    _, _, _, no_overlap = step_ms(t[b], grad_bytes, layers, channels, n, alpha, gbit, overlap=False)
                    rows.append({"ranks": n, "scaling": kind, "per_rank": b, "global_batch": b * n,
                                 "compute_ms": t[b], "bn_ms": bn, "small_ms": small, "exposed_ms": exposed,
                                 "allreduce_ms": no_overlap, "step_ms": total,
                                 "speedup": (n * b / total) / one})
            m["links"].append({"link": name, "alpha_us": alpha, "gbit": gbit, "rows": rows})
        out["models"].append(m)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for m in out["models"]:
        print(f"{m['model']}: {m['gradient_bytes'] / 1e6:.2f} MB of gradients, {m['batch_norm_layers']} layers with "
              f"batch statistics ({m['batch_norm_channels']} channels); {m['cpu']}, {m['isa']}, "
              f"{args.threads} thread(s) a rank; train step (ms) by per-rank batch: "
              + ", ".join(f"{b}: {v:.1f}" for b, v in m["step_ms"].items()))
        for link in m["links"]:
            print(f"  {link['link']}")
            print(f"    {'N':>3} {'scaling':>7} {'b':>4} {'B':>5} {'compute':>8} {'sync BN':>8} {'sums':>6} "
                  f"{'all-red.':>8} {'exposed':>8} {'step ms':>8} {'speed-up':>8}")
            for r in link["rows"]:
                print(f"    {r['ranks']:>3} {r['scaling']:>7} {r['per_rank']:>4} {r['global_batch']:>5} "
                      f"{r['compute_ms']:>8.1f} {r['bn_ms']:>8.2f} {r['small_ms']:>6.2f} {r['allreduce_ms']:>8.2f} "
                      f"{r['exposed_ms']:>8.2f} {r['step_ms']:>8.1f} {r['speedup']:>8.2f}")


def predict(args):
    with open(args.bench) as f:
        j = json.load(f)
    grad_bytes, layers, channels = census(j)
    base = args.base_ms if args.base_ms is not None else j["train"]["median_step_ms"]
    measured = {}
    for item in (args.measured.split(",") if args.measured else []):
        k, v = item.split("=")
        ms, wait = (v.split("/") + ["0"])[:2]
        measured[k] = (float(ms), float(wait or 0))
    res = {}
    # global-calls: the sums progress only inside the MPI calls at the layers' ends; the model
    # assumes the link busy throughout, as the progress thread keeps it
    for name, overlap, bn in (("global", True, "global"), ("global-calls", True, "global"),
                              ("global-no-overlap", False, "global"), ("local", True, "local")):
        total, bn_ms, small, exposed = step_ms(base, grad_bytes, layers, channels, args.ranks, args.alpha_us,
                                               args.gbit, overlap, bn)
        res[name] = {"step_ms": total, "bn_ms": bn_ms, "small_ms": small, "exposed_ms": exposed}
        if name in measured:
            ms, wait = measured[name]
            print(f"  {j['model']:<9} {name:<18} measured {ms:8.1f} ms a step (waiting {wait:6.2f} ms for the gradient "
                  f"sums) | predicted {total:8.1f} (sync BN {bn_ms:.2f}, sums {small:.2f}, gradients {exposed:.2f}) | "
                  f"measured / predicted {ms / total:.2f}")
    if not measured:
        print(json.dumps({"model": j["model"], "base_ms": base, "ranks": args.ranks, "alpha_us": args.alpha_us,
                          "gbit": args.gbit, "predicted": res}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd")
    q = sub.add_parser("predict", help="one configuration's predicted step (scripts/bench-wire.sh)")
    q.add_argument("--bench", required=True, help="typenet-bench --json output of the model at the per-rank batch")
    q.add_argument("--ranks", type=int, required=True)
    q.add_argument("--alpha-us", type=float, required=True)
    q.add_argument("--gbit", type=float, required=True)
    q.add_argument("--base-ms", type=float, help="compute per step (default: the bench file's train step)")
    q.add_argument("--measured", help="MODE=MS[/WAIT],...: measured steps to print beside the predictions")
    p.add_argument("--models", default="resnet20,cnn-bn,resnet18")
    p.add_argument("--threads", type=int, default=2, help="threads a rank (default 2: a rank is a machine like this one)")
    p.add_argument("--ranks", default="1,2,4,8,16,32,64")
    p.add_argument("--global-batch", type=int, default=128)
    p.add_argument("--per-rank", type=int, default=32, help="per-rank batch of weak scaling (Goyal et al.: 32)")
    p.add_argument("--steps", type=int, default=5, help="timed steps of typenet-bench a batch")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.cmd == "predict":
        predict(args)
    else:
        project(args)


if __name__ == "__main__":
    sys.exit(main())
