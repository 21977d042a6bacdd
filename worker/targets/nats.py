"""The NATS targets: core NATS (`nats`) and JetStream (`jetstream`), on one shared connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

from worker.connect.nats import NatsPublishDenied
from worker.errors import ConfigError
from worker.targets.base import Message
from worker.targets.stream_plan import Note, Wanted
from worker.targets.streams import API, carry_out, survey

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

    from worker.connect.nats import NatsConnection


class NatsTarget:
    """Core publish on CRYPTO_SUBJECT; delivered once the server answered a flush (a publish
    into nats-py's reconnect buffer is not a delivery). The `Nats-Msg-Id` header lets a
    JetStream stream on the same subject store the fire once."""

    name = "nats"
    prepare_at_start = True

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
        mark = self._connection.denials()
        await nc.publish(self._subject, message.data, headers=headers)
        # Twice: nats-py writes a flush's PING at once but the publish from its pending buffer
        # a loop turn later, so the first PONG can come back before the server saw the message
        # (and before its refusal, which the server sends ahead of the PONG that follows it).
        await nc.flush(timeout=self._timeout)  # type: ignore[arg-type]
        await nc.flush(timeout=self._timeout)  # type: ignore[arg-type]
        if (why := self._connection.denied(mark, self._subject)) is not None:
            raise NatsPublishDenied(why)  # the flush was answered, the message dropped

    def ambiguous(self, exc: BaseException) -> bool:
        return isinstance(exc, TimeoutError)

    def down(self) -> str | None:
        return self._connection.down_reason()


class StreamMissing(ConnectionError):
    """No stream answered the publish: create it again (a server restarted without its data)."""

    prepare_again = True


class JetStreamTarget:
    """JetStream publish with `Nats-Msg-Id` = fire id; the stream's ack (a duplicate one too)
    is the delivery. A publish whose ack timed out is re-sent with the same id. Which stream
    takes the publishes, and what the worker may change: `worker.targets.stream_plan`."""

    name = "jetstream"
    prepare_at_start = True

    def __init__(
        self,
        connection: NatsConnection,
        *,
        subject: str,
        stream: str,
        max_age: float,
        timeout: float,
        manage: bool = False,
    ) -> None:
        self._connection = connection
        self._subject = subject
        self._wanted = Wanted(subject, stream, max_age, manage)
        self._timeout = timeout
        self._stream: str | None = None
        self._noted: set[str] = set()
        self._js: tuple[Client, JetStreamContext] | None = None
        """The JetStream context of the current client (made once per connection, not per send)."""

    async def probe(self) -> None:
        await self._connection.client().flush(timeout=self._timeout)  # type: ignore[arg-type]

    async def prepare(self) -> None:
        """Find the stream that takes CRYPTO_SUBJECT, or create JETSTREAM_STREAM; change one
        only as JETSTREAM_MANAGE allows. A stream that cannot take the publishes raises
        StreamUnfit (78 at start; later an outage of this lane, with its alert)."""
        from nats.errors import NoRespondersError

        nc = await self._connection.wait_connected(self._timeout)
        mark, where = self._connection.denials(), self._connection.where
        try:
            found = await survey(nc, self._wanted, self._timeout)
        except NoRespondersError:  # nothing serves the JetStream API: `check` says the same
            raise ConfigError(f"JetStream is not enabled on NATS_URL ({where})") from None
        except TimeoutError:
            if (why := self._connection.denied(mark, API)) is None:
                raise
            raise ConfigError(
                f"NATS_URL: {where}: the user may not use JetStream ({why})"
            ) from None
        for note in found.notes:
            self._note(note.line(), note)
        await carry_out(nc, found, self._timeout)
        if found.config is not None:
            verb = "created" if found.action == "create" else "updated"
            logger.bind(target=self.name, stream=found.stream, subject=self._subject).info(
                f"jetstream stream {verb}"
            )
        self._stream = found.stream

    async def before_catchup(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        from nats.js.errors import NoStreamResponseError

        js = self._context(self._connection.client())
        mark = self._connection.denials()
        try:
            ack = await js.publish(
                self._subject, message.data, headers={"Nats-Msg-Id": message.fire_id}
            )
        except NoStreamResponseError:
            raise StreamMissing(f"no JetStream stream takes {self._subject}") from None
        except TimeoutError:  # no ack: lost, unless the server refused the publish itself
            if (why := self._connection.denied(mark, self._subject)) is None:
                raise
            raise NatsPublishDenied(why) from None
        if self._stream is not None and ack.stream != self._stream:
            # A subject mapping of the account sends the subject elsewhere: say so, once.
            fields = {"stream": ack.stream, "expected": self._stream, "subject": self._subject}
            self._note(f"ack:{ack.stream}", Note("jetstream publish stored elsewhere", fields))

    def ambiguous(self, exc: BaseException) -> bool:
        return isinstance(exc, TimeoutError)

    def down(self) -> str | None:
        return self._connection.down_reason()

    def _context(self, nc: Client) -> JetStreamContext:
        if self._js is None or self._js[0] is not nc:
            self._js = (nc, nc.jetstream(timeout=self._timeout))
        return self._js[1]

    def _note(self, key: str, note: Note) -> None:
        if key not in self._noted:
            self._noted.add(key)
            logger.bind(target=self.name, **note.fields).warning(note.event)
