"""Queues on BullMQ: `decorators` (`@processor`), `job` (`current_job()`, `JobError`,
`enqueue_args()`), `options` (per-queue defaults and settings), `queues` (the `Queues`
provider), `processors` (one bullmq Worker per processor), `reading` (a job that cannot be
read still reaches its handler, which fails it), `retries` (each retry's bounded delay), `runs`
(a job attempt → a run)."""
