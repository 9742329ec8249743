#!/usr/bin/python3
"""Rounding error of Winograd F(4x4, 3x3) in float32, simulated with NumPy, per choice of points.

    /usr/bin/python3 bench/winograd_error.py [--channels C] [--block B]
    (needs python3-numpy: scripts/setup.sh python3-numpy)

Builds A^T, G, B^T by the Toom-Cook construction for a set of finite interpolation points (plus
the point at infinity), checks that they compute a 1-D correlation exactly, and measures the
relative error ||y - exact|| / ||exact|| of one 4x4 output tile per 6x6 patch over C input
channels (default 64; 2,000 tiles, normal data), in float32: U = G g G^T rounded once from
double (as typenet does), V = B^T d B in float32, the transformed-domain sum over channels
accumulated in float32 one channel after another in blocks of B channels whose sums are then
added (as the GEMM micro-kernel does: B = 32, wino4_kc in src/kernels/fast_impl.hpp; --block 0
sums all C in one chain), Y = A^T M A in float32. Then it splits the error into its sources,
each rounded alone. The direct convolution's error, summed in float32 in one chain, is printed
for scale. docs/numerics.md quotes the output.
"""
import argparse
import sys
from fractions import Fraction as F

try:
    import numpy as np
except ModuleNotFoundError as e:
    sys.exit(f"winograd_error: {e}: this probe needs NumPy (scripts/setup.sh python3-numpy)")


def polymul(a, b):
    r = [F(0)] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for k, y in enumerate(b):
            r[i + k] += x * y
    return r


def toom_cook(points, m=4, r=3):
    n = m + r - 1
    pts = [F(p) for p in points]
    assert len(pts) == n - 1
    AT = [[p ** i for p in pts] + [F(1 if i == m - 1 else 0)] for i in range(m)]
    G = []
    for j, p in enumerate(pts):
        N = F(1)
        for l, q in enumerate(pts):
            if l != j:
                N *= p - q
        G.append([p ** k / N for k in range(r)])
    G.append([F(0)] * (r - 1) + [F(1)])
    BT = []
    for j in range(n - 1):
        poly = [F(1)]
        for l, q in enumerate(pts):
            if l != j:
                poly = polymul(poly, [-q, F(1)])
        BT.append(poly + [F(0)] * (n - len(poly)))
    poly = [F(1)]
    for q in pts:
        poly = polymul(poly, [-q, F(1)])
    BT.append(poly[:n])
    return [np.array(M, dtype=np.float64) for M in (AT, G, BT)]


def main():
    ap = argparse.ArgumentParser(description="Rounding error of Winograd F(4x4, 3x3) in float32.")
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--block", type=int, default=32, help="channels per float32 chain (0: one chain)")
    args = ap.parse_args()
    C, T = args.channels, 2000
    block = args.block if args.block > 0 else C
    rng = np.random.default_rng(0)
    d = rng.standard_normal((T, C, 6, 6)).astype(np.float32)
    g = rng.standard_normal((C, 3, 3)).astype(np.float32)
    dd, gd = d.astype(np.float64), g.astype(np.float64)
    exact = np.zeros((T, 4, 4))
    for u in range(3):
        for v in range(3):
            exact += np.einsum('tcij,c->tij', dd[:, :, u:u + 4, v:v + 4], gd[:, u, v])
    rel = lambda y: np.sqrt(np.sum((y - exact) ** 2) / np.sum(exact ** 2))

    direct = np.zeros((T, 4, 4), np.float32)
    for c in range(C):
        for u in range(3):
            for v in range(3):
                direct = (direct + d[:, c, u:u + 4, v:v + 4] * g[c, u, v]).astype(np.float32)
    print(f"{C} channels, channel sums in blocks of {block}")
    print(f"direct convolution, float32 sums: {rel(direct):.2e}")

    for points in ([0, 1, -1, 2, -2], [0, 1, -1, F(1, 2), -2], [0, 1, -1, F(1, 2), F(-1, 2)]):
        AT, G, BT = toom_cook(points)
        x, w = rng.standard_normal(6), rng.standard_normal(3)
        assert np.allclose(AT @ ((G @ w) * (BT @ x)), [x[i:i + 3] @ w for i in range(4)])
        Ud = np.einsum('ik,ckl,jl->cij', G, gd, G)
        Vd = np.einsum('ik,tckl,jl->tcij', BT, dd, BT)
        U32 = Ud.astype(np.float32)
        B32, A32 = BT.astype(np.float32), AT.astype(np.float32)
        V32 = np.einsum('ik,tckl,jl->tcij', B32, d, B32).astype(np.float32)

        def run(U, V, gemm32, out32):
            if gemm32:
                M = np.zeros((T, 6, 6), np.float32)
                for c0 in range(0, C, block):
                    part = np.zeros((T, 6, 6), np.float32)
                    for c in range(c0, min(C, c0 + block)):
                        part = (part + U[c].astype(np.float32) * V[:, c].astype(np.float32)).astype(np.float32)
                    M = (M + part).astype(np.float32)
            else:
                M = np.einsum('cij,tcij->tij', U.astype(np.float64), V.astype(np.float64))
            if out32:
                return np.einsum('ik,tkl,jl->tij', A32, M.astype(np.float32), A32).astype(np.float32)
            return np.einsum('ik,tkl,jl->tij', AT, M.astype(np.float64), AT)

        name = ", ".join(str(p) for p in points)
        print(f"points {{{name}, inf}}: all float32 {rel(run(U32, V32, True, True)):.2e}; alone: "
              f"U {rel(run(U32, Vd, False, False)):.2e}, V {rel(run(Ud, V32, False, False)):.2e}, "
              f"channel sum {rel(run(Ud, Vd, True, False)):.2e}, output transform {rel(run(Ud, Vd, False, True)):.2e}")


if __name__ == "__main__":
    main()
