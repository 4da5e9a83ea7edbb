"""twin.thermal (see docs/architecture.md)."""
