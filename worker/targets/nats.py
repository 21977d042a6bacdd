"""The NATS targets: core NATS (`nats`) and JetStream (`jetstream`), on one shared connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.targets.base import Message

if TYPE_CHECKING:
    from worker.connect.nats import NatsConnection

DUPLICATE_WINDOW = 120.0
"""JetStream de-duplicates a `Nats-Msg-Id` seen within this many seconds (DESIGN: 2 min)."""


class NatsTarget:
    """Core publish on CRYPTO_SUBJECT; delivered once the server answered a flush (a publish
    into nats-py's reconnect buffer is not a delivery). The `Nats-Msg-Id` header lets a
    JetStream stream on the same subject store the fire once."""

    name = "nats"

    def __init__(self, connection: NatsConnection, subject: str, timeout: float) -> None:
        self._connection = connection
        self._subject = subject
        self._timeout = timeout

    async def prepare(self) -> None:
        await self._connection.wait_connected(self._timeout)

    async def probe(self) -> None:
        await self._connection.client().flush(timeout=self._timeout)  # type: ignore[arg-type]

    async def before_catchup(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        nc = self._connection.client()
        headers = {"Nats-Msg-Id": message.fire_id}
        await nc.publish(self._subject, message.data, headers=headers)
        await nc.flush(timeout=self._timeout)  # type: ignore[arg-type]

    def ambiguous(self, exc: BaseException) -> bool:
        return isinstance(exc, TimeoutError)

    def up(self) -> bool:
        return self._connection.up


class StreamMissing(ConnectionError):
    """No stream answered the publish: create it again (a server restarted without its data)."""

    prepare_again = True


class JetStreamTarget:
    """JetStream publish with `Nats-Msg-Id` = fire id; the stream's ack (a duplicate one too)
    is the delivery. A publish whose ack timed out is re-sent with the same id."""

    name = "jetstream"

    def __init__(
        self,
        connection: NatsConnection,
        *,
        subject: str,
        stream: str,
        max_age: float,
        timeout: float,
    ) -> None:
        self._connection = connection
        self._subject = subject
        self._stream = stream
        self._max_age = max_age
        self._timeout = timeout

    async def probe(self) -> None:
        await self._connection.client().flush(timeout=self._timeout)  # type: ignore[arg-type]

    async def prepare(self) -> None:
        """Create the stream, or update it when it exists with other settings."""
        from nats.js.api import RetentionPolicy, StreamConfig
        from nats.js.errors import NotFoundError

        nc = await self._connection.wait_connected(self._timeout)
        js = nc.jetstream(timeout=self._timeout)
        config = StreamConfig(
            name=self._stream,
            subjects=[self._subject],
            retention=RetentionPolicy.LIMITS,
            max_age=self._max_age,
            duplicate_window=DUPLICATE_WINDOW,
        )
        try:
            info = await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(config)
            return
        have = info.config
        if (
            have.subjects != config.subjects
            or have.retention != config.retention
            or have.max_age != config.max_age
            or have.duplicate_window != config.duplicate_window
        ):
            await js.update_stream(config)

    async def before_catchup(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        from nats.js.errors import NoStreamResponseError

        js = self._connection.client().jetstream(timeout=self._timeout)
        try:
            await js.publish(self._subject, message.data, headers={"Nats-Msg-Id": message.fire_id})
        except NoStreamResponseError:
            raise StreamMissing(f"no JetStream stream takes {self._subject}") from None

    def ambiguous(self, exc: BaseException) -> bool:
        return isinstance(exc, TimeoutError)

    def up(self) -> bool:
        return self._connection.up
