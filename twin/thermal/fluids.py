"""Coolant properties from CoolProp: water and propylene-glycol mixtures (e.g. PG25).

Properties are taken at a representative loop temperature and pressure and cached; within a loop's
10-20 K range the specific heat of water changes by < 0.2 % (IAPWS-95 via CoolProp), so a constant
per loop is used in the vectorised models.

CoolProp 8 takes ~3 s of CPU to import (it loads every fluid). Every property this module asks for is
therefore kept in a small on-disk cache keyed by the CoolProp version and the exact call
(:class:`PropertyCache`): a process whose properties are all cached never imports CoolProp, and gets the
bit-identical floats CoolProp returned (JSON keeps a float's shortest round-trip form). The cache lives
in ``$TWIN_CACHE_DIR`` (default ``$XDG_CACHE_HOME/ai-factory-twin`` or ``~/.cache/ai-factory-twin``);
``TWIN_CACHE_DIR=off`` disables it. An unwritable folder only costs speed.

References
----------
.. [1] I. H. Bell, J. Wronski, S. Quoilin, V. Lemort, "Pure and Pseudo-pure Fluid Thermophysical
   Property Evaluation and the Open-Source Thermophysical Property Library CoolProp", Ind. Eng.
   Chem. Res. 53(6), 2498-2508, 2014. DOI 10.1021/ie4033999
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

#: Coolant name in layouts -> CoolProp fluid string. MPG = mass-based propylene glycol (incompressible).
COOLANTS: dict[str, str] = {
    "water": "Water",
    "pg25": "INCOMP::MPG[0.25]",
    "pg30": "INCOMP::MPG[0.30]",
    "eg25": "INCOMP::MEG[0.25]",
}

#: Loop pressure at which properties are taken: 2 bar(a), inside the 2-6 bar range of TCS loops
#: (resistancezero.com liquid-cooling commissioning checklist: "loop pressure 2-6 bar", medium
#: confidence). Liquid properties barely depend on it.
LOOP_PRESSURE_PA = 2.0e5


#: Least time between two writes of the property cache file. [s]
SAVE_INTERVAL_S = 2.0


class PropertyCache:
    """CoolProp calls memoised in memory and on disk, keyed by CoolProp version and arguments.

    ``call("PropsSI", "C", "T", 308.15, "P", 2e5, "Water")`` returns what
    ``CoolProp.CoolProp.PropsSI(...)`` returns, importing CoolProp only on a miss. A miss is written
    to the file at once unless the file was written less than :data:`SAVE_INTERVAL_S` ago; then it
    goes with the next write, or when the process exits (a sweep over continuous temperatures
    misses a few properties per point, and rewriting a file of thousands of entries each time cost
    ~40 ms per point).
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._values: dict[str, float] | None = None
        self._path: Path | None = None
        self._saved_at = -math.inf
        self._pending = False

    @classmethod
    def from_environment(cls) -> PropertyCache:
        """The cache folder named by ``TWIN_CACHE_DIR`` / ``XDG_CACHE_HOME`` (None when ``off``)."""
        env = os.environ.get("TWIN_CACHE_DIR")
        if env is not None:
            return cls(None if env.strip().lower() in ("off", "0", "") else Path(env))
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return cls(Path(base) / "ai-factory-twin")

    def _load(self) -> dict[str, float]:
        if self._values is None:
            self._values = {}
            if self.folder is not None:
                from importlib.metadata import PackageNotFoundError, version

                try:
                    ver = version("CoolProp")
                except PackageNotFoundError:  # pragma: no cover - CoolProp is a dependency
                    ver = "unknown"
                self._path = self.folder / f"coolprop-{ver}.json"
                try:
                    data = json.loads(self._path.read_text(encoding="utf-8"))
                    if isinstance(data, dict):
                        self._values = {k: float(v) for k, v in data.items() if isinstance(v, int | float)}
                except (OSError, ValueError):
                    pass
        return self._values

    def call(self, function: str, *args: str | float) -> float:
        """``CoolProp.CoolProp.<function>(*args)`` through the cache. [SI]"""
        args = tuple(a if isinstance(a, str) else float(a) for a in args)
        values = self._load()
        key = json.dumps([function, *args])
        if key in values:
            return values[key]
        import CoolProp.CoolProp as CP

        out = float(getattr(CP, function)(*args))
        values[key] = out
        if time.monotonic() - self._saved_at >= SAVE_INTERVAL_S:
            self._save()
        elif not self._pending:
            self._pending = True
            atexit.register(self.flush)
        return out

    def flush(self) -> None:
        """Write the misses not yet written."""
        if self._pending:
            self._save()

    def _save(self) -> None:
        self._pending = False
        self._saved_at = time.monotonic()
        if self._path is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".coolprop-", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._values, f, indent=0, sort_keys=True)
            os.chmod(tmp, 0o644)  # readable by others sharing the folder (mkstemp makes it 0600)
            os.replace(tmp, self._path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


@functools.cache
def _cache() -> PropertyCache:
    return PropertyCache.from_environment()


def _props(function: str, *args: str | float) -> float:
    return _cache().call(function, *args)


@dataclass(frozen=True)
class Coolant:
    """Properties of a coolant at one temperature."""

    name: str
    cp_j_kg_k: float
    density_kg_m3: float


@functools.cache
def coolant(name: str, temp_c: float = 35.0) -> Coolant:
    """Specific heat and density of a coolant at ``temp_c`` (cached).

    Raises
    ------
    KeyError
        For an unknown coolant, listing the valid names.
    """
    if name not in COOLANTS:
        raise KeyError(f"unknown coolant {name!r}; valid coolants: {', '.join(COOLANTS)}")
    fluid = COOLANTS[name]
    t_k = temp_c + 273.15
    cp = _props("PropsSI", "C", "T", t_k, "P", LOOP_PRESSURE_PA, fluid)
    rho = _props("PropsSI", "D", "T", t_k, "P", LOOP_PRESSURE_PA, fluid)
    return Coolant(name, float(cp), float(rho))


def air_cp_j_kg_k() -> float:
    """Specific heat of dry air at 30 °C, 1 atm (CoolProp). [J/(kg K)]"""
    return _props("PropsSI", "C", "T", 303.15, "P", 101325.0, "Air")


def wet_bulb_c(dry_bulb_c: float, relative_humidity: float, pressure_pa: float = 101325.0) -> float:
    """Thermodynamic wet-bulb temperature of moist air (CoolProp HAPropsSI). [°C]"""
    t_k = float(dry_bulb_c) + 273.15
    return _props("HAPropsSI", "Twb", "T", t_k, "P", pressure_pa, "R", relative_humidity) - 273.15


def saturation_pressure_pa(temp_c: ArrayLike) -> np.ndarray:
    r"""Saturation pressure of water vapour over liquid water (t >= 0 °C) or ice (t < 0 °C). [Pa]

    Hyland and Wexler (1983) as given in ASHRAE Handbook - Fundamentals 2017, ch. 1, eq. (5) and (6)
    (T in K): :math:`\ln p_{ws} = C_8/T + C_9 + C_{10} T + C_{11} T^2 + C_{12} T^3 + C_{13} \ln T`.
    """
    t = np.asarray(temp_c, dtype=float) + 273.15
    liquid = (-5.8002206e3 / t + 1.3914993 - 4.8640239e-2 * t + 4.1764768e-5 * t**2 - 1.4452093e-8 * t**3
              + 6.5459673 * np.log(t))
    ice = (-5.6745359e3 / t + 6.3925247 - 9.6778430e-3 * t + 6.2215701e-7 * t**2 + 2.0747825e-9 * t**3
           - 9.4840240e-13 * t**4 + 4.1635019 * np.log(t))
    return np.exp(np.where(t >= 273.15, liquid, ice))


def wet_bulb_psychrometric_c(dry_bulb_c: ArrayLike, relative_humidity: ArrayLike,
                             pressure_pa: float = 101325.0, iterations: int = 40) -> np.ndarray:
    """Thermodynamic wet bulb of moist air, vectorised (ASHRAE psychrometric equations). [°C]

    For weather series (thousands of points), where :func:`wet_bulb_c` would call CoolProp per point.
    The humidity ratio of the air, :math:`W = 0.621945\\, p_w / (p - p_w)` with
    :math:`p_w = RH\\, p_{ws}(t)`, equals the one the wet-bulb equation gives at :math:`t^*`
    (ASHRAE Handbook - Fundamentals 2017, ch. 1, eq. (33); eq. (35) below 0 °C):

    .. math:: W = \frac{(2501 - 2.326\\,t^*) W_s^* - 1.006 (t - t^*)}{2501 + 1.86\\,t - 4.186\\,t^*}

    solved for :math:`t^*` by bisection (the right side rises with :math:`t^*`). Agrees with CoolProp's
    HAPropsSI within 0.1 K over -20..55 °C (tested).
    """
    t = np.asarray(dry_bulb_c, dtype=float)
    rh = np.clip(np.asarray(relative_humidity, dtype=float), 0.0, 1.0)
    t, rh = np.broadcast_arrays(t, rh)
    pw = rh * saturation_pressure_pa(t)
    w = 0.621945 * pw / (pressure_pa - pw)

    def w_at(ts: np.ndarray) -> np.ndarray:
        ps = saturation_pressure_pa(ts)
        ws = 0.621945 * ps / (pressure_pa - ps)
        warm = ((2501.0 - 2.326 * ts) * ws - 1.006 * (t - ts)) / (2501.0 + 1.86 * t - 4.186 * ts)
        cold = ((2830.0 - 0.24 * ts) * ws - 1.006 * (t - ts)) / (2830.0 + 1.86 * t - 2.1 * ts)
        return np.where(ts >= 0.0, warm, cold)

    lo = np.full(t.shape, -100.0)
    hi = t.astype(float).copy()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = w_at(mid) > w
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return 0.5 * (lo + hi)


#: Latent heat of vaporisation of water at 25 °C, 2.442 MJ/kg (IAPWS-95 via CoolProp), used for the
#: water evaporated by adiabatic pre-cooling.
LATENT_HEAT_J_KG = 2.442e6


@functools.cache
def boiling_point_c(pressure_pa: float = LOOP_PRESSURE_PA) -> float:
    """Saturation temperature of water at the loop pressure (120.2 °C at 2 bar; CoolProp). [°C]

    Used as the upper limit of every liquid loop: glycol mixtures boil slightly higher, so water's
    value is the conservative bound. A steady state above it does not exist (the loop would boil).
    """
    return _props("PropsSI", "T", "P", pressure_pa, "Q", 0.0, "Water") - 273.15
