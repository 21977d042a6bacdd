"""The trigger the worker publishes, rebuilt with the stdlib only for the comparison programs."""

from __future__ import annotations

import json
from datetime import UTC, datetime


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def trigger_payload(scheduled_second: int) -> str:
    """The worker's crypto trigger for the fire scheduled at `scheduled_second` (Unix time)."""
    scheduled = datetime.fromtimestamp(scheduled_second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {
        "trigger": "update",
        "event": "CRYPTO_UPDATE",
        "timestamp": _stamp(datetime.now(UTC)),
        "scheduled_for": scheduled,
        "id": f"crypto-trigger:{scheduled}",
    }
    return json.dumps(payload, separators=(",", ":"))
