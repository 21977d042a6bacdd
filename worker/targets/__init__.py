"""Trigger targets: the `TriggerPublisher` seam and the Redis Pub/Sub publisher."""
