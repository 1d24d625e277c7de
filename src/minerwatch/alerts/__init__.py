"""Alerts: rules on any metric or on the capitulation state, delivered once per crossing."""
