"""Derived series computed from stored tables (never from the node). One module per family."""
