"""The worker changes no JetStream stream it does not own (before: at start the stream named
JETSTREAM_STREAM was rewritten to the worker's subject and max age, whoever had made it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.support import WorkerProcess, wait_for
from tests.targets.support import NatsServer
from worker.connect.nats import NatsConnection
from worker.targets.nats import JetStreamTarget
from worker.targets.stream_plan import StreamUnfit

Spawn = Callable[..., WorkerProcess]
DAYS_30 = 30 * 86400.0
EVERY_SECOND = {"SCHEDULE_CRYPTO_TRIGGER": "* * * * * *", "TRIGGER_TARGETS": "jetstream"}


@asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[Any]:
    import nats

    nc = await nats.connect(url)
    try:
        yield nc.jetstream(timeout=5)
    finally:
        await nc.close()


async def add_stream(url: str, **config: Any) -> None:
    from nats.js.api import StreamConfig

    async with jetstream(url) as js:
        await js.add_stream(StreamConfig(**config))


async def stream_config(url: str, name: str) -> Any:
    async with jetstream(url) as js:
        return (await js.stream_info(name)).config


async def stream_names(url: str) -> list[str]:
    async with jetstream(url) as js:
        return sorted(info.config.name for info in await js.streams_info())


async def prepare(url: str, **wanted: Any) -> None:
    """The `jetstream` target's start-up step, as the worker runs it."""
    connection = NatsConnection([url], name="test", timeout=2.0, where="test")
    options: dict[str, Any] = {"subject": "crypto.updates", "stream": "CRYPTO", "max_age": 3600}
    target = JetStreamTarget(connection, **{**options, **wanted}, timeout=2.0)
    try:
        await target.prepare()
    finally:
        await connection.close()


def test_a_shared_stream_keeps_its_subjects_age_and_messages_and_takes_the_triggers(
    nats_server: NatsServer, spawn_worker: Spawn
) -> None:
    url = nats_server.url
    asyncio.run(
        add_stream(url, name="CRYPTO", subjects=["crypto.>", "other.feed"], max_age=DAYS_30)
    )
    asyncio.run(publish(url, "other.feed", b"theirs"))
    worker = spawn_worker(NATS_URL=url, LOG_FORMAT="json", **EVERY_SECOND)
    wait_for(lambda: asyncio.run(last_trigger(url)), what="a trigger in the shared stream")
    assert worker.stop() == 0, worker.stderr[-3000:]
    config = asyncio.run(stream_config(url, "CRYPTO"))
    assert config.subjects == ["crypto.>", "other.feed"]
    assert config.max_age == DAYS_30
    asyncio.run(publish(url, "other.feed", b"theirs again"))  # before: NoStreamResponseError
    assert asyncio.run(first_message(url)) == b"theirs"
    warned = [r for r in worker.log_records() if r["message"] == "jetstream stream used as it is"]
    assert [(r["level"], r["stream"]) for r in warned] == [("WARNING", "CRYPTO")]
    assert "max_age 30d" in warned[0]["differs"]


async def publish(url: str, subject: str, data: bytes) -> None:
    async with jetstream(url) as js:
        await js.publish(subject, data)


async def first_message(url: str) -> bytes:
    async with jetstream(url) as js:
        return bytes((await js.get_msg("CRYPTO", 1)).data or b"")


async def last_trigger(url: str) -> dict[str, Any] | None:
    from nats.js.errors import NotFoundError

    async with jetstream(url) as js:
        try:
            return dict(json.loads((await js.get_last_msg("CRYPTO", "crypto.updates")).data or b""))
        except NotFoundError:
            return None


async def test_a_stream_of_another_name_that_captures_the_subject_is_used_and_named(
    nats_server: NatsServer, logs: list[str]
) -> None:
    await add_stream(nats_server.url, name="SHARED", subjects=["crypto.>"], max_age=DAYS_30)
    await prepare(nats_server.url)
    assert await stream_names(nats_server.url) == ["SHARED"]  # no CRYPTO beside it
    line = next(x for x in logs if "jetstream stream used as it is" in x)
    assert "'stream': 'SHARED'" in line
    assert "'jetstream_stream': 'CRYPTO'" in line


