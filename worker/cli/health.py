"""`worker health [--ready]`: the container probe. Reads the heartbeat file, nothing else.

Docker runs it every 10 s, so it imports no application, no pydantic, no APScheduler, no
Redis client: HEARTBEAT_FILE comes from the environment or `.env`, and everything else
(the interval that makes the file stale, Redis' state, REDIS_TIMEOUT) from the file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from worker.observe.heartbeat_file import STALE_AFTER, parse_record

DEFAULT_FILE = "/tmp/worker.heartbeat"


def main(ready: bool) -> int:
    path = Path(env_setting("HEARTBEAT_FILE") or DEFAULT_FILE)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
        mtime = path.stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat file at {path}")
        return 1
    parsed = parse_record(text)
    if parsed is None and not _older_record(text):  # empty, or another program's file
        print(f"unhealthy: {path} holds no heartbeat record (HEARTBEAT_FILE names another file?)")
        return 1
    record = parsed or {}
    # A file an earlier version wrote ("<id> <time>"): judged by its age, and said so.
    note = "" if parsed else f" ({path} is not a JSON heartbeat record: an older version's?)"
    now = time.time()
    age = now - float(record.get("time", mtime))
    limit = STALE_AFTER * float(record.get("interval", 10.0))
    if age > limit:
        print(f"unhealthy: heartbeat is {age:.1f}s old (limit {limit:g}s){note}")
        return 1
    redis = _redis_state(record, now) + _clock_state(record)
    down_since = record.get("redis_down_since")
    if ready and down_since is not None:
        down_s = now - float(down_since)
        if down_s > float(record.get("redis_timeout", 5.0)):
            print(f"not ready: heartbeat {age:.1f}s ago, {redis}")
            return 1
    if ready and record.get("claims_blocked") is True:
        print(f"not ready: heartbeat {age:.1f}s ago, {redis}: it can claim no cluster fire")
        return 1
    print(f"{'ready' if ready else 'healthy'}: heartbeat {age:.1f}s ago, {redis}{note}")
    return 0


def _clock_state(record: dict[str, Any]) -> str:
    """The clock against Redis's, when the worker has measured it (and it is off)."""
    offset, state = record.get("clock_offset"), record.get("clock")
    if offset is None or state not in ("ahead", "behind"):
        return ""
    return f", clock {abs(offset):.1f}s {state} of redis (more than CLAIM_SKEW)"


def _older_record(text: str) -> bool:
    """The record an earlier version wrote: `<instance id> <epoch seconds>`."""
    fields = text.split()
    try:
        return len(fields) == 2 and float(fields[1]) > 0
    except ValueError:
        return False


def _redis_state(record: dict[str, Any], now: float) -> str:
    down_since = record.get("redis_down_since")
    if down_since is None:
        return "redis up" if record.get("redis") == "up" else "redis state unknown"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(down_since)))
    return f"redis down since {since} ({now - float(down_since):.0f}s)"


def env_setting(name: str) -> str | None:
    """The environment wins over `.env`, as in the settings; names are case-insensitive."""
    for key, value in os.environ.items():
        if key.upper() == name:
            return value
    try:
        lines = Path(".env").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip().upper() == name:
            return value.split(" #")[0].strip().strip("'\"")
    return None
