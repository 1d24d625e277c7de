"""Optional live data from public web APIs. Off unless a command asks for it: minerwatch never
reaches the network on its own (`minerwatch prices fetch`)."""