async def test_the_worker_creates_its_stream_when_none_captures_the_subject_even_with_a_short_age(
    nats_server: NatsServer,
) -> None:
    """Before: JETSTREAM_MAX_AGE=1s asked for a 2-minute duplicate window above the max age,
    which JetStream refuses: a permanent outage while `check` said OK."""
    await add_stream(nats_server.url, name="OTHER", subjects=["other.>"])
    await prepare(nats_server.url, max_age=1.0)
    config = await stream_config(nats_server.url, "CRYPTO")
    assert (config.subjects, config.max_age, config.duplicate_window) == (["crypto.updates"], 1, 1)


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ({"sealed": True}, "sealed"),
        ({"no_ack": True}, "no_ack"),
        ({"max_msg_size": 200}, "at most 200 bytes"),
    ],
)
async def test_a_stream_that_cannot_take_the_publishes_is_refused_saying_why(
    nats_server: NatsServer, config: dict[str, Any], why: str
) -> None:
    sealed = config.pop("sealed", False)
    await add_stream(nats_server.url, name="SHARED", subjects=["crypto.>"], **config)
    if sealed:
        async with jetstream(nats_server.url) as js:
            have = (await js.stream_info("SHARED")).config
            have.sealed = True
            await js.update_stream(have)
    with pytest.raises(StreamUnfit, match=why) as refused:
        await prepare(nats_server.url)
    assert "stream SHARED cannot take crypto.updates" in str(refused.value)


async def test_a_work_queue_whose_consumers_take_other_subjects_is_refused(
    nats_server: NatsServer,
) -> None:
    from nats.js.api import ConsumerConfig, RetentionPolicy

    url = nats_server.url
    await add_stream(url, name="WORK", subjects=["crypto.>"], retention=RetentionPolicy.WORK_QUEUE)
    async with jetstream(url) as js:
        await js.add_consumer(
            "WORK", ConsumerConfig(durable_name="jobs", filter_subject="crypto.x")
        )
    with pytest.raises(StreamUnfit, match=r"none of its consumers takes crypto\.updates"):
        await prepare(url)


async def test_a_work_queue_without_consumers_is_used_as_it_is_never_rewritten(
    nats_server: NatsServer, logs: list[str]
) -> None:
    """Before: the worker tried to turn it into a limits stream, which JetStream refuses
    ("can not change retention policy"): a permanent outage."""
    from nats.js.api import RetentionPolicy

    url = nats_server.url
    await add_stream(
        url, name="CRYPTO", subjects=["crypto.>"], retention=RetentionPolicy.WORK_QUEUE
    )
    await prepare(url)
    assert (await stream_config(url, "CRYPTO")).retention == RetentionPolicy.WORK_QUEUE
    assert any("jetstream stream has no consumer yet" in line for line in logs)


async def test_manage_on_sets_age_and_adds_the_subject_keeping_the_other_subjects(
    nats_server: NatsServer,
) -> None:
    url = nats_server.url
    await add_stream(url, name="CRYPTO", subjects=["other.feed"], max_age=DAYS_30)
    await prepare(url, manage=True)
    config = await stream_config(url, "CRYPTO")
    assert (config.subjects, config.max_age) == (["other.feed", "crypto.updates"], 3600)


async def test_manage_on_cannot_change_a_retention_and_says_so(nats_server: NatsServer) -> None:
    from nats.js.api import RetentionPolicy

    url = nats_server.url
    await add_stream(url, name="CRYPTO", subjects=["crypto.>"], retention=RetentionPolicy.INTEREST)
    with pytest.raises(StreamUnfit, match="retention interest, which JetStream cannot change"):
        await prepare(url, manage=True)


def test_a_stream_named_jetstream_stream_of_other_subjects_is_78_in_check_and_run_unchanged(
    nats_server: NatsServer, spawn_worker: Spawn
) -> None:
    url = nats_server.url
    asyncio.run(add_stream(url, name="CRYPTO", subjects=["other.feed"], max_age=DAYS_30))
    for command in ("check", "run"):
        worker = spawn_worker(command, NATS_URL=url, TRIGGER_TARGETS="redis-pubsub,jetstream")
        assert worker.wait(timeout=20) == 78, worker.stderr
        lines = worker.stderr.strip().splitlines()
        assert len(lines) == 1, worker.stderr
        assert "stream CRYPTO exists and does not capture crypto.updates" in lines[0]
        assert "JETSTREAM_MANAGE=on" in lines[0]
    config = asyncio.run(stream_config(url, "CRYPTO"))
    assert (config.subjects, config.max_age) == (["other.feed"], DAYS_30)


def test_check_prints_the_warning_run_would_log_and_names_the_stream(
    nats_server: NatsServer, spawn_worker: Spawn
) -> None:
    url = nats_server.url
    asyncio.run(add_stream(url, name="SHARED", subjects=["crypto.>"], max_age=DAYS_30))
    check = spawn_worker("check", NATS_URL=url, TRIGGER_TARGETS="jetstream")
    assert check.wait(timeout=20) == 0, check.stderr
    assert "warning: jetstream stream used as it is stream=SHARED" in check.stdout
    assert "stream SHARED takes crypto.updates" in check.stdout
    assert asyncio.run(stream_names(url)) == ["SHARED"]
