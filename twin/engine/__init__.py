"""twin.engine: couples the physics at steady state (power, fabric, cooling, each N-1)."""
