#!/usr/bin/python3
"""Measure the traces JPEG compression left in a CIFAR-10 binary copy.

    /usr/bin/python3 bench/cifar_jpeg_traces.py DATA_DIR

DATA_DIR holds data_batch_1.bin ... test_batch.bin. The copy in
../shared/data/cifar10 was decoded from one JPEG per image; this prints two ratios per file that are
about 1.00 for images that never went through JPEG (nothing in a photograph prefers an 8-pixel grid
or pixel pairs) and grow with the compression:

- block edges: the mean absolute difference between neighbouring pixels across the edges of JPEG's
  8x8 blocks (between columns 7|8, 15|16, 23|24, and the same rows) over that between all other
  neighbours, for luma (Y) and for the two colour-difference planes (Cb, Cr);
- chroma pairs: for Cb and Cr, the difference across pixel pairs (columns 1|2, 3|4, ...) over that
  within pairs (0|1, 2|3, ...). 4:2:0 chroma subsampling stores colour at half resolution, so
  neighbours within a pair come from one stored sample and differ less.

Two controls print beside them and should stay near 1.00: the luma block-edge ratio on a grid moved
by 4 pixels (edges 3|4, 11|12, ...), and the pair ratio of luma, which JPEG stores at full resolution.

It reads only; PyTorch's peer is not needed, only numpy (Debian's python3-numpy).
"""
import os
import sys

try:
    import numpy as np
except ImportError as e:
    sys.exit(f"cifar_jpeg_traces: {e}: this probe needs NumPy (scripts/setup.sh python3-numpy)")


def data_dir():
    # the folder is given, as to the PyTorch twin's --data: typenet-train's search order is not written again here
    if len(sys.argv) != 2 or not os.path.isfile(os.path.join(sys.argv[1], "test_batch.bin")):
        sys.exit("usage: cifar_jpeg_traces.py DATA_DIR (the folder holding data_batch_1.bin ... test_batch.bin)")
    return sys.argv[1]


def planes(path):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        sys.exit(f"cifar_jpeg_traces: {path}: {raw.size} bytes is not a whole number of 3,073-byte records")
    x = raw.reshape(-1, 3073)[:, 1:].reshape(-1, 3, 32, 32).astype(np.float64)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    return {"Y": 0.299 * r + 0.587 * g + 0.114 * b,  # JFIF's colour transform
            "Cb": -0.168736 * r - 0.331264 * g + 0.5 * b,
            "Cr": 0.5 * r - 0.418688 * g - 0.081312 * b}


def block_edge_ratio(p, offset=7):
    d = np.concatenate([np.abs(np.diff(p, axis=2)).mean(axis=(0, 1)),   # column c | c+1, c = 0..30
                        np.abs(np.diff(p, axis=1)).mean(axis=(0, 2))])  # row r | r+1
    edge = np.zeros(31, dtype=bool)
    edge[offset::8] = True
    edge = np.concatenate([edge, edge])
    return d[edge].mean() / d[~edge].mean()


def pair_ratio(p):
    within = np.abs(p[:, :, 0::2] - p[:, :, 1::2]).mean() + np.abs(p[:, 0::2, :] - p[:, 1::2, :]).mean()
    across = np.abs(p[:, :, 1:-1:2] - p[:, :, 2::2]).mean() + np.abs(p[:, 1:-1:2, :] - p[:, 2::2, :]).mean()
    return across / within


d = data_dir()
print(f"{d}: ratios near 1.00 mean no trace; block edges = across 8x8 edges / elsewhere; "
      "chroma pairs = across / within 2-pixel pairs")
print(f"{'file':<18} {'Y edges':>8} {'Cb edges':>9} {'Cr edges':>9} {'Cb pairs':>9} {'Cr pairs':>9}"
      f"  | controls: {'Y edges moved 4':>15} {'Y pairs':>8}")
for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    p = planes(os.path.join(d, name))
    print(f"{name:<18} {block_edge_ratio(p['Y']):8.3f} {block_edge_ratio(p['Cb']):9.3f} "
          f"{block_edge_ratio(p['Cr']):9.3f} {pair_ratio(p['Cb']):9.3f} {pair_ratio(p['Cr']):9.3f}"
          f"  | {'':10}{block_edge_ratio(p['Y'], 3):15.3f} {pair_ratio(p['Y']):8.3f}")
