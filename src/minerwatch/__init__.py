"""minerwatch: miner reserve, miner flows, hashprice and production cost from your own Bitcoin node."""

__version__ = "0.1.0"
