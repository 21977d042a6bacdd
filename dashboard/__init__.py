"""The read-only web dashboard: what the fleet records in Redis (replicas, tasks, runs,
trigger targets, queues, alerts), as pages and JSON. Its own process; it never writes."""
