"""The kit for testing an application's tasks: its container up as the worker runs it.

    async with WorkerTestApp(Container, overrides={"publisher": fake}) as app:
        record = await app.run_task("crypto-trigger")

Applications may import this package and `worker`, nothing else of the framework.
"""

from worker.testing.app import WorkerTestApp

__all__ = ["WorkerTestApp"]
