"""Collective costs used by the serving model — PLACEHOLDER until ``twin.fabric.collectives`` exists.

This is the one place where serving prices communication. It is a plain alpha-beta model:
``t = alpha + volume / (link_bw * efficiency)``. When the fabric package's collective costs land,
replace the bodies of these functions with calls into it and delete the constants below.

Sources for the constants (shared/reference/inference-measurements.md, section (c) "Tensor-parallel
communication" and 1.8):

- NVLink per-GPU bandwidth, one direction, is half the bidirectional figure of the system catalog
  (H100/H200 NVLink 4: 450 GB/s; B200/GB200 NVLink 5: 900 GB/s).
- Achieved bus bandwidth of large all-reduces on H100 DGX is ~350-450 GB/s of 450 GB/s
  (Vidur NCCL profile), hence ``NVLINK_EFFICIENCY = 0.8``.
- Small-message latency: "alpha ~5-10 us per step"; TensorRT-LLM's custom one-shot all-reduce
  measures 3-6 us at 16 KiB on H100 and B200 (aiconfigurator-core 0.12.0,
  ``systems/data/{h100_sxm,b200_sxm}/comm/trtllm/1.3.0rc20/custom_allreduce_perf.parquet``), hence
  ``NVLINK_ALPHA_S = 5 us``.
- Scale-out (RoCE/InfiniBand) 400 Gb/s = 50 GB/s per GPU; alpha of an RDMA transfer taken as
  10 us (assumption: NIC + switch hops + software, typical RDMA small-message latency 2-10 us).
"""

from __future__ import annotations

#: latency term of one NVLink collective [s]
NVLINK_ALPHA_S = 5e-6
#: achieved / nominal NVLink bandwidth for large messages
NVLINK_EFFICIENCY = 0.8
#: latency term of one scale-out (Ethernet/IB) transfer [s]
SCALE_OUT_ALPHA_S = 10e-6
#: achieved / nominal scale-out bandwidth
SCALE_OUT_EFFICIENCY = 0.8


def allreduce_time_s(message_bytes, num_gpus: int, link_bw_bytes_s: float,
                     alpha_s: float = NVLINK_ALPHA_S, efficiency: float = NVLINK_EFFICIENCY):
    """Ring all-reduce of ``message_bytes`` over ``num_gpus`` GPUs [s] (scalar or array).

    Notes
    -----
    ``t = alpha + 2 (N-1)/N * M / (B * eff)``; zero for one GPU.
    """
    if num_gpus <= 1:
        return message_bytes * 0.0
    return alpha_s + 2.0 * (num_gpus - 1) / num_gpus * message_bytes / (link_bw_bytes_s * efficiency)


def alltoall_time_s(bytes_per_gpu, num_gpus: int, link_bw_bytes_s: float,
                    alpha_s: float = NVLINK_ALPHA_S, efficiency: float = NVLINK_EFFICIENCY):
    """All-to-all where each GPU sends ``bytes_per_gpu`` spread over the others [s].

    Notes
    -----
    ``t = alpha + (N-1)/N * V / (B * eff)``; zero for one GPU.
    """
    if num_gpus <= 1:
        return bytes_per_gpu * 0.0
    return alpha_s + (num_gpus - 1) / num_gpus * bytes_per_gpu / (link_bw_bytes_s * efficiency)


def transfer_time_s(num_bytes, link_bw_bytes_s: float, alpha_s: float = SCALE_OUT_ALPHA_S,
                    efficiency: float = SCALE_OUT_EFFICIENCY):
    """Point-to-point transfer (pipeline send/recv, disaggregated KV transfer) [s]."""
    return alpha_s + num_bytes / (link_bw_bytes_s * efficiency)
