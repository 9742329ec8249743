#!/usr/bin/env python3
"""bench/torch_oracle.py - typenet's training step against PyTorch's, same weights, same images.

For each model and batch size, typenet-grad-accuracy --dump writes one training step (train-mode
forward, softmax cross-entropy, backward, the running statistics it leaves, an eval-mode forward
of the same images) in float32 on the fast kernels (Winograd on and off) and in float64 on the
reference kernels, with the weights, images and labels it used. This script builds the same
network in PyTorch from the model's structure() text (the text a checkpoint's structure hash is
made of), loads the same weights, runs the same step in float64 and float32, and prints each
result's relative error against PyTorch float64:

    rel(a) = ||a - torch64|| / ||torch64||

for the logits, the loss, the running statistics, the eval logits, the gradient of the input,
all parameter gradients together, and the worst single parameter tensor.

  bench/torch_oracle.py [--tool PATH] [--model NAME,...|all] [--batch 32,128] [--twin]
                        [--isa auto|all|LIST] [--winograd on,off] [--seed N] [--threads N] [--tensors] [--check]
                        [--keep DIR | --cases DIR]

--twin runs each model's kink-free twin (every ReLU the identity, every max pool an average
pool; docs/numerics.md): the ReLU networks' gradients jump at their kinks, so there a float32
forward error of 1e-6 flips some ReLU decisions, in PyTorch as in typenet, and the figures are a
lottery of which decisions flipped; on the twin they are the arithmetic's alone.

--check (the CTest case) fails (exit 1) when
  - typenet float64 differs from PyTorch float64 by more than 1e-9 in any quantity: the two
    would not compute the same network (a layer's semantics, the initial statistics, the
    momentum, the loss), and every other figure would be meaningless;
  - on the twin, a typenet float32 result with Winograd off is more than 2x PyTorch float32's
    error (plus 1e-7), or with Winograd on more than 4x (issue 18's bounds; Winograd F(4x4)'s
    transforms cost ~4x the rounding of a direct convolution: bench/winograd_error.py).
--keep DIR keeps the dump; --cases DIR reports on a kept dump without running the tool again.
The tool rewrites a case's case.json after each result it completes, so --cases on the folder
of an interrupted --keep run reports every result that finished.
Exit codes: 0 ok, 1 a check failed or the tool failed, 2 bad arguments, 77 PyTorch is not
installed (CTest reports the test as skipped; install python3-torch).

Layers are built from their structure() text by the parsers in LAYERS below: a new layer joins
the oracle with one entry there.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def import_torch():
    """PyTorch, from Debian's python3-torch. A python3 earlier on PATH (pyenv, a venv) does not
    see Debian's packages: re-run under /usr/bin/python3 when that one has torch."""
    try:
        import numpy  # noqa: F401
        import torch
        return torch
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and os.path.exists(system) \
                and os.environ.get("TYPENET_ORACLE_REEXEC") != "1":
            os.environ["TYPENET_ORACLE_REEXEC"] = "1"
            os.execv(system, [system] + sys.argv)
        print("torch_oracle: PyTorch is not installed (Debian: apt-get install python3-torch); skipped",
              file=sys.stderr)
        sys.exit(SKIP)


torch = import_torch()
import numpy as np  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# ---- structure() text -> a tree of (name, args) ---------------------------------------------------
TOKEN = re.compile(r"\s*(eps=\d+/\d+|\d+/\d+|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>,])")


def parse_spec(text):
    """'conv_bn<3, 32, 3, 1, same, identity>' -> ('conv_bn', [3, 32, 3, 1, 'same', 'identity'])."""
    tokens, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot read layer '{text}' at '{text[pos:]}'")
        tokens.append(m.group(1))
        pos = m.end()
    tokens = [t for t in tokens if t]

    def spec(i):
        name = tokens[i]
        if i + 1 < len(tokens) and tokens[i + 1] == "<":
            args, i = [], i + 2
            while True:
                if tokens[i + 1:i + 2] == ["<"]:
                    sub, i = spec(i)
                    args.append(sub)
                else:
                    t = tokens[i]
                    args.append(int(t) if t.isdigit() else t)
                    i += 1
                if tokens[i] == ">":
                    return (name, args), i + 1
                if tokens[i] != ",":
                    raise ValueError(f"cannot read layer '{text}'")
                i += 1
        return (name, []), i + 1

    tree, end = spec(0)
    if end != len(tokens):
        raise ValueError(f"cannot read layer '{text}': text after the end")
    return tree


