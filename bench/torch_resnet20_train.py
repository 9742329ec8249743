#!/usr/bin/python3
"""PyTorch peer of `typenet-train --model resnet20 --recipe resnet --epochs E`, for accuracy.

Trains the same network on the same CIFAR-10 binary files with the same recipe, so that a gap
between typenet's ResNet-20 and the published figure can be split into what the data costs and
what the implementation costs (docs/results.md#resnet-20):

- ResNet-20 of He et al. 2016 with 1x1 projection shortcuts (convolution + batch norm) where the
  shape changes, as typenet's resnet20 (272,474 parameters); He-normal initialisation (fan_in).
- SGD, momentum 0.9, weight decay 5e-4 on convolution and dense weights only, lr 0.1 on a cosine
  per step to 0 over the run, batch 128 (last batch smaller), no warmup.
- Random crop from the image zero-padded by 4 pixels, horizontal flip with probability 1/2;
  per-channel normalisation by the training set's mean and standard deviation.

Writes OUT/metrics.csv with typenet-train's columns (grad_norm: the mean over the epoch's steps
of the global L2 norm of the loss gradient), one line per epoch, so `typenet-plot` and
`scripts/results.sh` read it like a typenet run, and OUT/last.pt after every epoch (network,
optimizer, random states, step), written to a temporary file and renamed: `--resume` continues
a stopped run from it, with the same random draws as an uninterrupted run.

usage: /usr/bin/python3 bench/torch_resnet20_train.py --data DIR --epochs E --out DIR
       [--threads N] [--seed S] [--limit-train N] [--limit-test N] [--resume]   (Debian: python3-torch)
"""
import argparse, math, os, sys, time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"torch_resnet20_train: {e}: this peer needs PyTorch and NumPy (apt-get install python3-torch)")

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--data", required=True, help="CIFAR-10 binary folder (data_batch_1.bin ... test_batch.bin)")
ap.add_argument("--epochs", type=int, required=True)
ap.add_argument("--out", required=True, help="output folder; OUT/metrics.csv must not exist yet")
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--limit-train", type=int, default=0, help="use only the first N training images (0 = all)")
ap.add_argument("--limit-test", type=int, default=0, help="use only the first N test images (0 = all)")
ap.add_argument("--resume", action="store_true", help="continue the run in --out from OUT/last.pt")
ap.add_argument("--norm", choices=["bn", "gn"], default="bn",
                help="bn: BatchNorm2d (typenet's resnet20); gn: GroupNorm with 8 groups (typenet's resnet20-gn)")
args = ap.parse_args()

record = 3073
def load(names):
    parts = []
    for n in names:
        path = os.path.join(args.data, n)
        if not os.path.isfile(path):
            sys.exit(f"torch_resnet20_train: {path}: no such file")
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % record:
            sys.exit(f"torch_resnet20_train: {path}: {raw.size} bytes is not a whole number of {record}-byte records")
        parts.append(raw.reshape(-1, record))
    recs = np.concatenate(parts)
    if recs[:, 0].max() > 9:
        sys.exit(f"torch_resnet20_train: {args.data}: a label is above 9")
    return recs[:, 1:].reshape(-1, 3, 32, 32), recs[:, 0].astype(np.int64)

metrics = os.path.join(args.out, "metrics.csv")
last = os.path.join(args.out, "last.pt")
if args.resume and not os.path.isfile(last):
    sys.exit(f"torch_resnet20_train: --resume: {last}: no such file")
if not args.resume and os.path.exists(metrics):
    sys.exit(f"torch_resnet20_train: {metrics} exists; continue it with --resume, or choose another --out")
xtr, ytr = load([f"data_batch_{i}.bin" for i in range(1, 6)])
xte, yte = load(["test_batch.bin"])
if args.limit_train:
    xtr, ytr = xtr[:args.limit_train], ytr[:args.limit_train]
if args.limit_test:
    xte, yte = xte[:args.limit_test], yte[:args.limit_test]
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)

planes = xtr.reshape(len(xtr), 3, -1) / 255.0
mean, std = planes.mean(axis=(0, 2)), planes.std(axis=(0, 2))
del planes
def normalise(x):
    return torch.from_numpy(((x / 255.0 - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32))

def Norm(c):
    return nn.BatchNorm2d(c) if args.norm == "bn" else nn.GroupNorm(8, c)

class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = Norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = Norm(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), Norm(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x))

