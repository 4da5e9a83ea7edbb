"""One inference site of the grid: its serving model (fluid), its power and its cost.

A site is a catalog system, a GPU count and one deployment; its replicas are served by the fluid
model of the coupled twin (:class:`twin.serving.fluid.FluidModel`), vectorised, with the requests it
is given as one mixture (rate-weighted mean lengths, the prompts' spread for the prefill wait). Its
GPUs draw :func:`twin.power.parts.gpu_activity_power_w` of the fluid activity shares at the site's
clock; a power cap lowers that clock by the cubic DVFS law of :mod:`twin.power.gpu` (at full
activity: ``c = ((cap P_TDP - P_idle) / (P_TDP - P_idle))^(1/3)``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from twin.engine.scenario import deployment_of
from twin.errors import ServingInputError
from twin.layout.catalog_io import Catalog
from twin.layout.records import lookup_specs
from twin.layout.schema_grid import RequestClass, Site
from twin.power.gpu import CLOCK_POWER_EXPONENT
from twin.power.parts import gpu_activity_power_w
from twin.serving.fluid import FluidCurve, FluidModel, request_latency_samples
from twin.serving.perf_model import PerfModel
from twin.serving.workload import LengthDist, parse_length

#: Cost of one GPU-hour besides electricity when a site gives none [USD]: SemiAnalysis' AI Cloud TCO
#: per GPU-hour as InferenceX uses it (shared/reference dynamics: H100 $1.30, H200 $1.41, B200 $1.95,
#: GB200 $2.21, GB300 $2.65; "$/M tok = TCO_$/GPU/hr x 1e6 / (3600 x tok/s/GPU)"). The tiers include
#: power; used as the non-energy cost they count it twice by a few per cent. Systems not listed need
#: ``gpu_hour_cost``.
GPU_HOUR_USD: dict[str, float] = {
    "hgx-h100": 1.30,
    "hgx-h200": 1.41,
    "hgx-b200": 1.95,
    "gb200-nvl72": 2.21,
    "gb300-nvl72": 2.65,
}

#: Bytes of text per token on the network (Llama 3's tokenizer: "3.94 characters per token" on English,
#: Llama 3 paper, arXiv:2407.21783, 3.2; one byte per character)
BYTES_PER_TOKEN = 3.94


@dataclass(frozen=True)
class ClassLengths:
    """A request class's length distributions and their means."""

    input_len: LengthDist
    output_len: LengthDist
    mean_input: float
    mean_output: float


def class_lengths(c: RequestClass) -> ClassLengths:
    """Parse a class's lengths (the serve-sim syntax)."""
    lin, lout = parse_length(str(c.input_tokens), "input"), parse_length(str(c.output_tokens), "output")
    return ClassLengths(lin, lout, lin.mean, lout.mean)


class SiteModel:
    """A site's replicas, clock, power and cost; raises :class:`ServingInputError` naming the field."""

    def __init__(self, site: Site, catalog: Catalog) -> None:
        self.site = site
        mspec, hspec = lookup_specs(site.system, site.model, catalog)
        dep = deployment_of(site, catalog)
        self.perf = PerfModel(mspec, hspec, dep)
        self.fluid = FluidModel(self.perf)
        self.replicas = site.gpus // dep.num_gpus
        if self.replicas < 1:
            raise ServingInputError(
                f"{site.gpus} GPUs cannot hold one replica of TP{dep.tp} x PP{dep.pp}", field="gpus"
            )
        entry = catalog.lookup("system", site.system)
        self.idle_w, self.tdp_w = entry.gpu.idle_power.si, entry.gpu.tdp.si
        self.min_clock = entry.gpu.min_clock_factor.si
        self.clock = self._clock_at(site.power_cap)
        #: out of service (an outage event): serves nothing, draws nothing, its GPUs still paid for
        self.down = False
        self.gpu_hour_usd = (
            site.gpu_hour_cost if site.gpu_hour_cost is not None else GPU_HOUR_USD.get(site.system)
        )
        if self.gpu_hour_usd is None:
            raise ServingInputError(
                f"no default cost per GPU-hour for {site.system}: give `gpu_hour_cost` "
                f"(known: {', '.join(GPU_HOUR_USD)})",
                field="gpu_hour_cost",
            )

    def _clock_at(self, power_cap: float | None) -> float:
        """Clock factor under a cap on the share of full-load GPU power (cubic DVFS law, floored)."""
        if power_cap is None:
            return 1.0
        x = (power_cap * self.tdp_w - self.idle_w) / (self.tdp_w - self.idle_w)
        return float(np.clip(max(x, 0.0) ** (1.0 / CLOCK_POWER_EXPONENT), self.min_clock, 1.0))

    def during(self, power_cap: float | None = None, down: bool = False) -> SiteModel:
        """The site during an event: under a further power cap, or down.

        Under two caps (the site's own and the event's) the lower applies; the serving model is shared.
        """
        out = copy.copy(self)
        if down:
            out.down = True
            return out
        if power_cap is not None:
            cap = power_cap if self.site.power_cap is None else min(power_cap, self.site.power_cap)
            out.site = self.site.model_copy(update={"power_cap": cap})
            out.clock = self._clock_at(cap)
        return out

    def curve(self, rate_per_s: float, mean_input: float, mean_output: float, input_cv2: float) -> FluidCurve:
        """Steady state of one replica when the site serves ``rate_per_s`` requests/s in all."""
        return self.fluid.curve(
            np.array([max(rate_per_s, 1e-9) / self.replicas]),
            mean_input,
            mean_output,
            clock_factor=self.clock,
            input_cv2=input_cv2,
        )

    def capacity_per_s(self, mean_input: float, mean_output: float) -> float:
        """Requests/s the whole site completes when saturated with this mixture."""
        per_replica = self.fluid.capacity_per_s(mean_input, mean_output, clock_factor=self.clock)
        return float(per_replica) * self.replicas

    def latency_samples(
        self,
        curve: FluidCurve,
        lengths: ClassLengths,
        n: int,
        rng: np.random.Generator,
        mean_input: float,
        mean_output: float,
    ) -> dict[str, np.ndarray]:
        """TTFT, TPOT and end-to-end latency at the site [s] of ``n`` requests of one class."""
        lin = lengths.input_len.sample(n, rng).astype(float)
        lout = lengths.output_len.sample(n, rng).astype(float)
        return request_latency_samples(
            self.fluid, curve, np.zeros(n, dtype=int), lin, lout, rng, mean_input, mean_output
        )

    def power_w(self, curve: FluidCurve | None) -> tuple[float, float]:
        """``(gpu_w, site_w)``: GPU power of the site at this state, and with the site's overhead."""
        if self.down:
            return 0.0, 0.0
        n_busy = self.replicas * self.perf.dep.num_gpus
        idle = self.site.gpus - n_busy
        if curve is None:
            g = self.site.gpus * self.idle_w
        else:
            p = gpu_activity_power_w(
                curve.compute_fraction[0], curve.memory_fraction[0], self.clock, self.idle_w, self.tdp_w
            )
            g = float(p) * n_busy + idle * self.idle_w
        return g, g * self.site.power_overhead

    def cost_per_h(self, site_w: float) -> float:
        """Electricity and GPU-hours of the site for one hour [USD]."""
        return site_w / 1e6 * self.site.power_price + self.site.gpus * self.gpu_hour_usd
