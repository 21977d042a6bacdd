"""Errors the CLI turns into exit codes; each message is one line, already free of secrets."""

from __future__ import annotations


class WorkerError(Exception):
    """Base of the errors that end a command with a one-line message."""

    exit_code = 1


class ConfigError(WorkerError):
    """Invalid setting or application definition (exit 78)."""

    exit_code = 78


class DefinitionError(ConfigError):
    """A task or service definition is wrong: a bad decorator argument, a duplicate name."""


class UnavailableError(WorkerError):
    """A required service cannot be reached (exit 69)."""

    exit_code = 69


class UsageError(WorkerError):
    """Unknown command or task name (exit 2)."""

    exit_code = 2


QUOTE_LIMIT = 12  # a longer bad value may be a password pasted into the wrong setting


def quoted(value: object) -> str:
    """A bad value as an error may show it: quoted when it is at most 12 printable
    characters, else only its length (a password pasted into the wrong setting stays out of
    the output). Settings that hold a credential never quote their value at all."""
    text = str(value)
    if len(text) <= QUOTE_LIMIT and text.isprintable():
        return repr(text)
    return f"a value of {len(text)} characters"
