"""Alpha-beta cost of collectives and KV-cache transfers, inside NVLink or across Spectrum-X.

Every function is vectorised over message size and group size. Sizes follow nccl-tests: for
all-reduce ``size`` is the buffer each GPU holds; for all-gather and reduce-scatter it is the
*gathered* (full) buffer; for all-to-all it is what each GPU sends in total. Bandwidths are per
GPU and per direction; ``alpha_s`` is the latency of one algorithm step.

References
----------
.. [1] R. Thakur, R. Rabenseifner, W. Gropp, "Optimization of collective communication operations
   in MPICH," Int. J. High Perf. Comput. Appl., vol. 19, no. 1, pp. 49-66, 2005,
   doi:10.1177/1094342005051521 (ring/recursive algorithms, alpha-beta costs).
.. [2] NVIDIA, "nccl-tests: performance" (algbw vs busbw, factor 2(n-1)/n for all-reduce),
   github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md.
.. [3] S. Jeaugey, "Massively scale your deep learning training with NCCL 2.4" (double binary
   trees: log-latency all-reduce at full bandwidth), NVIDIA Technical Blog, 2019.
.. [4] NVIDIA, NCCL 2.17+ release notes and "NVLink SHARP" (NVLS: reductions in the NVLink
   switch, each GPU sends and receives the buffer once), docs.nvidia.com/deeplearning/nccl.
"""

from __future__ import annotations

import numpy as np

#: Per link class: ``alpha_s`` latency of one algorithm step [s] and ``efficiency``, the share of
#: the link bandwidth a large collective reaches [-]. Assumptions, not calibrated against measured
#: NCCL tables yet:
#: - nvlink: alpha 1 µs (NCCL intra-node step latency is of order 1 µs); efficiency 0.8, the
#:   nccl-tests ring all-reduce bus bandwidth of ~360 GB/s on an 8 x H100 NVLink-4 node against its
#:   450 GB/s per direction (commonly reported; not re-measured here).
#: - spectrum-x: alpha 5 µs (NIC, 3-5 switch hops of ~0.5-1 µs, RoCE); efficiency 0.9, below
#:   NVIDIA's "95 % effective bandwidth" Spectrum-X marketing figure to leave room for ECMP collisions.
LINK_PARAMETERS: dict[str, dict[str, float]] = {
    "nvlink": {"alpha_s": 1.0e-6, "efficiency": 0.80},
    "spectrum-x": {"alpha_s": 5.0e-6, "efficiency": 0.90},
}

#: Algorithms per operation; NVLS (NVLink SHARP) only inside an NVLink domain with NVLink switches.
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "all_reduce": ("ring", "tree", "nvls"),
    "all_gather": ("ring", "nvls"),
    "reduce_scatter": ("ring", "nvls"),
    "all_to_all": ("pairwise",),
}


def link_parameters(link: str) -> dict[str, float]:
    """``alpha_s`` and ``efficiency`` of a link class; an unknown name lists the valid ones."""
    try:
        return LINK_PARAMETERS[link]
    except KeyError:
        raise ValueError(f"unknown link class {link!r}; valid: {', '.join(LINK_PARAMETERS)}") from None


def _check(op: str, algorithm: str) -> None:
    if op not in ALGORITHMS:
        raise ValueError(f"unknown collective {op!r}; valid: {', '.join(ALGORITHMS)}")
    if algorithm not in ALGORITHMS[op]:
        raise ValueError(f"unknown algorithm {algorithm!r} for {op}; valid: {', '.join(ALGORITHMS[op])}")


