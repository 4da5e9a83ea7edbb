"""twin.power: pure, vectorised power physics (GPU, rack, losses, power flow, capping) and N-1."""
