"""minerwatch's simulated demo chain (network "simnet"): seeded, mainnet-like, never a real chain."""
