"""Agentic chains: a request made of several LLM calls in sequence, as the user sees it.

An agent answers one request with ``N`` calls (plan, tool calls, answer), each waiting for the one
before it to finish. With its loop at the ``client`` every call crosses the network; with the loop
beside the ``site`` only the request and the final answer do. Between two calls the agent runs a tool
for ``tool_time``. The user waits for the final call's first token:

    TTFT_chain = sum_{k<N} (net_k + E2E_k) + (N - 1) tool_time + net_N + TTFT_N
    E2E_chain  = TTFT_chain + (E2E_N - TTFT_N)

with ``net_k`` the round trip of call ``k`` (zero for ``k < N`` when the loop is at the site) and
``TTFT_k`` / ``E2E_k`` the site's latencies of call ``k``; the TPOT the user sees is the final call's.
Each call is an independent draw from the site's steady state (the site serves ``N`` times the chain
rate, so the load is right; a call's latency does not depend on the one before it). A single call
(``N = 1``) is the plain request: ``net + TTFT``.
"""

from __future__ import annotations

import numpy as np

from twin.grid.placement import Z99


def round_trips(calls: int, loop: str) -> int:
    """Network round trips of one request: one per call with the loop at the client, else one."""
    return calls if loop == "client" else 1


def chain_latency(
    site: dict[str, np.ndarray], net: np.ndarray, calls: int, tool_s: float
) -> dict[str, np.ndarray]:
    """User-visible latencies [s] of ``n`` chains (see the module notes).

    ``site``: ``ttft_s``, ``tpot_s``, ``e2e_s`` of ``n * calls`` calls (chain ``i`` is calls
    ``i*calls .. i*calls + calls - 1``, the last its final call); ``net``: the network time of each
    chain, all its round trips summed. Returns ``ttft``, ``tpot``, ``e2e``, ``net`` of each chain.
    """
    n = len(net)
    if calls == 1:
        return {"ttft": net + site["ttft_s"], "tpot": site["tpot_s"], "e2e": net + site["e2e_s"], "net": net}
    ttft = site["ttft_s"].reshape(n, calls)
    e2e = site["e2e_s"].reshape(n, calls)
    tpot = site["tpot_s"].reshape(n, calls)
    before = e2e[:, :-1].sum(axis=1) + (calls - 1) * tool_s
    first = net + before + ttft[:, -1]
    return {"ttft": first, "tpot": tpot[:, -1], "e2e": first + (e2e[:, -1] - ttft[:, -1]), "net": net}


def network_time(
    rng: np.random.Generator, latency_s: float, jitter_s: float, n: int, trips: int
) -> np.ndarray:
    """Network time of ``n`` requests of ``trips`` round trips each, every trip normal and clipped at 0."""
    if trips == 1:
        return np.maximum(rng.normal(latency_s, jitter_s, n), 0.0)
    return np.maximum(rng.normal(latency_s, jitter_s, (n, trips)), 0.0).sum(axis=1)


def network_p99(latency_s: float, jitter_s: float, trips: int) -> float:
    """The 99th percentile of ``trips`` independent round trips summed (normal): ``m L + 2.326 sqrt(m) J``."""
    return trips * latency_s + Z99 * np.sqrt(trips) * jitter_s
