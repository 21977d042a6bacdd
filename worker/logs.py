"""Loguru set-up: text or flat-JSON lines on stderr, stdlib logging routed in, secrets scrubbed.

Scrubbing happens in the sink, on the final text, so no message, field or traceback
can carry a password out, whoever wrote it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

if TYPE_CHECKING:
    from loguru import Message, Record

_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret and any password in a URL by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _URL_CREDENTIALS.sub(r"\g<head>***@", text)


class _InterceptHandler(logging.Handler):
    """Sends stdlib records (APScheduler, redis, asyncio) to loguru at their own level."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).bind(source=record.name).log(
            level, record.getMessage()
        )


class _Sink:
    def __init__(self, stream: TextIO, fmt: str, secrets: tuple[str, ...]) -> None:
        self._stream = stream
        self._json = fmt == "json"
        self._secrets = secrets

    def write(self, message: Message) -> None:
        text = _json_line(message.record) if self._json else str(message)
        self._stream.write(scrub(text, self._secrets))
        self._stream.flush()


def configure_logging(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Called once by the CLI, before anything logs; safe to call again (tests, reloads)."""
    logger.remove()
    sink = _Sink(stream or sys.stderr, fmt, tuple(s for s in secrets if s))
    logger.add(
        sink.write,
        level=level,
        format=_text_format,
        colorize=False,
        backtrace=False,
        diagnose=False,
        enqueue=False,
        catch=True,
    )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    # APScheduler logs every job run at INFO; the run wrapper's own line replaces that.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _text_format(record: Record) -> str:
    fields = " ".join(f"{key}={_field(value)}" for key, value in record["extra"].items())
    fields = fields.replace("{", "{{").replace("}", "}}")
    head = "{time:YYYY-MM-DDTHH:mm:ss.SSS!UTC}Z {level: <7} {message}"
    return head + (" " + fields if fields else "") + "\n{exception}"


def _field(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=')) else text


def _json_line(record: Record) -> str:
    line: dict[str, Any] = {
        "time": record["time"]
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "level": record["level"].name,
        "message": record["message"],
    }
    for key, value in record["extra"].items():
        line.setdefault(key, value)
    exception = record["exception"]
    if exception is not None and exception.type is not None:
        line["exception"] = "".join(
            traceback.format_exception(exception.type, exception.value, exception.traceback)
        )
    return json.dumps(line, default=str) + "\n"
