"""The fleet protocol (worker.protocol): fire ids, claim states, pause entries and control
messages, each formatted and parsed in one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from worker.protocol import (
    ClaimResult,
    FireId,
    LeaseGranted,
    ManualClaim,
    ManualState,
    Pause,
    PauseEntry,
    Resume,
    Trigger,
    decode_control,
    encode_control,
    epoch_instant,
    format_instant,
    is_manual,
    manual_claim_key,
    manual_id,
    manual_owner_key,
    manual_token,
    new_token,
    parse_fire_id,
    scheduled_id,
    token_of_claim_key,
)

MOMENT = datetime(2026, 12, 3, 12, 0, 5, 123456, tzinfo=UTC)


def test_an_instant_has_milliseconds_only_when_precise() -> None:
    assert format_instant(MOMENT, precise=False) == "2026-12-03T12:00:05Z"
    assert format_instant(MOMENT, precise=True) == "2026-12-03T12:00:05.123Z"


@pytest.mark.parametrize("precise", [False, True])
@pytest.mark.parametrize("task", ["price-sync", "a:b", "x:manual:y"])
def test_a_scheduled_fire_id_round_trips(task: str, precise: bool) -> None:
    text = scheduled_id(task, format_instant(MOMENT, precise=precise))
    found = parse_fire_id(text)
    assert (found.task, found.manual, found.token) == (task, False, None)
    expected = MOMENT.replace(microsecond=123000 if precise else 0)
    assert found.at == expected
    assert str(found) == text
    assert not is_manual(text)
    assert manual_token(text) is None


@pytest.mark.parametrize("task", ["price-sync", "a:b"])
def test_a_manual_fire_id_round_trips(task: str) -> None:
    token = new_token()
    text = manual_id(task, token)
    assert text == f"{task}:manual:{token}"
    assert parse_fire_id(text) == FireId(task, token=token)
    assert parse_fire_id(text).at is None
    assert str(parse_fire_id(text)) == text
    assert is_manual(text)
    assert manual_token(text) == token


def test_fresh_tokens_differ() -> None:
    assert new_token() != new_token()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "task",
        ":2026-12-03T12:00:05Z",  # no task
        "t:2026-12-03T12:00:05",  # no Z
        "t:2026-12-03 12:00:05Z",
        "t:2026-12-03T12:00:05.12Z",  # two digits of milliseconds
        "t:manual:",  # no token
        "t:manual:a b",
        ":manual:abc",
    ],
)
def test_anything_else_is_not_a_fire_id(text: str) -> None:
    with pytest.raises(ValueError, match="not a fire id"):
        parse_fire_id(text)
    assert not is_manual(text)


def test_an_epoch_instant_is_iso_or_none() -> None:
    assert epoch_instant(1796645808.252) == "2026-12-07T12:16:48.252Z"
    assert epoch_instant(1796645808.0) == "2026-12-07T12:16:48Z"
    assert epoch_instant(1e300) is None
    assert epoch_instant(float("nan")) is None


def test_manual_claim_states_round_trip() -> None:
    for text, state, owner, outcome in [
        ("busy:replica-b", ManualState.BUSY, "replica-b", None),
        ("claimed:replica-a", ManualState.CLAIMED, "replica-a", None),
        ("done:failed", ManualState.DONE, None, "failed"),
        ("busy:", ManualState.BUSY, None, None),
    ]:
        claim = ManualClaim.parse(text)
        assert (claim.state, claim.owner, claim.outcome) == (state, owner, outcome)
        assert claim.encode() == text
    for bad in ("", "busy", "taken:a", "won:a"):
        with pytest.raises(ValueError, match="not a manual claim"):
            ManualClaim.parse(bad)


def test_claim_results_are_the_scripts_words() -> None:
    assert [r.value for r in ClaimResult] == ["won", "stale", "busy", "early", "taken"]
    assert ClaimResult("won") == "won"


def test_a_manual_claims_keys_carry_its_token() -> None:
    key = manual_claim_key("worker:{claims}", "abc")
    assert key == "worker:{claims}:manual:abc"
    assert manual_owner_key("worker:{claims}", "abc") == "worker:{claims}:manual:abc:owner"
    assert token_of_claim_key(key) == "abc"
    assert token_of_claim_key("worker:{claims}:claim:t") is None
    assert token_of_claim_key(manual_owner_key("worker:{claims}", "abc")) is None


def test_a_pause_entry_round_trips() -> None:
    for entry in (PauseEntry(1796645808.252, 1796642208.252), PauseEntry(None, 1.5)):
        assert PauseEntry.decode(entry.encode()) == entry
        assert PauseEntry.decode(entry.encode().encode()) == entry
    assert json.loads(PauseEntry(None, 2.0).encode()) == {"until": None, "at": 2.0}
    assert PauseEntry.decode('{"until": 5}') == PauseEntry(5.0, None)


def test_a_pause_entry_holds_until_its_until() -> None:
    assert PauseEntry(None).active(1e12)
    assert PauseEntry(100.0).active(99.9)
    assert not PauseEntry(100.0).active(100.0)
    assert PauseEntry(1796645808.252).until_text == "2026-12-07T12:16:48.252Z"
    assert PauseEntry(None).until_text is None
    assert PauseEntry(1e300).until_text is None  # held, but no instant to show


@pytest.mark.parametrize(
    "raw", ["", "not json", "[1]", '{"until": "soon"}', '{"until": true}', '{"until": NaN}']
)
def test_anything_else_is_not_a_pause_entry(raw: str) -> None:
    with pytest.raises(ValueError, match="not a pause entry"):
        PauseEntry.decode(raw)


def test_an_infinite_pause_is_until_resumed() -> None:
    assert PauseEntry.decode('{"until": Infinity, "at": 1}') == PauseEntry(None, 1.0)


@pytest.mark.parametrize(
    "message",
    [Pause("t"), Resume("a:b"), Trigger("t", "abc"), Trigger("t"), LeaseGranted(5000)],
)
def test_control_messages_round_trip(message: object) -> None:
    assert isinstance(message, Pause | Resume | Trigger | LeaseGranted)
    assert decode_control(encode_control(message)) == message


def test_the_scripts_lease_announcement_is_a_control_message() -> None:
    assert decode_control('{"op":"lease","task":"","ms":5000}') == LeaseGranted(5000.0)
    assert encode_control(LeaseGranted(5000)) == '{"op":"lease","task":"","ms":5000}'
    assert encode_control(LeaseGranted(2_000_000)) == '{"op":"lease","task":"","ms":2000000}'


def test_a_control_message_of_an_unknown_op_is_passed_over() -> None:
    assert decode_control('{"op": "later", "task": "t"}') is None


@pytest.mark.parametrize(
    "raw", ["", "{", "[]", '{"op": "pause"}', '{"task": "t"}', '{"op":"lease","task":"","ms":"x"}']
)
def test_anything_else_is_not_a_control_message(raw: str) -> None:
    with pytest.raises(ValueError, match=r"not a (control|lease) message"):
        decode_control(raw)
