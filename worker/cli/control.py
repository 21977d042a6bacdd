"""Fleet control commands: `pause TASK [--for D]`, `resume TASK`, `trigger TASK [--wait]`.

They write the pause hash or a manual fire's announcement (worker.state.fleet) and leave
the rest to the live replicas (worker.cluster.control). Exit: 0 done, 2 unknown task, 69
Redis or no replica.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from worker.connect.errors import describe_error
from worker.errors import UnavailableError, UsageError
from worker.settings.durations import format_duration, parse_duration
from worker.state.fleet import FleetClient, ManualState, format_instant, manual_id, new_token
from worker.state.keys import Keys

if TYPE_CHECKING:
    import argparse

    from worker.app.context import ApplicationContext

ALIVE_WAIT = 5.0
"""`trigger`: how long a live replica has to take the fire before the exit is 69."""
OK_OUTCOMES = ("ok",)


async def control(app: ApplicationContext, command: str, args: argparse.Namespace) -> int:
    from worker.cli.inspect import reach_redis

    name = app.definition(args.name).name
    for_seconds = _duration(args.duration) if getattr(args, "duration", None) else None
    client = await reach_redis(app.settings)
    fleet = FleetClient(client, Keys(app.settings.key_prefix))
    try:
        if command == "pause":
            return await _pause(fleet, name, for_seconds)
        if command == "resume":
            return await _resume(fleet, name)
        return await _trigger(fleet, name, wait=args.wait)
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


async def _pause(fleet: FleetClient, name: str, seconds: float | None) -> int:
    entry = await fleet.pause(name, seconds)
    if entry.until is None:
        print(f"{name}: paused fleet-wide until resumed")
    else:
        moment = format_instant(datetime.fromtimestamp(entry.until, UTC), precise=False)
        print(f"{name}: paused fleet-wide for {format_duration(seconds or 0)} (until {moment})")
    return 0


async def _resume(fleet: FleetClient, name: str) -> int:
    removed = await fleet.resume(name)
    print(f"{name}: resumed fleet-wide" if removed else f"{name}: was not paused")
    return 0


async def _trigger(fleet: FleetClient, name: str, *, wait: bool) -> int:
    token = new_token()
    fire_id = manual_id(name, token)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ALIVE_WAIT
    if not await fleet.trigger(name, token, within=ALIVE_WAIT):
        raise UnavailableError(f"trigger {name}: no live replica within {ALIVE_WAIT:g}s")
    claim = await fleet.claimed(token, within=deadline - loop.time())
    if claim is None:
        raise UnavailableError(f"trigger {name}: no replica claimed {fire_id} within 5s")
    if claim.state is ManualState.DONE:  # it ran and ended before the first look
        owner = await fleet.manual_owner(token)
        print(f"{fire_id}: claimed by {owner or 'a replica'} (ended {claim.outcome})")
    else:
        busy = claim.state is ManualState.BUSY
        where = "folded into the run in progress on" if busy else "claimed by"
        print(f"{fire_id}: {where} {claim.detail}")
    if not wait:
        return 0
    outcome = await fleet.outcome(name, token, claim)
    print(f"{fire_id}: {outcome}")
    return 0 if outcome in OK_OUTCOMES else 1
