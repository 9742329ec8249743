#!/usr/bin/python3
"""bench/conv_sum_error.py - the float32 rounding of one convolution output: a sum of K products
(K = 9 x input channels) in one sequential chain, as conv_tiles summed it, against the same sum
in blocks of 256 (each block in its own chain, the blocks added). Relative error against the
exact (double) sums of 2000 random normal dot products per K. docs/numerics.md quotes the output.

    /usr/bin/python3 bench/conv_sum_error.py     (needs python3-numpy: scripts/setup.sh python3-numpy)
"""
import sys

try:
    import numpy as np
except ModuleNotFoundError as e:
    sys.exit(f"conv_sum_error: {e}: this probe needs NumPy (scripts/setup.sh python3-numpy)")

rng = np.random.default_rng(1)
for K in (27, 144, 288, 576, 1152, 2304, 4608):
    n = 2000
    a = rng.standard_normal((n, K)).astype(np.float32)
    b = rng.standard_normal((n, K)).astype(np.float32)
    exact = (a.astype(np.float64) * b).sum(1)
    products = a * b
    chain = np.cumsum(products, axis=1, dtype=np.float32)[:, -1]
    blocked = np.zeros(n, np.float32)
    for k0 in range(0, K, 256):
        blocked = (blocked + np.cumsum(products[:, k0:k0 + 256], axis=1, dtype=np.float32)[:, -1]).astype(np.float32)
    rel = lambda y: np.linalg.norm(y - exact) / np.linalg.norm(exact)
    print(f"K={K:5d}  one chain {rel(chain):.2e}  blocks of 256 {rel(blocked):.2e}")
