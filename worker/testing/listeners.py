"""Run listeners of the kit: records kept in memory, and a stand-in for the history writer."""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from worker.run.records import RunListener, RunRecord, StuckRun


class RecordedRuns(RunListener):
    """Keeps every run record and stuck-run notice the runner hands to its listeners."""

    def __init__(self) -> None:
        self.records: list[RunRecord] = []
        self.stuck: list[StuckRun] = []

    @override
    def on_run(self, record: RunRecord) -> None:
        self.records.append(record)

    @override
    def on_stuck(self, stuck: StuckRun) -> None:
        self.stuck.append(stuck)


class NoHistory(RunListener):
    """Stands in for the recorder so that a test's runs leave no run history in Redis."""

    @override
    def on_run(self, record: RunRecord) -> None:
        """Dropped: the kit's `RecordedRuns` keeps it."""

    @override
    def on_stuck(self, stuck: StuckRun) -> None:
        """Dropped: the kit's `RecordedRuns` keeps it."""


def followed_by(listeners: Sequence[RunListener], last: RunListener) -> list[RunListener]:
    """The container's run listeners, then the kit's."""
    return [*listeners, last]
