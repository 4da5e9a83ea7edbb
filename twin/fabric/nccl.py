"""Collective times from measured NCCL tables (aiconfigurator-core), with alpha-beta extrapolation.

The PyPI package ``aiconfigurator-core`` (NVIDIA, Apache-2.0; pinned in ``pyproject.toml``) ships
``systems/data/<device>/comm/nccl/<version>/nccl_perf.parquet``: nccl-tests latencies of all-reduce,
all-gather, reduce-scatter and all-to-all for 2-8 GPUs of one NVLink domain, 256 B to 1 GiB, in
``half`` and ``int8``. Its collector logs ``message_size = bytes / bytes_per_element`` and the
out-of-place time in ms (NVIDIA aiconfigurator ``collector/nccl`` script), so sizes here are
``message_size × 2`` for ``half``. Sizes follow nccl-tests, as in :mod:`twin.fabric.collectives`.

:func:`measured_time_s` interpolates the table log-log in message size at a measured group size;
for larger groups (an NVL72 domain has 72 GPUs, the tables stop at 4 or 8) it scales the largest
measured group by the ratio of the ring alpha-beta times, with ``alpha`` and ``efficiency`` fitted
to that system's table (:func:`fit_alpha_efficiency`). A pure alpha-beta fit misses the tables by
a median 16-34 % (NCCL switches protocols between small and large messages), interpolation by
< 1 % at measured points, which is why the tables are used directly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np

from twin.fabric.collectives import collective_time_s

#: NCCL version of the tables used (present for every catalog system's ``kernel_tables.device`` in
#: aiconfigurator-core 0.12.0: gb200, gb300, b200_sxm, h100_sxm, h200_sxm, rtx_pro_6000_server).
NCCL_VERSION = "2.29.2"

#: TensorRT-LLM version whose custom all-reduce kernels are tabulated for every device above.
TRTLLM_VERSION = "1.3.0rc20"

#: Table source -> (folder under ``comm/``, version, file, scaling algorithm beyond measured groups).
#: ``nccl``: nccl-tests; ``trtllm``: TensorRT-LLM's one-shot/two-shot custom all-reduce (all-reduce
#: only), whose latency hardly grows with the group, hence the NVLS-shaped ``2 alpha + n beta`` law.
SOURCES: dict[str, tuple[str, str, str]] = {
    "nccl": ("nccl", NCCL_VERSION, "nccl_perf.parquet"),
    "trtllm": ("trtllm", TRTLLM_VERSION, "custom_allreduce_perf.parquet"),
}

#: Our operation names -> the table's.
_OPS = {
    "all_reduce": "all_reduce",
    "all_gather": "all_gather",
    "reduce_scatter": "reduce_scatter",
    "all_to_all": "alltoall",
}
_ALGO = {"all_reduce": "ring", "all_gather": "ring", "reduce_scatter": "ring", "all_to_all": "pairwise"}


@dataclass(frozen=True)
class NcclTable:
    """Measured times of one operation on one device: per group size, sizes [bytes] and times [s]."""

    system: str
    op: str
    groups: dict[int, tuple[np.ndarray, np.ndarray]]
    source: str = "nccl"

    @property
    def algorithm(self) -> str:
        """Alpha-beta law used to fit and to extrapolate this table."""
        if self.source == "trtllm":
            return "nvls"
        return _ALGO[self.op]

    @property
    def group_sizes(self) -> list[int]:
        """Group sizes measured in this table, ascending. [GPUs]"""
        return sorted(self.groups)


def nccl_table(device: str, op: str) -> NcclTable:
    """nccl-tests table of a device (a system's ``hardware.kernel_device``). Raises KeyError if none."""
    return device_table(device, op, "nccl")


@functools.cache
def device_table(device: str, op: str, source: str = "nccl") -> NcclTable:
    """Measured table of an aiconfigurator device folder (cached).

    Raises
    ------
    KeyError
        For an unknown operation or source, or when the package has no such table.
    """
    if op not in _OPS:
        raise KeyError(f"unknown collective {op!r}; valid: {', '.join(_OPS)}")
    if source not in SOURCES:
        raise KeyError(f"unknown table source {source!r}; valid: {', '.join(SOURCES)}")
    if source == "trtllm" and op != "all_reduce":
        raise KeyError("TensorRT-LLM custom kernels are tabulated for all_reduce only")
    import pandas as pd

    folder, version, filename = SOURCES[source]
    path = (
        resources.files("aiconfigurator_core")
        / "systems"
        / "data"
        / device
        / "comm"
        / folder
        / version
        / filename
    )
    if not path.is_file():
        raise KeyError(f"aiconfigurator-core has no {source} {op} table for device {device!r}")
    with resources.as_file(path) as p:
        df = pd.read_parquet(p)
    d = df[df["op_name"] == _OPS[op]]
    dtype_col = "nccl_dtype" if "nccl_dtype" in d.columns else "allreduce_dtype"
    two_byte = np.isin(d[dtype_col].to_numpy(), ["half", "bfloat16", "float16"])
    size = d["message_size"].to_numpy(float) * np.where(two_byte, 2.0, 1.0)
    t = d["latency"].to_numpy(float) * 1e-3
    groups = {}
    for g in np.unique(d["num_gpus"].to_numpy()):
        m = d["num_gpus"].to_numpy() == g
        order = np.argsort(size[m], kind="stable")
        s, tt = size[m][order], t[m][order]
        # both dtypes measure the same byte sizes at times; keep the faster (NCCL would pick it)
        uniq, first = np.unique(s, return_index=True)
        best = np.minimum.reduceat(tt, first)
        groups[int(g)] = (uniq, best)
    return NcclTable(device, op, groups, source)


def _nnls2(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Non-negative least squares with two unknowns: ``min |a z - b|`` subject to ``z >= 0``, exactly.

    The problem is a convex quadratic program, so its minimum is the unconstrained least-squares
    solution when that is non-negative, else the best of the solutions with one unknown held at zero
    (the KKT conditions; Lawson & Hanson, *Solving Least Squares Problems*, 1974, ch. 23). Written out
    so that pricing a collective does not import scipy.optimize (0.4-0.9 s).
    """
    z, *_ = np.linalg.lstsq(a, b, rcond=None)
    if (z >= 0).all():
        return float(z[0]), float(z[1])
    best, out = np.inf, (0.0, 0.0)
    for k in (0, 1):
        col = a[:, k]
        zk = max(float(col @ b) / float(col @ col), 0.0) if col @ col > 0 else 0.0
        cand = np.zeros(2)
        cand[k] = zk
        res = float(np.sum((a @ cand - b) ** 2))
        if res < best:
            best, out = res, (float(cand[0]), float(cand[1]))
    return out


def fit_alpha_efficiency(table: NcclTable, bw_bytes_s: float) -> tuple[float, float]:
    """Least-squares (relative) ``alpha_s`` and ``efficiency`` of the table's alpha-beta law. [s], [-]"""
    xs1, xs2, ts = [], [], []
    for p, (n, t) in table.groups.items():
        if table.algorithm == "nvls":  # 2 alpha + n beta
            steps, vol = 2.0, n
        else:
            steps = 2 * (p - 1) if table.op == "all_reduce" else (p - 1)
            vol = (2.0 if table.op == "all_reduce" else 1.0) * (p - 1) / p * n
        xs1.append(np.full_like(n, steps))
        xs2.append(vol)
        ts.append(t)
    x1, x2, t = map(np.concatenate, (xs1, xs2, ts))
    alpha, beta = _nnls2(np.column_stack([x1 / t, x2 / t]), np.ones_like(t))
    return float(alpha), float(1.0 / (beta * bw_bytes_s)) if beta > 0 else 1.0


def measured_time_s(device: str, op: str, size_bytes, num_gpus, bw_bytes_s: float) -> np.ndarray:
    """nccl-tests time of a collective on a device's table; see :func:`table_time_s`. [s]"""
    return table_time_s(nccl_table(device, op), size_bytes, num_gpus, bw_bytes_s)


def table_time_s(table: NcclTable, size_bytes, num_gpus, bw_bytes_s: float) -> np.ndarray:
    """Collective time inside one NVLink domain from the measured table. [s]

    Parameters
    ----------
    table : NcclTable
        From :func:`nccl_table` or :func:`device_table`.
    size_bytes, num_gpus : array_like
        Message size (nccl-tests convention) [bytes] and group size [-].
    bw_bytes_s : float
        NVLink bandwidth per GPU per direction, for the extrapolation law. [bytes/s]

    Notes
    -----
    At a measured group size: log-log interpolation in size (linear extrapolation in log-log beyond
    the measured sizes). Between or beyond measured group sizes ``p``: the nearest measured size
    ``p0`` below (or the smallest), scaled by ``T_ab(p, n) / T_ab(p0, n)`` with the fitted
    alpha-beta model ``T_ab`` (ring; pairwise for all-to-all; NVLS-shaped for TensorRT-LLM's
    custom all-reduce).
    """
    op = table.op
    n = np.atleast_1d(np.asarray(size_bytes, dtype=float))
    p = np.broadcast_to(np.asarray(num_gpus, dtype=float), n.shape)
    alpha, eff = fit_alpha_efficiency(table, bw_bytes_s)
    measured = np.array(table.group_sizes, dtype=float)
    p0 = np.array([measured[measured <= q].max() if (measured <= q).any() else measured.min() for q in p])
    out = np.empty_like(n)
    for g in np.unique(p0):
        sel = p0 == g
        sizes, times = table.groups[int(g)]
        logn = np.log(np.maximum(n[sel], 1.0))
        ls, lt = np.log(sizes), np.log(times)
        t = np.interp(logn, ls, lt)
        lo, hi = logn < ls[0], logn > ls[-1]
        slope_lo = (lt[1] - lt[0]) / (ls[1] - ls[0])
        slope_hi = (lt[-1] - lt[-2]) / (ls[-1] - ls[-2])
        t = np.where(
            lo, lt[0] + slope_lo * (logn - ls[0]), np.where(hi, lt[-1] + slope_hi * (logn - ls[-1]), t)
        )
        out[sel] = np.exp(t)
    ab = collective_time_s(op, n, p, bw_bytes_s, alpha, table.algorithm, eff)
    ab0 = collective_time_s(op, n, p0, bw_bytes_s, alpha, table.algorithm, eff)
    scale = np.divide(ab, ab0, out=np.ones_like(ab), where=ab0 > 0)
    return np.where(p <= 1, 0.0, out * np.where(p == p0, 1.0, scale))
