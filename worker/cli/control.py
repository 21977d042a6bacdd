"""Fleet control commands: `pause TASK [--for D]`, `resume TASK`, `trigger TASK [--wait]`.

They write the pause hash or a manual fire's announcement and leave the rest to the live
replicas (worker.cluster.control). Exit: 0 done, 2 unknown task, 69 Redis or no replica.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from worker.connect.errors import describe_error
from worker.errors import UnavailableError, UsageError
from worker.run.fire import format_instant
from worker.settings.durations import format_duration, parse_duration
from worker.state.keys import Keys

if TYPE_CHECKING:
    import argparse

    from redis.asyncio import Redis

    from worker.app.context import ApplicationContext

ALIVE_WAIT = 5.0
"""`trigger`: how long a live replica has to take the fire before the exit is 69."""
POLL = 0.05
OK_OUTCOMES = ("ok",)


async def control(app: ApplicationContext, command: str, args: argparse.Namespace) -> int:
    from worker.cli.inspect import reach_redis

    name = app.definition(args.name).name
    for_seconds = _duration(args.duration) if getattr(args, "duration", None) else None
    client = await reach_redis(app.settings)
    keys = Keys(app.settings.key_prefix)
    try:
        if command == "pause":
            return await _pause(client, keys, name, for_seconds)
        if command == "resume":
            return await _resume(client, keys, name)
        return await _trigger(client, keys, name, wait=args.wait)
    except (UnavailableError, UsageError):
        raise
    except Exception as exc:
        raise UnavailableError(f"REDIS_URL: {command} failed: {describe_error(exc)}") from None
    finally:
        await client.aclose()


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    if seconds < 1:
        raise UsageError(f"--for: {text!r} is under 1s")
    return seconds


async def _pause(client: Redis, keys: Keys, name: str, seconds: float | None) -> int:
    now = time.time()
    until = None if seconds is None else round(now + seconds, 3)
    entry = json.dumps({"until": until, "at": round(now, 3)})
    await client.hset(keys.paused, name, entry)
    await _announce(client, keys, {"op": "pause", "task": name})
    if until is None:
        print(f"{name}: paused fleet-wide until resumed")
    else:
        moment = format_instant(datetime.fromtimestamp(until, UTC), precise=False)
        print(f"{name}: paused fleet-wide for {format_duration(seconds or 0)} (until {moment})")
    return 0


async def _resume(client: Redis, keys: Keys, name: str) -> int:
    removed = await client.hdel(keys.paused, name)
    await _announce(client, keys, {"op": "resume", "task": name})
    print(f"{name}: resumed fleet-wide" if removed else f"{name}: was not paused")
    return 0


async def _announce(client: Redis, keys: Keys, message: dict[str, Any]) -> int:
    return int(await client.publish(keys.control, json.dumps(message)))


async def _trigger(client: Redis, keys: Keys, name: str, *, wait: bool) -> int:
    token = uuid.uuid4().hex
    fire_id = f"{name}:manual:{token}"
    message = {"op": "trigger", "task": name, "token": token}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ALIVE_WAIT
    while await _announce(client, keys, message) == 0:  # nobody subscribed: no live replica
        if loop.time() > deadline:
            raise UnavailableError(f"trigger {name}: no live replica within {ALIVE_WAIT:g}s")
        await asyncio.sleep(0.2)
    state = await _claim_state(client, keys.manual_claim(token), deadline)
    if state is None:
        raise UnavailableError(f"trigger {name}: no replica claimed {fire_id} within 5s")
    kind, _, detail = state.partition(":")
    if kind == "done":  # it ran and ended before the first look: its owner is kept apart
        owner = await client.get(keys.manual_owner(token))
        print(f"{fire_id}: claimed by {_text(owner) if owner else 'a replica'} (ended {detail})")
    else:
        where = "folded into the run in progress on" if kind == "busy" else "claimed by"
        print(f"{fire_id}: {where} {detail}")
    if not wait:
        return 0
    if kind == "busy":
        outcome = await _claim_outcome(client, keys.claim(name))
    else:
        outcome = await _manual_outcome(client, keys.manual_claim(token), state)
    print(f"{fire_id}: {outcome}")
    return 0 if outcome in OK_OUTCOMES else 1


async def _claim_state(client: Redis, key: str, deadline: float) -> str | None:
    loop = asyncio.get_running_loop()
    while loop.time() <= deadline:
        value = await client.get(key)
        if value is not None:
            return _text(value)
        await asyncio.sleep(POLL)
    return None


async def _manual_outcome(client: Redis, key: str, state: str) -> str:
    while not state.startswith("done:"):
        await asyncio.sleep(POLL)
        value = await client.get(key)
        if value is None:
            return "unknown"
        state = _text(value)
    return state.removeprefix("done:")


async def _claim_outcome(client: Redis, key: str) -> str:
    """The run the manual fire folded into: its outcome once its lease is ended."""
    while True:
        done, outcome = await client.hmget(key, ["done", "outcome"])
        if done in (b"1", "1"):
            return _text(outcome) if outcome else "unknown"
        await asyncio.sleep(POLL)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