def collective_time_s(op: str, size_bytes, num_gpus, bw_bytes_s, alpha_s, algorithm: str = "ring",
                      efficiency=1.0) -> np.ndarray:
    """Time of one collective over a flat group of GPUs on one kind of link (alpha-beta model).

    Parameters
    ----------
    op : str
        ``all_reduce``, ``all_gather``, ``reduce_scatter`` or ``all_to_all``.
    size_bytes : array_like
        Message size ``n`` (see module docstring for its meaning per operation). [bytes]
    num_gpus : array_like
        Group size ``p`` (1 costs nothing). [-]
    bw_bytes_s : array_like
        Bandwidth per GPU, per direction ``B``. [bytes/s]
    alpha_s : array_like
        Latency of one step ``α``. [s]
    algorithm : str
        One of :data:`ALGORITHMS` for ``op``.
    efficiency : array_like
        Share of ``B`` reached ``η``. [-]

    Returns
    -------
    numpy.ndarray
        Time. [s]

    Notes
    -----
    With ``β = 1/(η·B)`` [1]_ [3]_ [4]_:

    - all-reduce, ring: ``2(p-1)·α + 2(p-1)/p · n·β``
    - all-reduce, tree: ``2·ceil(log2 p)·α + 2 · n·β``
    - all-reduce, NVLS: ``2·α + n·β`` (reduce in the switch, multicast back)
    - all-gather / reduce-scatter, ring: ``(p-1)·α + (p-1)/p · n·β``; NVLS: ``α + (p-1)/p · n·β``
    - all-to-all, pairwise: ``(p-1)·α + (p-1)/p · n·β``
    """
    _check(op, algorithm)
    n = np.asarray(size_bytes, dtype=float)
    p = np.asarray(num_gpus, dtype=float)
    beta = 1.0 / (np.asarray(efficiency, dtype=float) * np.asarray(bw_bytes_s, dtype=float))
    a = np.asarray(alpha_s, dtype=float)
    frac = (p - 1.0) / np.maximum(p, 1.0)
    if op == "all_reduce":
        if algorithm == "ring":
            t = 2 * (p - 1) * a + 2 * frac * n * beta
        elif algorithm == "tree":
            t = 2 * np.ceil(np.log2(np.maximum(p, 1.0))) * a + 2 * n * beta
        else:
            t = 2 * a + n * beta
    elif op in ("all_gather", "reduce_scatter"):
        t = (a if algorithm == "nvls" else (p - 1) * a) + frac * n * beta
    else:
        t = (p - 1) * a + frac * n * beta
    return np.where(p <= 1, 0.0, t)


