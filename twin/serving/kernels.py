"""Measured GEMM latencies from NVIDIA's aiconfigurator-core kernel tables, interpolated.

aiconfigurator-core (Apache-2.0, pinned 0.12.0 in pyproject.toml) ships silicon measurements as
Parquet tables under ``aiconfigurator_core/systems/data/<gpu>/gemm/trtllm/<version>/gemm_perf.parquet``
with columns ``gemm_dtype, m, n, k, latency`` (latency in ms) on a full grid of m x n x k. We read
only those tables (never import the package: its compiled SDK is not needed) and interpolate
log-latency trilinearly in (log m, log n, log k); beyond the grid latency is scaled linearly with
the out-of-range dimension (GEMM work and weight bytes are both linear in each of m, n, k).

If the package or the GPU's table is missing, :func:`load_gemm_table` returns ``None`` and the
performance model falls back to the roofline.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

#: TensorRT-LLM version whose tables are used (the newest common to H100/H200/B200/GB200 in 0.12.0).
TRTLLM_VERSION = "1.3.0rc20"
#: our precision name -> aiconfigurator ``gemm_dtype``
GEMM_DTYPES: dict[str, str] = {"bf16": "bfloat16", "fp8": "fp8", "fp4": "nvfp4"}


def data_dir() -> Path | None:
    """Folder of aiconfigurator-core's kernel tables, without importing the package."""
    spec = importlib.util.find_spec("aiconfigurator_core")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "systems" / "data"
    return path if path.is_dir() else None


class GemmTable:
    """Latency of ``y[m,n] = x[m,k] W[k,n]`` on one GPU at one precision, from a measured grid."""

    def __init__(self, m: np.ndarray, n: np.ndarray, k: np.ndarray, latency_s: np.ndarray,
                 source: str) -> None:
        self.m, self.n, self.k = (np.asarray(a, dtype=float) for a in (m, n, k))
        self.log_lat = np.log(latency_s)
        self.source = source

    @staticmethod
    def _axis(grid: np.ndarray, x: np.ndarray):
        """Index below, weight and linear scale for out-of-range values along one log axis."""
        xc = np.clip(x, grid[0], grid[-1])
        lg, lx = np.log(grid), np.log(xc)
        i = np.clip(np.searchsorted(lg, lx, side="right") - 1, 0, len(grid) - 2)
        w = (lx - lg[i]) / (lg[i + 1] - lg[i])
        scale = np.where(x > grid[-1], x / grid[-1], 1.0)
        return i, w, scale

    def latency_s(self, m, n: int, k: int) -> np.ndarray:
        """Interpolated latency [s] for an array of ``m`` at fixed ``n, k``; 0 where m <= 0."""
        m = np.atleast_1d(np.asarray(m, dtype=float))
        out = np.zeros_like(m)
        pos = m > 0
        if not pos.any():
            return out
        im, wm, sm = self._axis(self.m, m[pos])
        inn, wn, sn = self._axis(self.n, np.array([float(n)]))
        ik, wk, sk = self._axis(self.k, np.array([float(k)]))
        inn, wn, sn, ik, wk, sk = inn[0], wn[0], sn[0], ik[0], wk[0], sk[0]
        acc = 0.0
        for dm, fm in ((0, 1 - wm), (1, wm)):
            for dn, fn in ((0, 1 - wn), (1, wn)):
                for dk, fk in ((0, 1 - wk), (1, wk)):
                    acc = acc + fm * fn * fk * self.log_lat[im + dm, inn + dn, ik + dk]
        out[pos] = np.exp(acc) * sm * sn * sk
        return out


@lru_cache(maxsize=16)
def load_gemm_table(device: str, precision: str) -> GemmTable | None:
    """The measured GEMM grid of one GPU (aiconfigurator directory name) and precision, or None."""
    root = data_dir()
    dtype = GEMM_DTYPES.get(precision)
    if root is None or dtype is None:
        return None
    path = root / device / "gemm" / "trtllm" / TRTLLM_VERSION / "gemm_perf.parquet"
    if not path.is_file():
        return None
    import pandas as pd  # only needed here; pandas/pyarrow come with aiconfigurator-core

    df = pd.read_parquet(path, columns=["gemm_dtype", "m", "n", "k", "latency"])
    df = df[df["gemm_dtype"] == dtype]
    if df.empty:
        return None
    # several kernel sources may measure one shape: the engine picks the fastest
    df = df.groupby(["m", "n", "k"], as_index=False)["latency"].min()
    ms, ns, ks = (np.sort(df[c].unique()) for c in ("m", "n", "k"))
    cube = np.full((len(ms), len(ns), len(ks)), np.nan)
    cube[np.searchsorted(ms, df["m"]), np.searchsorted(ns, df["n"]), np.searchsorted(ks, df["k"])] = (
        df["latency"].to_numpy() * 1e-3)
    # a few grid cells are not measured: fill them by log-log interpolation along m, then k, then n
    for axis, grid in ((0, ms), (2, ks), (1, ns)):
        if not np.isnan(cube).any():
            break
        moved = np.moveaxis(cube, axis, -1)
        for idx in np.ndindex(moved.shape[:-1]):
            line = moved[idx]
            ok = ~np.isnan(line)
            if ok.sum() >= 2 and not ok.all():
                line[~ok] = np.exp(np.interp(np.log(grid[~ok]), np.log(grid[ok]), np.log(line[ok])))
    if np.isnan(cube).any():
        return None
    cube = close_subadditive(ms.astype(float), cube)
    return GemmTable(ms, ns, ks, cube, f"aiconfigurator-core 0.12.0 {device}/gemm/trtllm/{TRTLLM_VERSION} "
                                     f"({dtype})")


