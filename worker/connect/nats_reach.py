"""`check`'s one connection to NATS: reached, logged in, JetStream there, and whatever else
the caller asks of it while connected."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from worker.connect.errors import describe_error
from worker.connect.nats import auth_error, denied_subject
from worker.errors import ConfigError

if TYPE_CHECKING:
    from nats.aio.client import Client

T = TypeVar("T")


async def reach_nats(
    servers: list[str],
    *,
    where: str,
    timeout: float,
    jetstream: bool,
    then: Callable[[Client], Awaitable[T]] | None = None,
) -> T | None:
    """Connect once within `timeout` (`check`): refused credentials → ConfigError (78), no
    answer → UnavailableError (69); connected, `then(client)` says what else is wrong (its
    WorkerError goes up as it is). `where` is NATS_URL without its secrets."""
    import nats

    from worker.errors import UnavailableError, WorkerError

    errors: list[Exception] = []

    async def note(exc: Exception) -> None:
        errors.append(exc)

    try:
        async with asyncio.timeout(timeout):
            nc = await nats.connect(
                servers=servers,
                allow_reconnect=False,
                connect_timeout=max(1, int(timeout)),
                error_cb=note,
                name="crypto-stats-worker-check",
            )
            try:
                if jetstream:
                    await nc.jetstream(timeout=timeout).account_info()
                result = await then(nc) if then is not None else None
            finally:
                await nc.close()
    except WorkerError:
        raise
    except Exception as exc:
        seen = [*errors, exc]
        if any(auth_error(error) for error in seen):
            raise ConfigError(f"NATS_URL: {where}: authentication failed") from None
        if jetstream and any(
            (subject := denied_subject(error)) is not None and subject.startswith("$js.api")
            for error in errors
        ):
            raise ConfigError(
                f"NATS_URL: {where}: the user may not use JetStream "
                "(permissions violation on the JetStream API)"
            ) from None
        if jetstream and _no_jetstream(exc, errors):
            raise ConfigError(f"JetStream is not enabled on NATS_URL ({where})") from None
        reason = describe_error(exc) if str(exc) else f"no answer within {timeout:g}s"
        raise UnavailableError(f"NATS_URL: cannot reach nats at {where}: {reason}") from None
    return result


def _no_jetstream(exc: Exception, errors: list[Exception]) -> bool:
    """A server without JetStream answers its API with 503 (no responders)."""
    from nats.errors import Error as NatsError
    from nats.errors import NoRespondersError
    from nats.js.errors import ServiceUnavailableError

    if isinstance(exc, ServiceUnavailableError | NoRespondersError):
        return True
    return isinstance(exc, NatsError) and not errors and "jetstream" in str(exc)
