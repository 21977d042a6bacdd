"""Reading the job bullmq hands over: one that cannot be read still reaches the handler.

bullmq moves a job to active (and locks it), then parses its data and options. A parse error
there went up its fetch loop as a warning and nothing else: the lock was never renewed, the
stalled check put the job back, the next fetch failed the same way, and the job stayed active
for ever. `ReadingWorker` hands such a job over with `Unreadable` as its data instead, and the
handler fails it at once, with the reason (a job written by another producer, say).

Imported once bullmq is (`Processors.start`): it subclasses bullmq's Worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bullmq import Job as BullJob
from bullmq import Worker
from bullmq.job import optsFromJSON

from worker.queues.job import Job
from worker.settings.queues import ATTEMPTS_RANGE

REASON_LENGTH = 120
"""How much of a parser's message a reason keeps (it never quotes the data itself)."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """The data of a job that could not be read, with why."""

    reason: str


class ReadingWorker(Worker):  # type: ignore[misc]  # bullmq ships no types
    async def nextJobFromJobData(
        self,
        job_data: dict[str, Any] | None = None,
        job_id: str | None = None,
        limit_until: int = 0,
        delay_until: int = 0,
        token: str | None = None,
    ) -> Any:
        try:
            _check_text(job_data or {})
            return await super().nextJobFromJobData(
                job_data, job_id, limit_until, delay_until, token
            )
        except Exception as exc:
            if not job_data:
                raise
            self.drained = False  # as bullmq's own path does for a job it read
            job = unreadable_job(self, job_data, job_id, exc)
            job.token = token
            return job


class NotUtf8Error(ValueError):
    """A job field held bytes that are not UTF-8 (read with `surrogateescape`)."""


def _check_text(raw: dict[str, Any]) -> None:
    for name, value in raw.items():
        if isinstance(value, str) and not value.isascii() and not _is_utf8(value):
            raise NotUtf8Error(f"{name!s:.20} is not UTF-8")


def unreadable_job(queue: Any, raw: dict[str, Any], job_id: str | None, error: Exception) -> Any:
    """A bullmq Job carrying `Unreadable` data, with what of its fields can be read."""
    field = "data" if not _parses(raw.get("data", "{}")) else "fields"
    options = _json_object(raw.get("opts"))
    name = str(raw.get("name") or "")
    try:
        job = BullJob(queue, name, None, optsFromJSON(options))
    except Exception:  # options bullmq's Job cannot take (`{"parent": 5}`): its attempts only
        attempts = options.get("attempts")
        kept = {"attempts": attempts} if isinstance(attempts, int) else {}
        job = BullJob(queue, name, None, optsFromJSON(kept))
    job.id = job_id or str(raw.get("id") or "")
    job.timestamp = _whole(raw.get("timestamp"))
    job.attemptsMade = _whole(raw.get("atm") or raw.get("attemptsMade"))
    detail = " ".join(f"{type(error).__name__}: {error}".split())[:REASON_LENGTH]
    job.data = Unreadable(f"job {field} cannot be read ({detail})")
    return job


def job_of(job: Any, queue: str) -> Job:
    """What `current_job()` shows of a bullmq job. Its attempts are held to the range the
    settings are (another producer may ask for a million): every job ends."""
    options = job.opts if isinstance(job.opts, dict) else {}
    attempts = options.get("attempts")
    wanted = attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 1
    low, high = ATTEMPTS_RANGE
    return Job(
        id=_text(job.id),
        attempt=_whole(job.attemptsMade) + 1,
        queue=queue,
        name=_text(job.name),
        attempts=min(max(wanted, low), high),
    )


def _parses(text: Any) -> bool:
    try:
        json.loads(text)
    except Exception:
        return False
    return _is_utf8(text) if isinstance(text, str) else True


def _text(value: Any) -> str:
    """For logs and records: bytes that were not UTF-8 shown as `?`."""
    text = str(value)
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_object(text: Any) -> dict[str, Any]:
    try:
        found = json.loads(text) if isinstance(text, str | bytes) else {}
    except Exception:
        return {}
    return found if isinstance(found, dict) else {}


def _whole(value: Any) -> int:
    """A whole number from a job field (a string of digits, or an int); 0 otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    text = value.decode() if isinstance(value, bytes) else value
    return int(text) if isinstance(text, str) and text.isdigit() and len(text) < 20 else 0
