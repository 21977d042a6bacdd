"""The stream plan's rules on their own (no server): subject matching, what is refused, and
the settings that feed it."""

from __future__ import annotations

import pytest
from nats.js.api import RetentionPolicy, StreamConfig

from tests.settings.support import load
from worker.errors import ConfigError
from worker.targets.stream_plan import Found, StreamUnfit, Wanted, plan, subject_matches

WANTED = Wanted("crypto.updates", "CRYPTO", 86400.0, manage=False)


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("crypto.updates", True),
        ("crypto.*", True),
        ("crypto.>", True),
        (">", True),
        ("*.updates", True),
        ("crypto", False),
        ("crypto.updates.>", False),
        ("crypto.*.x", False),
        ("other.>", False),
    ],
)
def test_subject_matching_follows_nats_wildcards(pattern: str, matches: bool) -> None:
    assert subject_matches(pattern, "crypto.updates") is matches


def test_two_streams_capturing_the_subject_are_named_not_guessed_at() -> None:
    both = [Found(StreamConfig(name=n, subjects=["crypto.>"])) for n in ("A", "B")]
    with pytest.raises(StreamUnfit, match=r"streams A, B all capture crypto\.updates"):
        plan(WANTED, both, None)


def test_an_interest_stream_whose_consumers_take_other_subjects_would_drop_every_trigger() -> None:
    found = Found(
        StreamConfig(name="S", subjects=["crypto.>"], retention=RetentionPolicy.INTEREST), (("x",),)
    )
    with pytest.raises(StreamUnfit, match="dropped at once"):
        plan(WANTED, [found], None)


def test_a_consumer_without_filter_takes_the_subject() -> None:
    found = Found(
        StreamConfig(name="S", subjects=["crypto.>"], retention=RetentionPolicy.WORK_QUEUE), ((),)
    )
    assert plan(WANTED, [found], None).action == "use"


def test_the_worker_s_own_stream_as_it_made_it_is_used_without_a_warning() -> None:
    config = StreamConfig(
        name="CRYPTO",
        subjects=["crypto.updates"],
        retention=RetentionPolicy.LIMITS,
        max_age=86400.0,
        duplicate_window=120.0,
    )
    assert plan(WANTED, [Found(config)], None).notes == ()


def test_jetstream_manage_takes_on_or_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, JETSTREAM_MANAGE="ON").manage_stream is True
    with pytest.raises(ConfigError, match=r"^JETSTREAM_MANAGE: must be on or off$"):
        load(monkeypatch, JETSTREAM_MANAGE="maybe")


@pytest.mark.parametrize("subject", ["crypto.*", "crypto.>", "crypto..updates", ".crypto"])
def test_a_nats_subject_published_to_must_be_a_plain_subject(
    monkeypatch: pytest.MonkeyPatch, subject: str
) -> None:
    with pytest.raises(ConfigError, match=r"^CRYPTO_SUBJECT: "):
        load(monkeypatch, TRIGGER_TARGETS="jetstream", CRYPTO_SUBJECT=subject)
    assert load(monkeypatch, TRIGGER_TARGETS="redis-pubsub").crypto_subject == subject
