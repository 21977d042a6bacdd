"""Queues on BullMQ: `decorators` (`@processor`), `job` (`current_job()`, `JobError`,
`enqueue_args()`), `options` (per-queue defaults and settings), `queues` (the `Queues`
provider), `processors` (one bullmq Worker per processor), `runs` (a job attempt → a run)."""
