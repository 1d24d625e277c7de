"""Production economics: pure arithmetic over machines, power prices and the market (no database)."""
