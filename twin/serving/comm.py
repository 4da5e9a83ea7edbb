"""Collective costs used by the serving model: the one place serving prices communication.

Delegates to the fabric package's alpha-beta collectives (:mod:`twin.fabric.collectives`), with the
algorithm and latency TensorRT-LLM's kernels show:

- TP all-reduce inside an NVLink domain: TensorRT-LLM's one-shot/two-shot custom all-reduce kernels,
  priced from their measured table (aiconfigurator-core 0.12.0,
  ``systems/data/<device>/comm/trtllm/1.3.0rc20/custom_allreduce_perf.parquet``) through
  :func:`twin.fabric.nccl.table_time_s`: exact at measured sizes and group sizes, scaled beyond by the
  table's fitted ``2 alpha + n beta`` law. The hand-set NVLS model below (``alpha = 2.5 us``, the
  measured ~5 us small-message latency; efficiency 0.8) is the fallback for devices without a table;
  against the tables it is off by 0.36-1.9x across sizes and group sizes.
- MoE all-to-all (dispatch/combine): the fabric's pairwise all-to-all with its NVLink parameters; an
  expert-parallel group spanning several NVLink domains (wide EP over the scale-out network) sends the
  share of its tokens bound for other domains through its own NIC while the rest moves over NVLink,
  both at once (:func:`alltoall_time_s` with ``domain_gpus``).
- all-reduce across NVLink domains (dense layers of a wide-EP attention-DP replica): ring over the
  scale-out network with the fabric's Spectrum-X parameters.
- pipeline send/recv and disaggregated KV transfer: the fabric's ``kv_transfer_time_s`` (Spectrum-X
  parameters) over the per-GPU scale-out bandwidth.
"""

from __future__ import annotations

import numpy as np

from twin.fabric.collectives import LINK_PARAMETERS, collective_time_s, kv_transfer_time_s
from twin.fabric.nccl import device_table, table_time_s

#: latency of one step of TensorRT-LLM's custom all-reduce [s] (2 steps ~ 5 us, see above)
ALLREDUCE_ALPHA_S = 2.5e-6
#: NVLink achieved / nominal bandwidth (fabric's figure)
NVLINK_EFFICIENCY = LINK_PARAMETERS["nvlink"]["efficiency"]
#: NVLink step latency (fabric's figure) [s]
NVLINK_ALPHA_S = LINK_PARAMETERS["nvlink"]["alpha_s"]


def allreduce_time_s(message_bytes, num_gpus: int, link_bw_bytes_s: float, device: str | None = None):
    """All-reduce of ``message_bytes`` over ``num_gpus`` NVLink GPUs [s] (scalar or array); 0 for one.

    ``device`` is the aiconfigurator device folder (``HardwareSpec.kernel_device``); with a measured
    TensorRT-LLM table for it the table is used, else the NVLS-shaped alpha-beta fallback.
    """
    if device is not None and num_gpus > 1:
        try:
            table = device_table(device, "all_reduce", "trtllm")
        except (KeyError, ModuleNotFoundError):
            table = None
        if table is not None:
            out = table_time_s(table, message_bytes, num_gpus, link_bw_bytes_s)
            return out if np.ndim(message_bytes) else float(out[0])
    return collective_time_s(
        "all_reduce",
        message_bytes,
        num_gpus,
        link_bw_bytes_s,
        ALLREDUCE_ALPHA_S,
        algorithm="nvls",
        efficiency=NVLINK_EFFICIENCY,
    )


def alltoall_time_s(bytes_per_gpu, num_gpus: int, link_bw_bytes_s: float, *, domain_gpus: int | None = None,
                    scale_out_bw_bytes_s: float | None = None):
    """All-to-all where each GPU sends ``bytes_per_gpu`` in total, over NVLink [s]; 0 for one GPU.

    With ``domain_gpus < num_gpus`` the group spans ``num_gpus / domain_gpus`` NVLink domains. A GPU's
    traffic is spread evenly over the group (uniform routing): the share ``(domain_gpus - 1) / num_gpus``
    goes over NVLink to its ``domain_gpus - 1`` domain peers, the share ``(num_gpus - domain_gpus) /
    num_gpus`` over its NIC (``scale_out_bw_bytes_s``, Spectrum-X alpha and efficiency, one step per
    remote domain); both proceed at once, so the time is the larger of the two.
    """
    if domain_gpus is None or domain_gpus >= num_gpus:
        return collective_time_s(
            "all_to_all",
            bytes_per_gpu,
            num_gpus,
            link_bw_bytes_s,
            NVLINK_ALPHA_S,
            algorithm="pairwise",
            efficiency=NVLINK_EFFICIENCY,
        )
    b = np.asarray(bytes_per_gpu, dtype=float)
    eth = LINK_PARAMETERS["spectrum-x"]
    intra = np.where(b > 0, (domain_gpus - 1) * NVLINK_ALPHA_S
                     + b * (domain_gpus - 1) / num_gpus / (link_bw_bytes_s * NVLINK_EFFICIENCY), 0.0)
    remote_domains = num_gpus // domain_gpus - 1
    inter = np.where(b > 0, remote_domains * eth["alpha_s"]
                     + b * (num_gpus - domain_gpus) / num_gpus / (scale_out_bw_bytes_s * eth["efficiency"]),
                     0.0)
    return np.maximum(intra, inter)


def scale_out_allreduce_time_s(message_bytes, num_gpus: int, scale_out_bw_bytes_s: float):
    """Ring all-reduce of ``message_bytes`` over ``num_gpus`` GPUs bounded by their NICs [s]."""
    eth = LINK_PARAMETERS["spectrum-x"]
    return collective_time_s("all_reduce", message_bytes, num_gpus, scale_out_bw_bytes_s, eth["alpha_s"],
                             algorithm="ring", efficiency=eth["efficiency"])


def transfer_time_s(num_bytes, link_bw_bytes_s: float, num_gpus: int = 1):
    """Point-to-point transfer over the scale-out network (PP send/recv, KV transfer) [s]."""
    return kv_transfer_time_s(num_bytes, num_gpus, link_bw_bytes_s)
