"""The targets' lag bench, read: per target sent, received, doubled, lost, lag (Markdown)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from bench.stats import nearest_rank
from bench.target_receivers import Receipts

TARGETS = ("redis-pubsub", "redis-stream", "nats", "jetstream")
FLOOR_OFFSET = 0.5
"""The floor publishes half a second after the worker's fires, so the two never meet."""
HEADER = (
    "| target | sent | received | doubled | in missed | maybe_delivered | lost "
    "| lag p50 (ms) | lag p99 (ms) | publish→receipt p50 | p99 | stamp→receipt p50 | p99 |"
)


def summarize(
    receipts: Receipts,
    seconds: Collection[int],
    offset: float = 0.0,
    starts: dict[int, float] | None = None,
) -> dict[str, Any]:
    """Sent (fires in `seconds`), received (distinct ids), doubled, lost; lag of first
    receipts from the scheduled instant (+ `offset`), from the publish's start (`starts`),
    and from the payload's own `timestamp` (stamped just before the publish call, to the
    millisecond: both programs' figures read up to 1 ms high alike)."""
    starts = starts or {}
    from_publish: list[float] = []
    from_stamp: list[float] = []
    first: dict[str, float] = {}
    covered: set[int] = set()
    named: set[str] = set()
    doubled = 0
    for received, payload in receipts.got:
        at = int(_second(payload["scheduled_for"]))
        if at not in seconds:
            continue
        if payload["id"] in first:
            doubled += 1
            continue
        first[payload["id"]] = (received - at - offset) * 1000
        if at in starts:
            from_publish.append((received - starts[at]) * 1000)
        if "timestamp" in payload:
            from_stamp.append((received - _second(payload["timestamp"])) * 1000)
        covered.update(at - k for k in range(int(payload.get("missed", 0)) + 1))
        if "maybe_delivered" in payload:
            named.add(payload["maybe_delivered"])
    lags, published, stamped = sorted(first.values()), sorted(from_publish), sorted(from_stamp)
    maybe = {int(_second(fire_id.split(":", 1)[1])) for fire_id in named}
    lost = [s for s in seconds if s not in covered and s not in maybe]  # unaccounted for
    return {
        "sent": len(seconds),
        "received": len(first),
        "doubled": doubled,
        "in_missed": len(covered) - len(first),
        "maybe_delivered": len(named),
        "lost": len(lost),
        "p50": nearest_rank(lags, 0.5) if lags else math.nan,
        "p99": nearest_rank(lags, 0.99) if lags else math.nan,
        "pub50": nearest_rank(published, 0.5) if published else math.nan,
        "pub99": nearest_rank(published, 0.99) if published else math.nan,
        "stamp50": nearest_rank(stamped, 0.5) if stamped else math.nan,
        "stamp99": nearest_rank(stamped, 0.99) if stamped else math.nan,
    }


def run_starts(logs: list[Path]) -> dict[int, float]:
    """Each crypto-trigger run's start (scheduled + lag_ms), from the worker's run lines. The
    run claims the fire in Redis (a cluster task) before the task builds the payload and
    publishes: this start counts that round trip, which the floor does not make."""
    starts: dict[int, float] = {}
    text = "\n".join(log.read_text(errors="replace") for log in logs if log.exists())
    for line in text.splitlines():
        found = re.search(
            r"task=crypto-trigger outcome=ok scheduled_for=(\S+) lag_ms=([-\d.]+)", line
        )
        if found:
            at = int(_second(found[1]))
            starts[at] = at + float(found[2]) / 1000
    return starts


def _second(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def report(
    fires: int,
    soak: int,
    windows: list[range],
    got: dict[str, Receipts],
    base: dict[str, Receipts],
    logdir: Path,
    logs: list[Path],
    label: str = "",
) -> str:
    """The Markdown table of one worker (its `windows` of seconds, its stderr `logs`)."""
    title = f"soak {soak} s, NATS then Redis restarted" if soak else f"{fires} fires"
    title += f" ({label})" if label else ""
    seconds = frozenset().union(*windows)
    header = HEADER + (
        ""
        if soak
        else " floor lag p50 | p99 | floor publish→receipt p50 | p99 | ≤ floor + 1 ms "
        "| floor stamp→receipt p50 | p99 | ≤ floor + 1 ms |"
    )
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + (
        "" if soak else "---:|---:|---:|---:|:---:|---:|---:|:---:|"
    )
    acks_file = logdir / "acks.json"
    floor_data = json.loads(acks_file.read_text()) if acks_file.exists() else {}
    floor_starts = {int(k): v for k, v in floor_data.get("starts", {}).items()}
    worker_starts = run_starts(logs)
    lines = [f"# Trigger targets: {title}", "", header, rule]
    for name in TARGETS:
        w = summarize(got[name], seconds, starts=worker_starts)
        row = (
            f"| {name} | {w['sent']} | {w['received']} | {w['doubled']} | {w['in_missed']} | "
            f"{w['maybe_delivered']} | {w['lost']} | {w['p50']:.2f} | {w['p99']:.2f} | "
            f"{w['pub50']:.2f} | {w['pub99']:.2f} | {w['stamp50']:.2f} | {w['stamp99']:.2f} |"
        )
        if not soak:
            f = summarize(base[name], seconds, FLOOR_OFFSET, floor_starts)
            ok = w["pub99"] <= f["pub99"] + 1 and w["pub50"] <= f["pub50"] + 1
            stamp_ok = w["stamp99"] <= f["stamp99"] + 1 and w["stamp50"] <= f["stamp50"] + 1
            row += (
                f" {f['p50']:.2f} | {f['p99']:.2f} | {f['pub50']:.2f} | {f['pub99']:.2f} | "
                f"{'PASS' if ok else 'FAIL'} | {f['stamp50']:.2f} | {f['stamp99']:.2f} | "
                f"{'PASS' if stamp_ok else 'FAIL'} |"
            )
        lines.append(row)
    if floor_data:
        acks = sorted(floor_data["acks"])
        lines += [
            "",
            f"JetStream publish → ack round trip (floor, {len(acks)} publishes): "
            f"p50 {nearest_rank(acks, 0.5):.2f} ms, p99 {nearest_rank(acks, 0.99):.2f} ms",
        ]
    return "\n".join(lines) + "\n"
