"""N-1 transfer rules on small layouts built from the round-number hand catalog."""

import pytest

from twin.power.failover import n_minus_1

HEAD = """
name: t
catalog: [{catalog}]
utility_feeds:
  - {{name: ua, rating: 5 MW}}
  - {{name: ub, rating: 5 MW}}
  - {{name: uc, rating: 5 MW}}
  - {{name: ud, rating: 5 MW}}
halls:
  - name: h
    rows:
      - {{name: r, count: {rows}, racks_per_row: {rpr}, system: hand-rack}}
    lineups:
      - name: main
        redundancy: {red}
        feeds: {feeds}
        switchgear: hand-swgr
        transformer: hand-xfmr
        ups: {{model: hand-ups, modules: {modules}}}
        busway: hand-busway
        racks_per_busway: {rpb}
        busways_per_block: {bpb}
"""


@pytest.fixture
def layout(write_layout):
    from tests.conftest import POWER_DATA

    def _make(**kw):
        args = dict(
            catalog=str(POWER_DATA / "catalog"),
            rows=1,
            rpr=4,
            red="2N",
            feeds="[ua, ub]",
            modules=1,
            rpb=2,
            bpb=2,
        )
        args.update(kw)
        return write_layout(HEAD.format(**args))

    return _make


def _by_name(cases):
    return {c.failed: c for c in cases}


def test_2n_survives_and_the_other_side_takes_the_whole_load(layout):
    f = layout()
    base, cases = n_minus_1(f, 1.0)
    assert all(c.survives for c in cases)
    a_ups = "h/main/blk01A/ups"
    i = list(f.power.name).index("h/main/blk01B/ups")
    # fail side A's UPS: side B's UPS now carries all four racks (~4 x 10.14 kW + busway losses)
    import numpy as np

    from twin.power.network import solve_power

    failed = np.zeros(len(f.power), bool)
    failed[list(f.power.name).index(a_ups)] = True
    flow = solve_power(f, 1.0, failed_nodes=failed)
    # every rack now draws through its B PSUs only; their input (fewer PSUs, each more loaded)
    # all flows through side B's UPS
    assert flow.node_load_w[i] == pytest.approx(flow.rack_input_w.sum(), rel=1e-3)
    assert flow.node_load_w[i] > 1.9 * base.node_load_w[i]
    assert flow.rack_powered.all()


def test_single_corded_design_drops_racks(layout):
    f = layout(red="N", feeds="[ua]")
    _, cases = n_minus_1(f, 1.0)
    bw = _by_name(cases)["h/main/blk01/bw01"]
    assert not bw.survives
    assert bw.racks_dropped == 2
    assert bw.power_dropped_w == pytest.approx(2 * 10140.0, rel=1e-3)


def test_undersized_ups_is_overloaded_after_failover(layout):
    # 60 racks x 10.14 kW = 608 kW: each 500 kW UPS carries ~304 kW, then all of it alone.
    f = layout(rows=6, rpr=10, rpb=10, bpb=6)
    _, cases = n_minus_1(f, 1.0)
    case = _by_name(cases)["h/main/blk01A/ups"]
    assert not case.survives
    assert any(o.name == "h/main/blk01B/ups" and o.loading > 1.15 for o in case.overloaded)


def test_4n3_spreads_a_failed_block_over_its_partners(layout):
    import numpy as np

    from twin.power.network import solve_power

    f = layout(red="4N/3", feeds="[ua, ub, uc, ud]", rows=6, rpr=2, rpb=2, bpb=3)
    names = list(f.power.name)
    ups = [names.index(f"h/main/blk01{x}/ups") for x in "ABCD"]
    base = solve_power(f, 1.0)
    failed = np.zeros(len(names), bool)
    failed[ups[0]] = True
    after = solve_power(f, 1.0, failed_nodes=failed)
    assert after.rack_powered.all()
    # block A's load moves to B, C and D; the group total is unchanged (up to loss changes)
    before = base.node_load_w[ups].sum()
    assert after.node_load_w[ups[1:]].sum() == pytest.approx(before, rel=0.02)
    assert (after.node_load_w[ups[1:]] > base.node_load_w[ups[1:]]).all()


def test_ups_module_failure_and_generator_pickup(layout, write_layout):
    f = layout(modules=2)
    _, cases = n_minus_1(f, 1.0)
    kinds = {c.kind for c in cases}
    assert {"ups_module", "power_shelf", "feed", "busway"} <= kinds
    assert _by_name(cases)["h/main/blk01A/ups (one module)"].survives


def test_generator_carries_switchgear_after_feed_loss(hand_catalog, tmp_path):
    from tests.conftest import POWER_DATA
    from twin.layout import load_layout

    text = HEAD.format(
        catalog=str(POWER_DATA / "catalog"), rows=1, rpr=2, red="N", feeds="[ua]", modules=1, rpb=2, bpb=1
    )
    text = text.replace(
        "        transformer: hand-xfmr",
        "        generator: {model: hand-gen, count: 1}\n        transformer: hand-xfmr",
    )
    p = tmp_path / "g.yaml"
    p.write_text(text)
    f = load_layout(p, catalog=hand_catalog)
    base, cases = n_minus_1(f, 1.0)
    feed = _by_name(cases)["ua"]
    assert feed.survives
    assert feed.racks_dropped == 0
    # the metered power is now drawn from the generator
    import numpy as np

    from twin.power.network import solve_power

    failed = np.zeros(len(f.power), bool)
    failed[0] = True
    flow = solve_power(f, 1.0, failed_nodes=failed)
    assert flow.node_on_backup.any()
    assert flow.chain_input_w == pytest.approx(base.chain_input_w, rel=1e-9)


def test_shelf_failure_per_system(layout):
    f = layout()
    _, cases = n_minus_1(f, 1.0)
    shelf = [c for c in cases if c.kind == "power_shelf"]
    assert len(shelf) == 1
    assert shelf[0].survives