def eps_of(args, default=1e-5):
    for a in args:
        if isinstance(a, str) and a.startswith("eps="):
            num, den = a[4:].split("/")
            return int(num) / int(den)
    return default


# ---- the layers ----------------------------------------------------------------------------------
# Each builder takes (args, input shape) and returns (module, output shape). Every module has
# .tn_parameters and .tn_states: its tensors in typenet's for_each_parameter / for_each_state
# order (checked against the dump's names and shapes before anything runs).
class Layer(torch.nn.Module):
    def __init__(self, fn, children=(), parameters=(), states=()):
        super().__init__()
        self.fn = fn
        self.kids = torch.nn.ModuleList(children)
        self.tn_parameters = list(parameters)
        self.tn_states = list(states)

    def forward(self, x):
        return self.fn(x)


def activation(name):
    if name == "relu":
        return F.relu
    if name == "identity":
        return lambda x: x
    raise ValueError(f"unknown activation '{name}'")


def conv_out(size, k, s, same):
    return (size - 1) // s + 1 if same else (size - k) // s + 1


def conv(i, o, k, s, padding, bias, shape):
    same = padding == "same"
    m = torch.nn.Conv2d(i, o, k, s, padding=(k - 1) // 2 if same else 0, bias=bias)
    return m, (o, conv_out(shape[1], k, s, same), conv_out(shape[2], k, s, same))


def batch_norm_module(channels, eps, rank):
    # PyTorch's defaults are typenet's: momentum 0.1 (the weight of the new batch), running
    # mean 0 and variance 1 at the start, the unbiased batch variance in the running average.
    return (torch.nn.BatchNorm2d if rank == 3 else torch.nn.BatchNorm1d)(channels, eps=eps, momentum=0.1)


def build_conv_bn(args, shape):
    i, o, k, s, padding = args[:5]
    act = next((a for a in args[5:] if a in ("relu", "identity")), "relu")
    c, out = conv(i, o, k, s, padding, False, shape)
    bn = batch_norm_module(o, eps_of(args), 3)
    f = activation(act)
    return Layer(lambda x: f(bn(c(x))), [c, bn], [c.weight, bn.weight, bn.bias],
                 [bn.running_mean, bn.running_var]), out


def norm_module(tree, channels, rank):
    """A normalisation spec as conv_norm's argument or a layer of its own -> (module, its running
    statistics). layer_norm is GroupNorm(1, C) (per-channel affine, typenet's semantics); on a flat
    input the features are the channels, so GroupNorm on (batch, N) is LayerNorm(N)."""
    name, args = tree if isinstance(tree, tuple) else (tree, [])
    eps = eps_of(args)
    if name == "batch_norm":
        m = batch_norm_module(channels, eps, rank)
        return m, [m.running_mean, m.running_var]
    if name == "group_norm":
        return torch.nn.GroupNorm(args[0], channels, eps=eps), []
    if name == "layer_norm":
        return torch.nn.GroupNorm(1, channels, eps=eps), []
    if name == "instance_norm":
        return torch.nn.InstanceNorm2d(channels, eps=eps, affine=True), []
    raise ValueError(f"the oracle has no PyTorch version of normalisation '{name}'")


def build_conv_norm(args, shape):
    i, o, k, s, padding, norm = args[:6]
    act = next((a for a in args[6:] if a in ("relu", "identity")), "relu")
    c, out = conv(i, o, k, s, padding, False, shape)
    n, states = norm_module(norm, o, 3)
    f = activation(act)
    return Layer(lambda x: f(n(c(x))), [c, n], [c.weight, n.weight, n.bias], states), out


def build_norm(name):
    def build(args, shape):
        n, states = norm_module((name, args), shape[0], len(shape))
        return Layer(n, [n], [n.weight, n.bias], states), shape
    return build


def build_conv2d(args, shape):
    i, o, k, s, padding, act = args[:6]
    c, out = conv(i, o, k, s, padding, "no_bias" not in args[6:], shape)
    f = activation(act)
    params = [c.weight] + ([c.bias] if c.bias is not None else [])
    return Layer(lambda x: f(c(x)), [c], params), out


def build_dense(args, shape):
    i, o, act = args
    d = torch.nn.Linear(i, o)
    f = activation(act)
    return Layer(lambda x: f(d(x)), [d], [d.weight, d.bias]), (o,)


def build_batch_norm(args, shape):
    bn = batch_norm_module(shape[0], eps_of(args), len(shape))
    return Layer(bn, [bn], [bn.weight, bn.bias], [bn.running_mean, bn.running_var]), shape


def build_pool(kind):
    def build(args, shape):
        w, s = args
        m = (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(w, s)
        return Layer(m), (shape[0], (shape[1] - w) // s + 1, (shape[2] - w) // s + 1)
    return build


def build_residual(args, shape):
    main, main_shape = build_sequence(expect(args[0], "branch")[1], shape)
    if args[1] == "identity_shortcut":
        short, short_shape = Layer(lambda x: x), shape
    else:
        short, short_shape = build_sequence(expect(args[1], "branch")[1], shape)
    if main_shape != short_shape:
        raise ValueError(f"residual: main branch gives {main_shape}, shortcut {short_shape}")
    f = activation(args[2] if len(args) > 2 else "relu")
    return Layer(lambda x: f(main(x) + short(x)), [main, short], main.tn_parameters + short.tn_parameters,
                 main.tn_states + short.tn_states), main_shape


def expect(tree, name):
    if not isinstance(tree, tuple) or tree[0] != name:
        raise ValueError(f"expected {name}<...>, got {tree}")
    return tree


LAYERS = {
    "conv_bn": build_conv_bn,
    "conv2d": build_conv2d,
    "dense": build_dense,
    "batch_norm": build_batch_norm,
    "conv_norm": build_conv_norm,
    "group_norm": build_norm("group_norm"),
    "layer_norm": build_norm("layer_norm"),
    "instance_norm": build_norm("instance_norm"),
    "max_pool": build_pool("max"),
    "avg_pool": build_pool("avg"),
    "global_avg_pool": lambda args, shape: (Layer(lambda x: x.mean(dim=(2, 3))), (shape[0],)),
    "flatten": lambda args, shape: (Layer(lambda x: x.flatten(1)), (int(np.prod(shape)),)),
    "relu": lambda args, shape: (Layer(F.relu), shape),
    "identity": lambda args, shape: (Layer(lambda x: x), shape),
    "residual": build_residual,
}


def build_layer(tree, shape):
    name, args = tree
    if name not in LAYERS:
        raise ValueError(f"the oracle has no PyTorch version of layer '{name}' (add it to LAYERS in "
                         f"bench/torch_oracle.py)")
    return LAYERS[name](args, shape)


def build_sequence(trees, shape, stated=None):
    """The layers of `trees` in order, and the output shape. With `stated` (per layer, its text
    and typenet's output shape, as structure() gives them): ValueError where PyTorch's differs."""
    mods = []
    for i, t in enumerate(trees):
        m, shape = build_layer(t, shape)
        if stated is not None and shape != stated[i][1]:
            raise ValueError(f"layer {stated[i][0]}: PyTorch's version gives {shape}, typenet states "
                             f"{'x'.join(map(str, stated[i][1]))}")
        mods.append(m)

    def run(x):
        for m in mods:
            x = m(x)
        return x
    return Layer(run, mods, [p for m in mods for p in m.tn_parameters],
                 [s for m in mods for s in m.tn_states]), shape


def build_network(structure):
    """structure(): 'float;input 3x32x32;conv_bn<...>->32x32x32;...'."""
    parts = structure.split(";")
    shape = tuple(int(d) for d in parts[1].split(" ", 1)[1].split("x"))
    specs = [p.rsplit("->", 1) for p in parts[2:]]
    net, _ = build_sequence([parse_spec(spec) for spec, _ in specs], shape,
                            [(spec, tuple(int(d) for d in out.split("x"))) for spec, out in specs])
    return net


# ---- one step ------------------------------------------------------------------------------------
SECTIONS = ("logits", "loss", "input gradient", "parameter gradients", "running statistics", "eval logits")


def read_f64(path):
    return np.fromfile(path, dtype="<f8")


def torch_step(case, dtype, weights, x, labels):
    torch.set_default_dtype(dtype)  # built in dtype: Module.to() would replace the buffers tn_states holds
    try:
        net = build_network(case["structure"])
    finally:
        torch.set_default_dtype(torch.float32)
    params, states = net.tn_parameters, net.tn_states
    for kind, got, want in (("parameter", params, case["parameters"]), ("state", states, case["states"])):
        if len(got) != len(want):
            raise ValueError(f"{case['model']}: PyTorch's network has {len(got)} {kind} tensors, typenet's "
                             f"{len(want)}")
        for t, w in zip(got, want):
            if tuple(t.shape) != tuple(w["dims"]):
                raise ValueError(f"{case['model']}: {kind} {w['name']} is {tuple(w['dims'])} in typenet, "
                                 f"{tuple(t.shape)} in PyTorch")
    with torch.no_grad():
        k = 0
        for p in params:
            n = p.numel()
            p.copy_(torch.from_numpy(weights[k:k + n]).reshape(p.shape))
            k += n
        if k != len(weights):
            raise ValueError(f"{case['model']}: weights.f64 holds {len(weights)} values, the network {k}")
    xt = torch.from_numpy(x).to(dtype).reshape((case["batch"],) + tuple(case["input"])).requires_grad_(True)
    net.train()
    for p in params:
        p.grad = None
    logits = net(xt)
    loss = F.cross_entropy(logits, torch.from_numpy(labels.astype(np.int64)))
    loss.backward()
    net.eval()
    with torch.no_grad():
        eval_logits = net(xt)
    flat = lambda ts: np.concatenate([np.zeros(0)] + [t.detach().double().reshape(-1).numpy() for t in ts])
    grads = [p.grad for p in params]
    return {"logits": flat([logits]), "loss": np.array([loss.item()]), "input gradient": flat([xt.grad]),
            "parameter gradients": flat(grads), "running statistics": flat(states),
            "eval logits": flat([eval_logits]), "tensors": [g.detach().double().reshape(-1).numpy() for g in grads]}


def typenet_result(case, path):
    v = read_f64(path)
    b, c = case["batch"], case["classes"]
    n_in = b * int(np.prod(case["input"]))
    n_p = sum(int(np.prod(t["dims"])) for t in case["parameters"])
    n_s = sum(int(np.prod(t["dims"])) for t in case["states"])
    sizes = (b * c, 1, n_in, n_p, n_s, b * c)
    if len(v) != sum(sizes):
        raise ValueError(f"{path}: {len(v)} values, expected {sum(sizes)}")
    r, o = {}, 0
    for name, n in zip(SECTIONS, sizes):
        r[name] = v[o:o + n]
        o += n
    r["tensors"], o = [], 0
    for t in case["parameters"]:
        n = int(np.prod(t["dims"]))
        r["tensors"].append(r["parameter gradients"][o:o + n])
        o += n
    return r


def rel(a, b):
    if not np.all(np.isfinite(a)):
        return float("inf")
    den = np.linalg.norm(b)
    num = np.linalg.norm(a - b)
    return float(num / den) if den > 0 else float(num)


def errors(r, truth, names):
    e = {s: rel(r[s], truth[s]) for s in SECTIONS}
    e["tensors"] = [rel(a, b) for a, b in zip(r["tensors"], truth["tensors"])]
    w = max(range(len(names)), key=lambda i: e["tensors"][i])
    e["worst"], e["worst tensor"] = e["tensors"][w], names[w]
    return e


# ---- main ----------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--tool", default=os.path.join(here, "..", "build", "bin", "typenet-grad-accuracy"),
                    help="typenet-grad-accuracy (default: build/bin/typenet-grad-accuracy)")
    ap.add_argument("--model", default="cnn-bn,resnet20", help="comma-separated, or 'all'")
    ap.add_argument("--batch", default="32,128")
    ap.add_argument("--twin", action="store_true", help="the kink-free twins")
    ap.add_argument("--isa", default="auto")
    ap.add_argument("--winograd", default="on,off", help="typenet's float32 steps: on, off or on,off")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--threads", type=int, default=0, help="PyTorch's threads (default: its own)")
    ap.add_argument("--tensors", action="store_true", help="a row per parameter tensor")
    ap.add_argument("--check", action="store_true", help="fail unless the bounds above hold")
    ap.add_argument("--keep", help="dump into this folder and keep it")
    ap.add_argument("--cases", help="report on the cases of an earlier --keep DIR instead of running the tool")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.cases:
        return guarded_report(a.cases, a)
    if not os.access(a.tool, os.X_OK):
        print(f"torch_oracle: no typenet-grad-accuracy at {a.tool} (cmake --build build --target "
              f"typenet-grad-accuracy, or --tool PATH)", file=sys.stderr)
        return 2
    dump = a.keep or tempfile.mkdtemp(prefix="typenet-oracle-")
    try:
        cmd = [a.tool, "--model", a.model, "--batch", a.batch, "--isa", a.isa, "--winograd", a.winograd,
               "--seed", a.seed, "--dump", dump]
        if a.twin:
            cmd.append("--smooth")
        run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            print(f"torch_oracle: {' '.join(cmd)} failed ({run.returncode}): {run.stderr.strip()}", file=sys.stderr)
            return 1 if run.returncode != 2 else 2
        return guarded_report(dump, a)
    finally:
        if not a.keep:
            shutil.rmtree(dump, ignore_errors=True)


def guarded_report(dump, a):
    try:
        return report(dump, a)
    except (ValueError, OSError, KeyError) as e:  # a layer the oracle cannot build, a bad dump
        print(f"torch_oracle: {e}", file=sys.stderr)
        return 1


def report(dump, a):
    print(f"# typenet against PyTorch {torch.__version__} float64 (relative error ||a - torch64|| / ||torch64||); "
          f"torch threads {torch.get_num_threads()}")
    head = ("model", "batch", "result", "logits", "loss", "run.stat", "eval", "d input", "d params", "worst")
    print("%-11s %5s  %-34s %8s %8s %8s %8s %8s %8s %8s  %s" % (head + ("worst tensor",)))
    failures = []
    cases = sorted(os.listdir(dump), key=lambda d: (d.rsplit("-", 1)[0], int(d.rsplit("-", 1)[1])))
    for d in cases:
        if not os.path.exists(os.path.join(dump, d, "case.json")):  # interrupted before its first result
            print(f"torch_oracle: {os.path.join(dump, d)} is incomplete (no case.json); skipped", file=sys.stderr)
            continue
        with open(os.path.join(dump, d, "case.json")) as f:
            case = json.load(f)
        path = lambda name: os.path.join(dump, d, name)
        weights, x = read_f64(path("weights.f64")), read_f64(path("input.f64"))
        labels = np.fromfile(path("labels.i32"), dtype="<i4")
        names = [t["name"] for t in case["parameters"]]
        truth = torch_step(case, torch.float64, weights, x, labels)
        rows = [("pytorch float32", errors(torch_step(case, torch.float32, weights, x, labels), truth, names))]
        rows += [(r["label"], errors(typenet_result(case, path(r["file"])), truth, names)) for r in case["results"]]
        model = case["model"] + ("~" if case["twin"] else "")
        for label, e in rows:
            print("%-11s %5d  %-34s %8.1e %8.1e %8.1e %8.1e %8.1e %8.1e %8.1e  %s" % (
                model, case["batch"], label, e["logits"], e["loss"], e["running statistics"], e["eval logits"],
                e["input gradient"], e["parameter gradients"], e["worst"], e["worst tensor"]))
        if a.tensors:  # one row per parameter tensor, one column per result
            print("%-11s %5s  %-34s %s" % ("", "", "parameter tensor", " ".join("%10s" % short(l) for l, _ in rows)))
            for i, n in enumerate(names):
                print("%-11s %5s  %-34s %s" % ("", "", n, " ".join("%10.1e" % e["tensors"][i] for _, e in rows)))
        sys.stdout.flush()
        if a.check:
            failures += check(model, case, dict(rows))
    for f in failures:
        print("FAILED: " + f)
    return 1 if failures else 0


def short(label):
    """'typenet float32 avx512 winograd on' -> 'avx512 on'; 'pytorch float32' -> 'torch32'."""
    if label == "pytorch float32":
        return "torch32"
    if label == "typenet float64 reference":
        return "typenet64"
    w = label.split()
    return f"{w[2]} {w[-1]}"


def check(model, case, rows):
    where = f"{model} batch {case['batch']}"
    failures = []
    for s in SECTIONS:
        e = rows["typenet float64 reference"][s]
        if not e <= 1e-9:
            failures.append(f"{where}: typenet float64 {s} differs from PyTorch float64 by {e:.1e} (> 1e-9): "
                            f"not the same network")
    if not case["twin"]:
        return failures
    torch32 = rows["pytorch float32"]
    for label, e in rows.items():
        if not label.startswith("typenet float32"):
            continue
        factor = 4 if label.endswith("winograd on") else 2
        for s in ("input gradient", "parameter gradients"):
            if not e[s] <= factor * torch32[s] + 1e-7:
                failures.append(f"{where}: {label} {s} error {e[s]:.1e} > {factor} x PyTorch float32's "
                                f"{torch32[s]:.1e} + 1e-7")
    return failures


if __name__ == "__main__":
    sys.exit(main())
