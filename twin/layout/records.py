"""The one adapter from catalog entries to the plain records of :mod:`twin.records`.

Catalog entries are pydantic schema objects with sourced figures; the physics and the engine read
only SI records. Everything that crosses from one to the other passes here: systems and their GPU
(:func:`system_spec`, :func:`hardware_spec`), LLMs (:func:`model_spec`) and the layout's scale-out
fabric (:func:`fabric_design`).
"""

from __future__ import annotations

from twin.errors import ServingInputError
from twin.layout.catalog import CableEntry, LlmEntry, NicEntry, SwitchEntry, SystemEntry, TransceiverEntry
from twin.layout.catalog_io import Catalog, load_catalog
from twin.layout.schema_fabric import FabricSpec
from twin.records import FabricDesign, FrontendDesign, HardwareSpec, ModelSpec, NetworkPart, SystemSpec

#: Cable media whose links need no transceiver at either end.
COPPER_MEDIA: frozenset[str] = frozenset({"passive-copper", "active-copper"})


def model_spec(entry: LlmEntry) -> ModelSpec:
    """Plain :class:`~twin.records.ModelSpec` from a catalog ``llm`` entry."""
    i = lambda s: int(s.si) if s is not None else 0  # noqa: E731
    moe, mla = entry.moe, entry.mla
    return ModelSpec(
        name=entry.name,
        num_layers=i(entry.num_layers),
        hidden_size=i(entry.hidden_size),
        num_heads=i(entry.num_attention_heads),
        num_kv_heads=i(entry.num_kv_heads),
        head_dim=i(entry.head_dim),
        intermediate_size=i(entry.intermediate_size),
        vocab_size=i(entry.vocab_size),
        max_context=i(entry.max_context),
        num_params=entry.num_params.si,
        precisions=tuple(entry.precisions),
        num_experts=i(moe.num_experts) if moe else 0,
        num_active_experts=i(moe.num_active_experts) if moe else 0,
        num_shared_experts=i(moe.num_shared_experts) if moe else 0,
        expert_intermediate_size=i(moe.expert_intermediate_size) if moe else 0,
        num_dense_layers=i(moe.num_dense_layers) if moe else 0,
        kv_lora_rank=i(mla.kv_lora_rank) if mla else 0,
        q_lora_rank=i(mla.q_lora_rank) if mla else 0,
        qk_rope_head_dim=i(mla.qk_rope_head_dim) if mla else 0,
        qk_nope_head_dim=i(mla.qk_nope_head_dim) if mla else 0,
        v_head_dim=i(mla.v_head_dim) if mla else 0,
        sliding_window=i(entry.sliding_window),
        sliding_window_layer_fraction=(
            entry.sliding_window_layer_fraction.si if entry.sliding_window_layer_fraction else 0.0
        ),
    )


def hardware_spec(entry: SystemEntry) -> HardwareSpec:
    """Plain :class:`~twin.records.HardwareSpec` from a catalog ``system`` entry (GPU, NVLink domain)."""
    g = entry.gpu
    return HardwareSpec(
        name=entry.name,
        peak_flops={k: v.si for k, v in g.peak_dense_flops.items()},
        hbm_bytes=g.hbm_capacity.si,
        hbm_bw_bytes_s=g.hbm_bandwidth.si,
        nvlink_bw_bytes_s=g.nvlink_bandwidth.si,
        nvlink_domain_gpus=int(entry.nvlink_domain_gpus.si),
        scale_out_bw_bytes_s=g.scale_out_bandwidth.si,
        kernel_device=entry.kernel_tables.device if entry.kernel_tables is not None else None,
        host_cores_per_gpu=(entry.cpu.cores.si * entry.cpus_per_node.si / entry.gpus_per_node.si
                            if entry.cpu.cores is not None else 0.0),
    )


def system_spec(entry: SystemEntry) -> SystemSpec:
    """Plain :class:`~twin.records.SystemSpec` from a catalog ``system`` entry."""
    trays = sum(int(c.count.si) for c in entry.components
                if c.per == "rack" and c.role == "nvlink-switch-tray")
    return SystemSpec(
        name=entry.name,
        form_factor=entry.form_factor,
        gpus_per_node=int(entry.gpus_per_node.si),
        nvlink_domain_gpus=int(entry.nvlink_domain_gpus.si),
        nvlink_switch_trays=trays,
        hardware=hardware_spec(entry),
        rack_width_m=entry.rack.width.si,
        rack_depth_m=entry.rack.depth.si,
    )


def network_part(entry: SwitchEntry | NicEntry | TransceiverEntry | CableEntry) -> NetworkPart:
    """Plain :class:`~twin.records.NetworkPart` from a switch, NIC, transceiver or cable entry."""
    ports = getattr(entry, "ports", None)
    speed = getattr(entry, "port_speed", None)
    return NetworkPart(
        name=entry.name,
        kind=entry.kind,
        power_w=entry.power.si,
        ports=int(ports.si) if ports is not None else 0,
        port_speed_bytes_s=speed.si if speed is not None else 0.0,
        copper=isinstance(entry, CableEntry) and entry.medium in COPPER_MEDIA,
    )


def fabric_design(spec: FabricSpec | None, catalog: Catalog, systems: list[str]) -> FabricDesign | None:
    """The layout's ``fabric:`` section with its catalog parts resolved (None without one).

    The references were checked by :func:`twin.layout.schema_fabric.check_fabric` before.
    """
    if spec is None:
        return None

    def part(name: str) -> NetworkPart:
        return network_part(catalog.entries[name])

    nic = {s: part(spec.nic if isinstance(spec.nic, str) else spec.nic[s]) for s in systems}
    fe = spec.frontend
    frontend = None
    if fe is not None:
        frontend = FrontendDesign(part(fe.switch), part(fe.nic), fe.nics_per_node, fe.oversubscription,
                                  part(fe.transceiver), part(fe.cable))
    return FabricDesign(
        switch=part(spec.switch),
        nic=nic,
        nics_per_gpu=spec.nics_per_gpu,
        oversubscription=float(spec.oversubscription),
        planes=spec.planes,
        scope=spec.scope,
        transceiver=part(spec.transceiver),
        cable=part(spec.cable),
        trunk_cable=part(spec.trunk_cable or spec.cable),
        nic_power_in_system=spec.nic_power_in_system,
        frontend=frontend,
    )


def lookup_specs(system: str, model: str, catalog: Catalog | None = None) -> tuple[ModelSpec, HardwareSpec]:
    """Model and hardware records by catalog name; :class:`ServingInputError` listing valid names if not."""
    cat = catalog or load_catalog()
    try:
        sys_entry = cat.lookup("system", system)
    except KeyError as exc:
        raise ServingInputError(exc.args[0], field="system") from None
    try:
        llm_entry = cat.lookup("llm", model)
    except KeyError as exc:
        raise ServingInputError(exc.args[0], field="model") from None
    return model_spec(llm_entry), hardware_spec(sys_entry)