def close_subadditive(ms: np.ndarray, cube: np.ndarray) -> np.ndarray:
    """Make measured latency sub-additive in ``m``: ``t(m) <= t(m1) + t(m - m1)``.

    A GEMM of ``m`` rows can always be issued as two GEMMs of ``m1`` and ``m - m1`` rows, so a measured
    point slower than that is a badly tuned tactic or a noisy sample (the b200_sxm NVFP4 table has
    ``n=8192, k=28672``: 354 us at m=2048 but 204 us at 1536 and 76 us at 512), not what an engine
    that autotunes per shape runs. Grid rows are closed in ascending ``m`` (axis 0 of ``cube``),
    the remainder ``m - m1`` log-log interpolated from the rows already closed; about 2 % of the
    cells of the Blackwell tables and 6-14 % of the Hopper ones change.
    """
    lm = np.log(ms)
    out = cube.copy()
    for i in range(1, len(ms)):
        for j in range(i):
            rest = ms[i] - ms[j]
            if rest < ms[0] or rest > ms[i - 1]:
                continue
            k = int(np.searchsorted(ms[:i], rest, side="right") - 1)
            if ms[k] == rest:
                other = out[k]
            else:
                w = (np.log(rest) - lm[k]) / (lm[k + 1] - lm[k])
                other = np.exp((1 - w) * np.log(out[k]) + w * np.log(out[k + 1]))
            np.minimum(out[i], out[j] + other, out=out[i])
    return out


#: our precision name -> aiconfigurator ``moe_dtype`` candidates, first found is used
MOE_DTYPES: dict[str, tuple[str, ...]] = {
    "bf16": ("bfloat16",),
    "fp8": ("fp8", "fp8_block", "w4a16_mxfp4"),
    "fp4": ("nvfp4", "w4a8_mxfp4_mxfp8", "w4a16_mxfp4"),
}
#: token-to-expert routing of the measurement: a mildly skewed power law (the tables also hold
#: ``balanced`` and ``power_law_1.2``); real routing is never perfectly balanced.
MOE_DISTRIBUTION = ("power_law_1.01", "balanced")


@lru_cache(maxsize=32)
def load_moe_table(device: str, precision: str, hidden: int, inter: int, topk: int, num_experts: int,
                   moe_tp: int, moe_ep: int) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Measured latency of one MoE layer (routed experts, per GPU) vs tokens, or None.

    Returns ``(num_tokens, latency_s, source)`` from
    ``aiconfigurator_core/systems/data/<device>/moe/trtllm/1.3.0rc20/moe_perf.parquet`` for the exact
    expert shape and parallelism; several kernel sources are reduced to the fastest.
    """
    root = data_dir()
    if root is None:
        return None
    path = root / device / "moe" / "trtllm" / TRTLLM_VERSION / "moe_perf.parquet"
    if not path.is_file():
        return None
    import pandas as pd

    df = pd.read_parquet(path)
    df = df[(df["hidden_size"] == hidden) & (df["inter_size"] == inter) & (df["topk"] == topk)
            & (df["num_experts"] == num_experts) & (df["moe_tp_size"] == moe_tp)
            & (df["moe_ep_size"] == moe_ep)]
    for dtype in MOE_DTYPES.get(precision, ()):
        for dist in MOE_DISTRIBUTION:
            sel = df[(df["moe_dtype"] == dtype) & (df["distribution"] == dist)]
            if len(sel) >= 2:
                g = sel.groupby("num_tokens")["latency"].min()
                return (g.index.to_numpy(dtype=float), g.to_numpy() * 1e-3,
                        f"aiconfigurator-core 0.12.0 {device}/moe/trtllm/{TRTLLM_VERSION} ({dtype}, {dist})")
    return None


def interp_loglog(x: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Log-log interpolation of measured ``ys(xs)``; linear scaling above the last point; 0 at x<=0."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    pos = x > 0
    xc = np.clip(x[pos], xs[0], xs[-1])
    y = np.exp(np.interp(np.log(xc), np.log(xs), np.log(ys)))
    out[pos] = y * np.where(x[pos] > xs[-1], x[pos] / xs[-1], 1.0)
    return out