def hierarchical_time_s(op: str, size_bytes, num_gpus, domain_gpus, nvlink_bw_bytes_s, net_bw_bytes_s,
                        intra: str = "ring", inter: str = "ring",
                        nvlink: dict[str, float] | None = None,
                        network: dict[str, float] | None = None) -> np.ndarray:
    """Time of a collective over ``num_gpus`` GPUs spread over NVLink domains of ``domain_gpus``.

    Parameters
    ----------
    op : str
        As :func:`collective_time_s`.
    size_bytes : array_like
        Message size. [bytes]
    num_gpus : array_like
        Group size ``p``; the group fills domains of ``g = min(p, domain_gpus)`` GPUs, so
        ``D = ceil(p/g)`` domains take part. [-]
    domain_gpus : array_like
        GPUs per NVLink domain (72 for NVL72, 8 for HGX). [-]
    nvlink_bw_bytes_s, net_bw_bytes_s : array_like
        Per-GPU bandwidth per direction inside the domain and across Spectrum-X (NICs per GPU x
        NIC speed / oversubscription where traffic crosses oversubscribed leaves). [bytes/s]
    intra, inter : str
        Algorithms inside the domain (``ring``, ``nvls``) and across domains (``ring``, ``tree``).
    nvlink, network : dict, optional
        ``alpha_s`` and ``efficiency``; default :data:`LINK_PARAMETERS`.

    Returns
    -------
    numpy.ndarray
        Time. [s]

    Notes
    -----
    NCCL-style hierarchy [2]_: all-reduce = reduce-scatter inside (n, g) + all-reduce across
    (n/g, D) + all-gather inside (n, g); all-gather = all-gather across (n/g, D) + all-gather
    inside (n, g); reduce-scatter mirrors it; all-to-all = max of the NVLink part
    ``(g-1)/p · n`` and the network part ``(p-g)/p · n``, sent in parallel, plus their step
    latencies. With one domain (``D = 1``) only the NVLink part remains.
    """
    nv = nvlink or LINK_PARAMETERS["nvlink"]
    nt = network or LINK_PARAMETERS["spectrum-x"]
    n = np.asarray(size_bytes, dtype=float)
    p = np.asarray(num_gpus, dtype=float)
    g = np.minimum(p, np.asarray(domain_gpus, dtype=float))
    d = np.ceil(p / g)
    inter_ar = inter
    inter_ag = "ring" if inter == "tree" else inter

    def on_nvl(o, size, grp, alg):
        return collective_time_s(o, size, grp, nvlink_bw_bytes_s, nv["alpha_s"], alg, nv["efficiency"])

    def on_net(o, size, grp, alg):
        return collective_time_s(o, size, grp, net_bw_bytes_s, nt["alpha_s"], alg, nt["efficiency"])

    if op == "all_reduce":
        t = on_nvl("reduce_scatter", n, g, intra) + on_net("all_reduce", n / g, d, inter_ar) \
            + on_nvl("all_gather", n, g, intra)
        flat = on_nvl("all_reduce", n, g, intra)
    elif op == "all_gather":
        t = on_net("all_gather", n / g, d, inter_ag) + on_nvl("all_gather", n, g, intra)
        flat = on_nvl("all_gather", n, g, intra)
    elif op == "reduce_scatter":
        t = on_nvl("reduce_scatter", n, g, intra) + on_net("reduce_scatter", n / g, d, inter_ag)
        flat = on_nvl("reduce_scatter", n, g, intra)
    elif op == "all_to_all":
        t_nvl = (g - 1) * nv["alpha_s"] + (g - 1) / p * n / (nv["efficiency"] * np.asarray(nvlink_bw_bytes_s))
        t_net = (d - 1) * nt["alpha_s"] + (p - g) / p * n / (nt["efficiency"] * np.asarray(net_bw_bytes_s))
        t = np.maximum(t_nvl, t_net)
        flat = collective_time_s("all_to_all", n, g, nvlink_bw_bytes_s, nv["alpha_s"], "pairwise",
                                 nv["efficiency"])
    else:
        _check(op, "ring")
        raise AssertionError  # pragma: no cover
    return np.where(d <= 1, flat, t)


def kv_transfer_time_s(kv_bytes, num_gpus, bw_bytes_s, alpha_s=None, efficiency=None) -> np.ndarray:
    """Time to move a KV cache from a prefill replica to a decode replica.

    Parameters
    ----------
    kv_bytes : array_like
        KV-cache size of the request(s) being moved. [bytes]
    num_gpus : array_like
        GPUs of the prefill replica sending their shards in parallel (tensor-parallel size). [-]
    bw_bytes_s : array_like
        Per-GPU bandwidth per direction of the path: NVLink when both replicas share an NVLink
        domain, else NICs per GPU x NIC speed. [bytes/s]
    alpha_s, efficiency : array_like, optional
        Latency and efficiency; default the ``spectrum-x`` entry of :data:`LINK_PARAMETERS`.

    Returns
    -------
    numpy.ndarray
        ``α + kv_bytes / (num_gpus · η · B)``. [s]
    """
    prm = LINK_PARAMETERS["spectrum-x"]
    a = prm["alpha_s"] if alpha_s is None else alpha_s
    eta = prm["efficiency"] if efficiency is None else efficiency
    return np.asarray(a, dtype=float) + np.asarray(kv_bytes, dtype=float) / (
        np.asarray(num_gpus, dtype=float) * np.asarray(eta, dtype=float) * np.asarray(bw_bytes_s, dtype=float)
    )
