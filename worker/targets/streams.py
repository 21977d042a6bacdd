"""The JetStream facts the stream plan needs (which streams capture the subject, their
settings, their consumers' filters), and carrying a plan out. `check` surveys only."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from worker.targets.stream_plan import Found, Plan, StreamUnfit, Wanted, plan

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

API = "$JS.API"


async def survey(nc: Client, wanted: Wanted, timeout: float) -> Plan:
    """The plan for this account's streams as they are now; changes nothing."""
    from nats.js.errors import NotFoundError

    js = nc.jetstream(timeout=timeout)
    names = await capturing_streams(nc, wanted.subject, timeout)
    capturing = [await _found(js, name) for name in names]
    named = None
    if not capturing:
        try:
            named = await _found(js, wanted.stream)
        except NotFoundError:
            named = None
    return plan(wanted, capturing, named)


async def carry_out(nc: Client, result: Plan, timeout: float) -> None:
    """Create or update the stream as planned; JetStream's refusal is a StreamUnfit."""
    from nats.js.errors import APIError

    if result.config is None:
        return
    js = nc.jetstream(timeout=timeout)
    try:
        if result.action == "create":
            await js.add_stream(result.config)
        else:
            await js.update_stream(result.config)
    except APIError as exc:
        verb = "created" if result.action == "create" else "updated"
        raise StreamUnfit(
            f"JETSTREAM_STREAM: stream {result.stream} could not be {verb}: {exc.description}"
        ) from None


async def capturing_streams(nc: Client, subject: str, timeout: float) -> list[str]:
    """Every stream whose subjects match `subject` (JetStream lets at most one do so, but a
    mistake is named rather than guessed at)."""
    from nats.js.errors import APIError

    reply = await nc.request(
        f"{API}.STREAM.NAMES", json.dumps({"subject": subject}).encode(), timeout=timeout
    )
    body = json.loads(reply.data)
    if "error" in body:
        APIError.from_error(body["error"])  # raises the error's own class
    return sorted(body.get("streams") or [])


async def _found(js: JetStreamContext, name: str) -> Found:
    info = await js.stream_info(name)
    retention = getattr(info.config.retention, "value", info.config.retention)
    if retention == "limits":
        return Found(info.config)
    consumers = []
    for consumer in await js.consumers_info(name):
        config = consumer.config
        filters = [*(config.filter_subjects or []), config.filter_subject or ""]
        consumers.append(tuple(f for f in filters if f and f != ">"))
    return Found(info.config, tuple(consumers))
