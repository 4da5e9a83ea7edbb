"""Coolant properties from CoolProp: water and propylene-glycol mixtures (e.g. PG25).

Properties are taken at a representative loop temperature and pressure and cached; within a loop's
10-20 K range the specific heat of water changes by < 0.2 % (IAPWS-95 via CoolProp), so a constant
per loop is used in the vectorised models.

References
----------
.. [1] I. H. Bell, J. Wronski, S. Quoilin, V. Lemort, "Pure and Pseudo-pure Fluid Thermophysical
   Property Evaluation and the Open-Source Thermophysical Property Library CoolProp", Ind. Eng.
   Chem. Res. 53(6), 2498-2508, 2014. DOI 10.1021/ie4033999
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import CoolProp.CoolProp as CP

#: Coolant name in layouts -> CoolProp fluid string. MPG = mass-based propylene glycol (incompressible).
COOLANTS: dict[str, str] = {
    "water": "Water",
    "pg25": "INCOMP::MPG[0.25]",
    "pg30": "INCOMP::MPG[0.30]",
    "eg25": "INCOMP::MEG[0.25]",
}

#: Loop pressure at which properties are taken: 2 bar(a), inside the 2-6 bar range of TCS loops
#: (shared/reference hardware-and-facility.md 1.4). Liquid properties barely depend on it.
LOOP_PRESSURE_PA = 2.0e5


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
    cp = CP.PropsSI("C", "T", t_k, "P", LOOP_PRESSURE_PA, fluid)
    rho = CP.PropsSI("D", "T", t_k, "P", LOOP_PRESSURE_PA, fluid)
    return Coolant(name, float(cp), float(rho))


def air_cp_j_kg_k() -> float:
    """Specific heat of dry air at 30 °C, 1 atm (CoolProp). [J/(kg K)]"""
    return float(CP.PropsSI("C", "T", 303.15, "P", 101325.0, "Air"))


def wet_bulb_c(dry_bulb_c: float, relative_humidity: float, pressure_pa: float = 101325.0) -> float:
    """Thermodynamic wet-bulb temperature of moist air (CoolProp HAPropsSI). [°C]"""
    return float(
        CP.HAPropsSI("Twb", "T", dry_bulb_c + 273.15, "P", pressure_pa, "R", relative_humidity) - 273.15
    )


#: Latent heat of vaporisation of water at 25 °C, 2.442 MJ/kg (IAPWS-95 via CoolProp), used for the
#: water evaporated by adiabatic pre-cooling.
LATENT_HEAT_J_KG = 2.442e6


@functools.cache
def boiling_point_c(pressure_pa: float = LOOP_PRESSURE_PA) -> float:
    """Saturation temperature of water at the loop pressure (120.2 °C at 2 bar; CoolProp). [°C]

    Used as the upper limit of every liquid loop: glycol mixtures boil slightly higher, so water's
    value is the conservative bound. A steady state above it does not exist (the loop would boil).
    """
    return float(CP.PropsSI("T", "P", pressure_pa, "Q", 0.0, "Water") - 273.15)
