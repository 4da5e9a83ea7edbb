"""The serving records, re-exported for the serving package: they live in :mod:`twin.records`.

The serving physics takes these plain dataclasses, never catalog objects; :mod:`twin.layout.records`
builds them from ``models/llms/*.yaml`` and ``models/systems/*.yaml``.
"""

from twin.errors import ServingInputError
from twin.records import BYTES_PER_ELEMENT, Deployment, HardwareSpec, ModelSpec

__all__ = ["BYTES_PER_ELEMENT", "Deployment", "HardwareSpec", "ModelSpec", "ServingInputError"]
