"""Connections: Redis clients, outage monitors, which errors are an outage of what."""
