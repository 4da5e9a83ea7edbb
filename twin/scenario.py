"""A scenario as plain records: a factory plus what runs on it, the weather, policies and events.

Built by :mod:`twin.layout.scenario` from a scenario file (every reference resolved to indices into
the :class:`~twin.factory.Factory` arrays); read by the coupled engine (:mod:`twin.engine.coupled`).
A foundation module like :mod:`twin.factory`: it holds data, no physics, and imports only the
foundation records. Times are seconds from the start of the run; ``RunSettings.start_hour`` places
t = 0 in the day (weather and daily rate profiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.factory import EconomicsPlan, Factory, Where

#: Kinds of components an event may trip or restore, and where their counts live.
POWER_KINDS = ("feed", "switchgear", "transformer", "ups", "busway", "ups_module")
COOLING_KINDS = ("cdu", "cdu_pump", "facility_pump", "dry_cooler", "cooling_tower", "trim_chiller", "crah",
                 "air_chiller", "room_crah", "room_chiller")


@dataclass(frozen=True)
class RunSettings:
    """Length and resolution of a run."""

    duration_s: float
    physics_step_s: float = 1.0
    serving_epoch_s: float = 10.0
    start_hour: float = 0.0  # time of day at t = 0 [h]
    serving: str = "fluid"  # fluid | discrete
    seed: int = 0
    mode: str = "transient"  # transient | annual (hourly quasi-steady points)


@dataclass(frozen=True)
class WorkloadSpec:
    """What arrives at one deployment: a mean rate, its shape over time, and request lengths.

    ``rate_per_s`` is the deployment's total mean arrival rate; ``hourly_factor`` (24 values, mean 1
    need not hold) multiplies it by hour of day, ``profile`` (a serving rate-profile string such as
    ``diurnal:86400,0.3``) by time since the start. Lengths are serving length strings
    (``fixed:2048``, ``normal:2048,512`` ...), parsed by the engine.
    """

    rate_per_s: float
    input_tokens: str
    output_tokens: str
    profile: str = "constant"
    hourly_factor: tuple[float, ...] | None = None
    where: Where | None = None
    trace: str | None = None  # a CSV of requests (path) instead of a rate; rate_per_s is then 0


@dataclass(frozen=True)
class PrefillPlan:
    """The prefill pool of a disaggregated deployment: racks (all of one system) and replica shape."""

    racks: np.ndarray
    system: str
    tp: int
    pp: int
    ep: int
    attention_dp: bool
    max_batch: int
    max_num_tokens: int
    where: Where | None = None


@dataclass(frozen=True)
class DeploymentPlan:
    """One deployment of a model on a set of racks (all of one system).

    With ``prefill`` it is disaggregated: ``racks`` and the shape are its decode pool.
    """

    name: str
    racks: np.ndarray  # rack indices
    model: str  # catalog names, resolved by the engine
    system: str
    precision: str
    tp: int
    pp: int
    ep: int
    attention_dp: bool
    max_batch: int  # per replica, or per attention-DP rank when attention_dp
    max_num_tokens: int
    workload: WorkloadSpec
    slo_ttft_s: float | None = None
    slo_tpot_s: float | None = None
    where: Where | None = None
    prefill: PrefillPlan | None = None
    #: speculative decoding in the ``--speculative`` syntax (None: off)
    speculative: str | None = None


@dataclass(frozen=True)
class Weather:
    """Dry bulb and relative humidity at hourly (or any regular) points from ``start_s``."""

    step_s: float
    dry_bulb_c: np.ndarray
    relative_humidity: np.ndarray  # 0..1
    source: str
    start_s: float = 0.0  # time of the first point, from the start of the weather series [s]

    def at(self, t_s: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Linear interpolation of (dry bulb, RH) at times ``t_s`` since the series start.

        Held at the ends.
        """
        x = (np.asarray(t_s, dtype=float) - self.start_s) / self.step_s
        i = np.arange(len(self.dry_bulb_c))
        return np.interp(x, i, self.dry_bulb_c), np.interp(x, i, self.relative_humidity)


