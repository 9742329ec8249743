#!/usr/bin/env python3
"""tests/npz_torch.py - typenet's weights in PyTorch and PyTorch's in typenet, through .npz.

  tests/npz_torch.py --convert build/bin/typenet-convert [--model cnn-bn,resnet20] [--batch 8]

Per model (the CTest case npz.torch):
 1. typenet-convert init writes a fresh checkpoint; export writes its .npz; numpy.load reads it
    into the PyTorch twin that bench/torch_oracle.py builds from the network's structure() text
    (its functions imported, not copied). Eval-mode logits of the same random inputs, typenet's
    (typenet-convert logits) against PyTorch float32's.
 2. New weights and running statistics drawn in PyTorch (gamma, beta, running mean and variance
    far from their initial values), then trained there (3 SGD steps with momentum in train mode,
    which move every weight and running statistic), saved with numpy.savez (half the arrays as float64), plus
    data.mean / data.std; typenet-convert import writes a checkpoint; its logits against PyTorch's.
    Exporting that checkpoint again gives PyTorch's arrays back bit for bit.
 3. numpy.savez_compressed is refused (exit 2, the message says to use numpy.savez).
Tolerance: ||typenet - torch|| / ||torch|| <= 1e-5 over all logits (float32 on both sides; the
two sum in different orders, typenet's 3x3 convolutions as Winograd). Exit codes: 0 ok, 1 a check
failed, 77 PyTorch is not installed.
"""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import torch_oracle  # noqa: E402  (exits 77 without torch; re-runs under /usr/bin/python3 if that has it)

torch = torch_oracle.torch
import numpy as np  # noqa: E402

TOLERANCE = 1e-5


def run(cmd, expect=0):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != expect:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode} (expected {expect}): {r.stderr.strip()}")
    return r


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def torch_logits(net, x):
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def check_model(a, model, work, failures):
    conv = a.convert
    structure = run([conv, "structure", "--model", model]).stdout.strip()
    net = torch_oracle.build_network(structure)
    tensors = net.tn_parameters + net.tn_states
    shape = tuple(int(d) for d in structure.split(";")[1].split(" ", 1)[1].split("x"))
    rng = np.random.RandomState(7)
    x = rng.randn(a.batch, *shape).astype(np.float32)
    np.savez(os.path.join(work, "x.npz"), x=x)

    # 1. typenet -> PyTorch
    ck, npz = os.path.join(work, f"{model}.ckpt"), os.path.join(work, f"{model}.npz")
    run([conv, "init", "--model", model, "--seed", "5", ck])
    run([conv, "export", ck, npz])
    z = np.load(npz)
    names = list(z.files)
    if len(names) != len(tensors):
        raise RuntimeError(f"{model}: the .npz has {len(names)} arrays, the PyTorch twin {len(tensors)} tensors")
    with torch.no_grad():
        for name, t in zip(names, tensors):
            if tuple(z[name].shape) != tuple(t.shape) or z[name].dtype != np.float32:
                raise RuntimeError(f"{model}: {name} is {z[name].shape} {z[name].dtype}, PyTorch's {tuple(t.shape)}")
            t.copy_(torch.from_numpy(z[name]))
    run([conv, "logits", ck, os.path.join(work, "x.npz"), os.path.join(work, "l.npz")])
    e1 = rel(np.load(os.path.join(work, "l.npz"))["logits"], torch_logits(net, x))

    # 2. PyTorch -> typenet
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, t in zip(names, tensors):
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) * 1.5 + 0.5)
            elif name.endswith("running_mean") or name.endswith("beta") or name.endswith("bias"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.2)
            elif name.endswith("gamma"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:  # weights: fan-in scaled
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / (t[0].numel())) ** 0.5)
    # ... then trained in PyTorch: 3 SGD steps (momentum 0.9) in train mode on random images, which
    # move the weights and the running statistics alike
    params = [t for t in net.tn_parameters]
    for t in params:
        t.requires_grad_(True)
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    gx = torch.from_numpy(rng.randn(16, *shape).astype(np.float32))
    before = [t.detach().clone() for t in tensors]
    net.train()
    for _ in range(3):
        opt.zero_grad()
        out = net(gx)
        torch.nn.functional.cross_entropy(out, torch.arange(16) % out.shape[1]).backward()
        opt.step()
    net.eval()
    if any(torch.equal(b, t.detach()) for b, t in zip(before, tensors)):
        raise RuntimeError(f"{model}: a tensor did not move in PyTorch's training steps")
    arrays = {n: t.detach().numpy().copy() for n, t in zip(names, tensors)}
    saved = {n: (v.astype(np.float64) if i % 2 else v) for i, (n, v) in enumerate(arrays.items())}
    mean, std = np.array([0.49, 0.48, 0.45], np.float32), np.array([0.25, 0.24, 0.26], np.float32)
    torch_npz, ck2 = os.path.join(work, f"{model}-torch.npz"), os.path.join(work, f"{model}-torch.ckpt")
    np.savez(torch_npz, **saved, **{"data.mean": mean, "data.std": std})
    run([conv, "import", "--model", model, torch_npz, ck2])
    run([conv, "logits", ck2, os.path.join(work, "x.npz"), os.path.join(work, "l2.npz")])
    e2 = rel(np.load(os.path.join(work, "l2.npz"))["logits"], torch_logits(net, x))
    back = os.path.join(work, f"{model}-back.npz")
    run([conv, "export", ck2, back])
    zb = np.load(back)
    same = list(zb.files) == names + ["data.mean", "data.std"] and all(
        np.array_equal(zb[n], arrays[n]) for n in names) and np.array_equal(zb["data.mean"], mean) \
        and np.array_equal(zb["data.std"], std)

    # 3. compressed archives are refused with a clear message
    comp = os.path.join(work, "compressed.npz")
    np.savez_compressed(comp, **arrays)
    msg = run([conv, "import", "--model", model, comp, os.path.join(work, "no.ckpt")], expect=2).stderr
    refused = "numpy.savez" in msg and comp in msg

    print(f"{model}: {len(names)} tensors; eval logits of {a.batch} inputs, rel. error typenet vs PyTorch float32: "
          f"typenet->torch {e1:.2e}, torch->typenet {e2:.2e} (tolerance {TOLERANCE:g}); re-export bit-identical: "
          f"{same}; savez_compressed refused: {refused}")
    for what, ok in ((f"typenet->torch logits {e1:.2e}", e1 <= TOLERANCE),
                     (f"torch->typenet logits {e2:.2e}", e2 <= TOLERANCE),
                     ("re-export differs from PyTorch's arrays", same), ("savez_compressed accepted", refused)):
        if not ok:
            failures.append(f"{model}: {what}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--convert", required=True, help="build/bin/typenet-convert")
    ap.add_argument("--model", default="cnn-bn,resnet20")
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(2)
    failures = []
    with tempfile.TemporaryDirectory(prefix="typenet-npz-") as work:
        for model in a.model.split(","):
            check_model(a, model, work, failures)
    for f in failures:
        print("FAILED: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
