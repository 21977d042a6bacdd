"""`worker enqueue QUEUE-TASK [ARG…]`: run a queue-feeding task once, now, with arguments.

A queue task is a scheduled task named like a processor's queue (`coin-sync` feeds the
`coin-sync` queue). The run is the task's own, as `run-task` runs it; the task reads the
arguments with `enqueue_args()` (none: its usual jobs, e.g. every coin in COINS).
Exit: 0 enqueued, 1 the task failed, 2 not a queue task, 69 Redis unreachable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.errors import UsageError

if TYPE_CHECKING:
    import argparse

    from worker.app.context import ApplicationContext


def queue_tasks(app: ApplicationContext) -> list[str]:
    queues = {p.spec.queue for p in app.discovery.processors}
    return [d.name for d in app.definitions if d.name in queues]


def enqueue(app: ApplicationContext, args: argparse.Namespace) -> int:
    from worker.cli.loop import run_loop
    from worker.observe.logs import configure_logging
    from worker.queues.job import set_enqueue_args

    known = queue_tasks(app)
    if args.name not in known:
        raise UsageError(
            f"unknown queue task {args.name!r} (queue tasks: {', '.join(known) or 'none'})"
        )
    settings = app.settings
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    set_enqueue_args(tuple(args.args))
    return run_loop(app.run_task(args.name))