@dataclass(frozen=True)
class PowerCap:
    """A power limit at one scope: a rack's input, a hall's IT input, or the site at the meter. [W]"""

    scope: str  # rack | hall | site
    target: str  # rack name glob, hall name, or "" for the site
    cap_w: float
    racks: np.ndarray  # racks it limits


@dataclass(frozen=True)
class Smoothing:
    """NVIDIA GPU power smoothing (NVML ``nvmlPowerSmoothing``): floor and ramp limits per GPU."""

    floor_fraction: float  # PERCENT_TMP_FLOOR: floor as a share of TGP (here the GPU's TDP)
    ramp_up_w_s: float
    ramp_down_w_s: float
    ramp_down_hysteresis_s: float
    racks: np.ndarray


@dataclass(frozen=True)
class RackStorage:
    """Rack energy storage in the power shelves, holding each rack's grid draw to ramp limits.

    The storage itself (energy, power, efficiency) is the system's (catalog ``energy_storage``); see
    :mod:`twin.power.storage`.
    """

    ramp_up_w_s: float  # per rack, of its DC draw from the grid
    ramp_down_w_s: float
    time_constant_s: float  # of the grid draw's moving average and of the drift back to half charge
    racks: np.ndarray


@dataclass(frozen=True)
class ThrottleCurve:
    """Clock factor against GPU temperature above its throttle temperature (piecewise linear)."""

    excess_k: tuple[float, ...]
    clock_factor: tuple[float, ...]


@dataclass(frozen=True)
class Policies:
    """Power caps, GPU power smoothing, rack energy storage and the thermal-throttle curve."""

    caps: tuple[PowerCap, ...] = ()
    smoothing: Smoothing | None = None
    storage: RackStorage | None = None
    throttle: ThrottleCurve = field(default_factory=lambda: ThrottleCurve((0.0, 2.0), (1.0, 0.5)))


@dataclass(frozen=True)
class Event:
    """Something that happens at ``time_s``.

    ``kind`` is ``trip`` / ``restore`` (``component``: a power node index or a cooling unit, see
    ``component_kind``, ``index`` and ``count``), ``setpoint`` (``loop``, ``values``: new supply
    temperatures), ``load_step`` (``deployment``, ``factor``), ``training`` (a job on ``racks`` from
    ``time_s`` to ``end_s``: ``period_s``, ``duty``, ``high``/``low`` GPU power as a share of TDP) or
    ``demand_response`` (a site target ``fraction`` of the power at its start, from ``time_s`` to
    ``end_s``, reached within ``ramp_s``).
    """

    time_s: float
    kind: str
    label: str
    component_kind: str = ""
    index: int = -1  # power node, CDU group or loop index
    count: int = 1
    loop: int = -1
    values: dict = field(default_factory=dict)
    deployment: int = -1
    factor: float = 1.0
    racks: np.ndarray | None = None
    end_s: float = float("inf")
    period_s: float = 0.0
    duty: float = 0.0
    high: float = 0.0
    low: float = 0.0
    fraction: float = 1.0
    ramp_s: float = 0.0
    where: Where | None = None


@dataclass(frozen=True)
class Scenario:
    """Everything a coupled run needs, resolved against its factory."""

    name: str
    description: str
    source_file: str
    factory: Factory
    run: RunSettings
    deployments: tuple[DeploymentPlan, ...]
    weather: Weather | None  # None: the layout's design ambient, constant
    policies: Policies
    events: tuple[Event, ...]
    economics: EconomicsPlan | None = None

    def replace(self, **changes) -> Scenario:
        """A copy with fields replaced (e.g. ``events=()`` for the reference run)."""
        from dataclasses import replace

        return replace(self, **changes)
