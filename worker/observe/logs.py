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
from typing_extensions import override

if TYPE_CHECKING:
    from loguru import Message, Record

_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_NEEDS_QUOTES = re.compile(r'[\s"=]')


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret and any password in a URL by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _URL_CREDENTIALS.sub(r"\g<head>***@", text) if "://" in text else text


class _InterceptHandler(logging.Handler):
    """Sends stdlib records (APScheduler, redis, asyncio) to loguru at their own level."""

    @override
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
        record = message.record
        text = _json_line(record) if self._json else _text_line(record)
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
        format="{message}",  # lines are built in the sink, from the record
        colorize=False,
        backtrace=False,
        diagnose=False,
        enqueue=False,
        catch=True,
    )
    logging.basicConfig(handlers=[_InterceptHandler()], level=logging.INFO, force=True)
    # APScheduler logs every job run at INFO; the run wrapper's own line replaces that.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _text_line(record: Record) -> str:
    parts = [_time(record), f"{record['level'].name: <7}", record["message"]]
    parts += [f"{key}={_field(value)}" for key, value in record["extra"].items()]
    return " ".join(parts) + "\n" + _traceback(record)


def now_stamp() -> str:
    """Now, as log lines show time (for lines written without loguru)."""
    from datetime import datetime

    moment = datetime.now(UTC)
    return f"{moment.replace(tzinfo=None).isoformat(timespec='milliseconds')}Z"


def _time(record: Record) -> str:
    moment = record["time"].astimezone(UTC)
    return f"{moment.replace(tzinfo=None).isoformat(timespec='milliseconds')}Z"


def _traceback(record: Record) -> str:
    exception = record["exception"]
    if exception is None or exception.type is None:
        return ""
    return "".join(traceback.format_exception(exception.type, exception.value, exception.traceback))


def _field(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or _NEEDS_QUOTES.search(text)) else text


def _json_line(record: Record) -> str:
    line: dict[str, Any] = {
        "time": _time(record),
        "level": record["level"].name,
        "message": record["message"],
    }
    for key, value in record["extra"].items():
        line.setdefault(key, value)
    exception = _traceback(record)
    if exception:
        line["exception"] = exception
    return json.dumps(line, default=str) + "\n"
