"""The fleet protocol: what replicas, the CLI and the dashboard write and read in Redis.

Pure values and their text forms, no I/O: fire ids, the claim scripts' answers and manual
claim states, the taken-over claim a recovered fire carries, pause entries and
control-channel messages. The I/O that uses them is worker.state.fleet (and
worker.cluster for the claim scripts).
"""

from worker.protocol.claims import (
    ClaimResult,
    ManualClaim,
    ManualState,
    TakenOver,
    manual_claim_key,
    manual_owner_key,
    token_of_claim_key,
)
from worker.protocol.fires import (
    MANUAL,
    FireId,
    epoch_instant,
    format_instant,
    is_manual,
    manual_id,
    manual_token,
    new_token,
    parse_fire_id,
    scheduled_id,
)
from worker.protocol.messages import (
    LEASE_CLOSE,
    LEASE_OPEN,
    ControlMessage,
    LeaseGranted,
    Pause,
    PauseEntry,
    Resume,
    Trigger,
    decode_control,
    encode_control,
)

__all__ = [
    "LEASE_CLOSE",
    "LEASE_OPEN",
    "MANUAL",
    "ClaimResult",
    "ControlMessage",
    "FireId",
    "LeaseGranted",
    "ManualClaim",
    "ManualState",
    "Pause",
    "PauseEntry",
    "Resume",
    "TakenOver",
    "Trigger",
    "decode_control",
    "encode_control",
    "epoch_instant",
    "format_instant",
    "is_manual",
    "manual_claim_key",
    "manual_id",
    "manual_owner_key",
    "manual_token",
    "new_token",
    "parse_fire_id",
    "scheduled_id",
    "token_of_claim_key",
]