def resnet20():
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), Norm(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net

net = resnet20()
count = sum(p.numel() for p in net.parameters())
weights = [p for p in net.parameters() if p.dim() > 1]
others = [p for p in net.parameters() if p.dim() <= 1]
opt = torch.optim.SGD([{"params": weights, "weight_decay": 5e-4}, {"params": others, "weight_decay": 0.0}],
                      lr=0.1, momentum=0.9)
batch = 128
steps = math.ceil(len(xtr) / batch)
total = args.epochs * steps
padded = np.zeros((len(xtr), 3, 40, 40), dtype=np.uint8)
padded[:, :, 4:36, 4:36] = xtr
test_x = normalise(xte)
os.makedirs(args.out, exist_ok=True)
print(f"resnet20 (PyTorch {torch.__version__}, {count} parameters), {len(xtr)} training and {len(xte)} test images,"
      f" {args.epochs} epochs of {steps} steps, {args.threads} threads", flush=True)
header = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged\n"
step, first = 0, 1
# what a resumed run must share with the run it continues
settings = {k: getattr(args, k) for k in ("epochs", "seed", "limit_train", "limit_test")}
if args.resume:
    state = torch.load(last)
    if state["settings"] != settings:
        sys.exit(f"torch_resnet20_train: --resume: {last} was written with {state['settings']}, not {settings}")
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    rng.bit_generator.state = state["numpy_rng"]
    torch.set_rng_state(state["torch_rng"])
    step, first = state["step"], state["epoch"] + 1
    # keep the rows of the epochs the checkpoint holds (a row written after it is redone)
    with open(metrics) as f:
        rows = f.readlines()[1:first]
    with open(metrics, "w") as f:
        f.write(header + "".join(rows))
    print(f"resuming {last} after epoch {state['epoch']}", flush=True)
else:
    with open(metrics, "w") as f:
        f.write(header)
for epoch in range(first, args.epochs + 1):
    start = time.time()
    net.train()
    order = rng.permutation(len(xtr))
    loss_sum = norm_sum = 0.0
    correct = 0
    for b in range(steps):
        idx = order[b * batch:(b + 1) * batch]
        dy, dx = rng.integers(0, 9, len(idx)), rng.integers(0, 9, len(idx))
        flip = rng.random(len(idx)) < 0.5
        xb = np.empty((len(idx), 3, 32, 32), dtype=np.uint8)
        for k, i in enumerate(idx):
            crop = padded[i, :, dy[k]:dy[k] + 32, dx[k]:dx[k] + 32]
            xb[k] = crop[:, :, ::-1] if flip[k] else crop
        lr = 0.05 * (1 + math.cos(math.pi * step / total))
        for g in opt.param_groups:
            g["lr"] = lr
        out = net(normalise(xb))
        target = torch.from_numpy(ytr[idx])
        loss = F.cross_entropy(out, target)
        opt.zero_grad()
        loss.backward()
        norm_sum += float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in net.parameters()])))
        opt.step()
        step += 1
        loss_sum += loss.item() * len(idx)
        correct += int((out.argmax(1) == target).sum())
    train_seconds = time.time() - start
    net.eval()
    test_loss, test_correct = 0.0, 0
    with torch.no_grad():
        for b in range(0, len(xte), 500):
            out = net(test_x[b:b + 500])
            target = torch.from_numpy(yte[b:b + 500])
            test_loss += float(F.cross_entropy(out, target, reduction="sum"))
            test_correct += int((out.argmax(1) == target).sum())
    seconds = time.time() - start
    row = (f"{epoch},{loss_sum / len(xtr):.9g},{correct / len(xtr):.9g},{test_loss / len(xte):.9g},"
           f"{test_correct / len(xte):.9g},{norm_sum / steps:.9g},{lr:.9g},{seconds:.3f},{len(xtr) / train_seconds:.1f},0")
    with open(metrics, "a") as f:
        f.write(row + "\n")
    torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "step": step, "epoch": epoch,
                "settings": settings},
               last + ".tmp")
    os.replace(last + ".tmp", last)
    print(f"epoch {epoch}: train loss {loss_sum / len(xtr):.4f} accuracy {correct / len(xtr):.4f}, "
          f"test loss {test_loss / len(xte):.4f} accuracy {test_correct / len(xte):.4f}, {seconds:.1f} s", flush=True)
