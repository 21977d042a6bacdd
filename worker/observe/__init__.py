"""Observing: log sinks, heartbeat, instance record, run recorder, alerts, metrics."""
