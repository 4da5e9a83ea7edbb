"""twin.serving (see docs/architecture.md)."""
