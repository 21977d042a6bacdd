"""Queues on BullMQ: `@processor`, `current_job()`, the `Queues` provider, the Workers."""
