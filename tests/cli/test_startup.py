"""Start-up: a command imports only the heavy libraries its work needs (speed: benchmarks/startup.py)."""

import json
import subprocess
import sys

import pytest

from tests.cli.test_cli import ROOT

PROBE = r"""
import json, sys
from twin.cli import main
sys.argv = ["twin", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = ("CoolProp", "scipy.optimize", "pandas", "networkx", "simpy", "pydantic", "pint", "numpy")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    return set(json.loads(res.stderr.strip().splitlines()[-1]))


def test_help_imports_nothing_heavy():
    assert _imported("--help") == set()


def test_import_twin_is_cheap():
    res = subprocess.run([sys.executable, "-c", "import sys, twin; print(sorted(m for m in sys.modules "
                          "if m.split('.')[0] in ('numpy', 'CoolProp', 'scipy', 'pandas', 'pydantic')))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "[]"


def test_serve_sim_never_imports_coolprop_or_scipy_optimize():
    """(pint imports the bare ``scipy`` package, which is cheap; scipy.optimize costs 0.4-0.9 s.)"""
    mods = _imported("serve-sim", "--system", "hgx-h100", "--gpus", "1", "--model", "llama-3.1-8b",
                     "--rate", "2", "--duration", "5", "--input-tokens", "128", "--output-tokens", "16")
    assert "simpy" in mods
    assert not mods & {"CoolProp", "scipy.optimize"}


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_evaluate_imports_coolprop_only_without_cached_properties(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    args = ("evaluate", "layouts/rack-nvl72.yaml", "--no-n-minus-1")
    if cache == "warm":
        _imported(*args)  # fills the cache
    mods = _imported(*args)
    assert ("CoolProp" in mods) == (cache == "cold")
    assert list(tmp_path.glob("coolprop-*.json"))


def test_cached_properties_are_coolprops_own(tmp_path, monkeypatch):
    """A cached property is the float CoolProp returns, bit for bit (read back from the cache file)."""
    import CoolProp.CoolProp as CP

    from twin.thermal.fluids import PropertyCache

    cache = PropertyCache(tmp_path)
    args = ("HAPropsSI", "Twb", "T", 308.15, "P", 101325.0, "R", 0.4)
    first = cache.call(*args)
    again = PropertyCache(tmp_path).call(*args)
    assert first == again == CP.HAPropsSI(*args[1:])
    assert PropertyCache(None).call("PropsSI", "C", "T", 313.15, "P", 2e5, "Water") == CP.PropsSI(
        "C", "T", 313.15, "P", 2e5, "Water")
