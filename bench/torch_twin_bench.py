#!/usr/bin/env python3
"""bench/torch_twin_bench.py - PyTorch's CPU training and eval throughput of the twin of any
typenet model, built from its structure() text by bench/torch_oracle.py's builders (the same
PyTorch modules the oracle checks typenet against: nn.Conv2d, nn.BatchNorm2d, nn.GroupNorm, ...).

  bench/torch_twin_bench.py STRUCTURE_FILE BATCH STEPS THREADS

STRUCTURE_FILE holds `typenet-convert structure --model NAME`'s text. The step is the peers'
(../shared/peers/torch_cifar_cnn.py): SGD with momentum 0.9, cross-entropy, random images; 3
warm-up steps, then STEPS timed ones; eval likewise under no_grad. It prints one line in the
peers' format (scripts/bench-peers.sh reads train_img_per_s= and eval_img_per_s=).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_oracle  # noqa: E402  (exits 77 without torch)

torch = torch_oracle.torch


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    structure = open(sys.argv[1]).read().strip()
    batch, steps, threads = (int(a) for a in sys.argv[2:])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_oracle.build_network(structure)
    shape = tuple(int(d) for d in structure.split(";")[1].split(" ", 1)[1].split("x"))
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    for _ in range(3):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    train_ips = batch * steps / (time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        for _ in range(2):
            model(x)
        t = time.perf_counter()
        for _ in range(steps):
            model(x)
        eval_ips = batch * steps / (time.perf_counter() - t)
    name = structure.split(";")[0]
    print(f"torch {torch.__version__} twin({os.path.basename(sys.argv[1])}) batch={batch} threads={threads} "
          f"train_img_per_s={train_ips:.1f} eval_img_per_s={eval_ips:.1f} ({len(params)} tensors, {name})")


if __name__ == "__main__":
    main()
