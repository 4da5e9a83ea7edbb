"""Collective costs used by the serving model: the one place serving prices communication.

Delegates to the fabric package's alpha-beta collectives (:mod:`twin.fabric.collectives`), with the
algorithm and latency TensorRT-LLM's kernels show:

- TP all-reduce inside an NVLink domain: TensorRT-LLM uses one-shot/NVLS-style custom all-reduce
  kernels whose small-message latency hardly grows with the group: 3-6 us at 16 KiB on 2 and 8 H100
  or B200 GPUs (aiconfigurator-core 0.12.0,
  ``systems/data/{h100_sxm,b200_sxm}/comm/trtllm/1.3.0rc20/custom_allreduce_perf.parquet``). Modelled as
  the fabric's ``nvls`` all-reduce, ``2 alpha + n beta``, with ``alpha = 2.5 us`` so that ``2 alpha``
  is the measured ~5 us; efficiency the fabric's NVLink 0.8.
- MoE all-to-all (dispatch/combine): the fabric's pairwise all-to-all with its NVLink parameters.
- pipeline send/recv and disaggregated KV transfer: the fabric's ``kv_transfer_time_s`` (Spectrum-X
  parameters) over the per-GPU scale-out bandwidth.
"""

from __future__ import annotations

from twin.fabric.collectives import LINK_PARAMETERS, collective_time_s, kv_transfer_time_s

#: latency of one step of TensorRT-LLM's custom all-reduce [s] (2 steps ~ 5 us, see above)
ALLREDUCE_ALPHA_S = 2.5e-6
#: NVLink achieved / nominal bandwidth (fabric's figure)
NVLINK_EFFICIENCY = LINK_PARAMETERS["nvlink"]["efficiency"]
#: NVLink step latency (fabric's figure) [s]
NVLINK_ALPHA_S = LINK_PARAMETERS["nvlink"]["alpha_s"]


def allreduce_time_s(message_bytes, num_gpus: int, link_bw_bytes_s: float):
    """All-reduce of ``message_bytes`` over ``num_gpus`` NVLink GPUs [s] (scalar or array); 0 for one."""
    return collective_time_s("all_reduce", message_bytes, num_gpus, link_bw_bytes_s, ALLREDUCE_ALPHA_S,
                             algorithm="nvls", efficiency=NVLINK_EFFICIENCY)


def alltoall_time_s(bytes_per_gpu, num_gpus: int, link_bw_bytes_s: float):
    """All-to-all where each GPU sends ``bytes_per_gpu`` in total, over NVLink [s]; 0 for one GPU."""
    return collective_time_s("all_to_all", bytes_per_gpu, num_gpus, link_bw_bytes_s, NVLINK_ALPHA_S,
                             algorithm="pairwise", efficiency=NVLINK_EFFICIENCY)


def transfer_time_s(num_bytes, link_bw_bytes_s: float, num_gpus: int = 1):
    """Point-to-point transfer over the scale-out network (PP send/recv, KV transfer) [s]."""
    return kv_transfer_time_s(num_bytes, num_gpus, link_bw_bytes_s)
