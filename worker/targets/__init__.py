"""Trigger targets: the `TriggerPublisher` seam, the fan-out with one delivery lane per
target, and the targets (redis-pubsub, redis-stream, nats, jetstream)."""
