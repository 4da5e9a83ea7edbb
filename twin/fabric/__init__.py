"""twin.fabric (see docs/architecture.md)."""
