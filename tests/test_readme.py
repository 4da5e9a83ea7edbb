"""The README's examples are true: its layout example loads, and the Python example's names exist."""

import re
from pathlib import Path

import twin

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_layout_example_loads_and_evaluates(tmp_path):
    block = re.search(r"```yaml\n(.*?)```", README, re.S).group(1)
    path = tmp_path / "my-pod.yaml"
    path.write_text(block)
    res = twin.evaluate(twin.load_layout(path), 1.0, with_n_minus_1=False, with_cooling_n_minus_1=False)
    assert res.factory.num_racks == 8
    assert res.cooling is not None
    assert res.fabric.num_clusters == 1
    assert all(res.invariants.values())


def test_python_example_names_exist():
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    for name in re.findall(r"results\.(\w+)", block):
        assert hasattr(twin.Results, name) or name in twin.Results.__dataclass_fields__, name
    assert "twin.serve_sim(" in block
