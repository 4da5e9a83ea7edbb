"""Collective times from aiconfigurator-core's measured NCCL tables."""

import numpy as np
import pytest

from twin.fabric.collectives import collective_time_s
from twin.fabric.nccl import fit_alpha_efficiency, measured_time_s, nccl_table
from twin.layout import load_catalog
from twin.layout.records import hardware_spec

NVLINK_BW = {"gb200-nvl72": 0.9e12, "gb300-nvl72": 0.9e12, "hgx-b200": 0.9e12, "hgx-h100": 0.45e12,
             "hgx-h200": 0.45e12, "rtx-pro-6000-server": 0.064e12}   # (no NVLink: PCIe Gen5 x16)
#: catalog system -> its kernel-table device (``kernel_tables.device`` of the system entry)
DEVICE = {s: hardware_spec(load_catalog().lookup("system", s)).kernel_device for s in NVLINK_BW}


def test_every_catalog_system_has_nccl_tables():
    assert sorted(load_catalog().names("system")) == sorted(DEVICE)
    assert DEVICE == {"gb200-nvl72": "gb200", "gb300-nvl72": "gb300", "hgx-b200": "b200_sxm",
                      "hgx-h100": "h100_sxm", "hgx-h200": "h200_sxm",
                      "rtx-pro-6000-server": "rtx_pro_6000_server"}


@pytest.mark.parametrize("system", sorted(NVLINK_BW))
@pytest.mark.parametrize("op", ["all_reduce", "all_gather", "reduce_scatter", "all_to_all"])
def test_interpolation_reproduces_every_measured_point(system, op):
    table = nccl_table(DEVICE[system], op)
    for p, (n, t) in table.groups.items():
        assert np.allclose(measured_time_s(DEVICE[system], op, n, p, NVLINK_BW[system]), t, rtol=1e-9)


def test_fitted_parameters_are_physical():
    # fitted ring alpha-beta on the measured tables: microsecond latencies, efficiencies below 1
    for system, bw in NVLINK_BW.items():
        alpha, eff = fit_alpha_efficiency(nccl_table(DEVICE[system], "all_reduce"), bw)
        assert 0.5e-6 < alpha < 20e-6, system
        assert 0.3 < eff < 1.0, system


def test_time_grows_with_size_and_group_and_extrapolates_smoothly():
    sizes = np.logspace(3, 9, 25)
    t4 = measured_time_s("gb200", "all_reduce", sizes, 4, 0.9e12)
    # measured latencies are kept as measured: small messages carry ~1 % timing noise
    assert (t4[1:] >= 0.99 * t4[:-1]).all()
    assert t4[-1] > 100 * t4[0]
    t72 = measured_time_s("gb200", "all_reduce", sizes, 72, 0.9e12)
    assert (t72 > t4).all()
    # beyond the table the scaling follows the fitted ring model exactly
    alpha, eff = fit_alpha_efficiency(nccl_table("gb200", "all_reduce"), 0.9e12)
    ratio = (collective_time_s("all_reduce", 1e8, 72, 0.9e12, alpha, "ring", eff)
             / collective_time_s("all_reduce", 1e8, 4, 0.9e12, alpha, "ring", eff))
    assert measured_time_s("gb200", "all_reduce", 1e8, 72, 0.9e12)[0] == pytest.approx(
        measured_time_s("gb200", "all_reduce", 1e8, 4, 0.9e12)[0] * ratio)
    assert measured_time_s("h100_sxm", "all_reduce", 1e6, 1, 0.45e12)[0] == 0.0


def test_uncalibrated_defaults_are_optimistic_against_measurements():
    """The alpha-beta defaults (1 µs, 80 %) are faster than NCCL measures on every system."""
    from twin.fabric.collectives import LINK_PARAMETERS

    d = LINK_PARAMETERS["nvlink"]
    for system, bw in NVLINK_BW.items():
        p, (n, t) = max(nccl_table(DEVICE[system], "all_reduce").groups.items())
        model = collective_time_s("all_reduce", n, p, bw, d["alpha_s"], "ring", d["efficiency"])
        assert np.median(model / t) < 1.0


def test_unknown_device_is_a_clear_error():
    with pytest.raises(KeyError, match="no nccl all_reduce table for device 'mi300x'"):
        nccl_table("mi300x", "all_reduce")


def test_two_unknown_nnls_equals_scipy():
    """The two-unknown NNLS that fits the tables equals scipy's Lawson-Hanson on random problems, including
    those whose unconstrained solution is negative in one or both unknowns."""
    from scipy.optimize import nnls

    from twin.fabric.nccl import _nnls2

    rng = np.random.default_rng(7)
    clipped = 0
    for _ in range(500):
        a, b = rng.normal(size=(20, 2)), rng.normal(size=20)
        ref = nnls(a, b)[0]
        clipped += int((ref == 0).any())
        assert np.allclose(_nnls2(a, b), ref, rtol=1e-12, atol=1e-14)
    assert clipped > 50
