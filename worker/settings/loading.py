"""Loading the settings: any problem is one `ConfigError` line that never echoes a secret."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any, TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from worker.errors import ConfigError
from worker.settings.base import WorkerSettings

# pydantic's own messages reworded (the float fields have their own validators).
_MESSAGES = {
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "literal_error": "must be {expected}",
}

S = TypeVar("S", bound=WorkerSettings)


def load_settings(cls: type[S], *, env_file: str | Path | None = ".env") -> S:
    """Build and validate the settings, per-task ones included, from the environment and `.env`."""
    if env_file is not None:
        check_dotenv(env_file)
    options: dict[str, Any] = {"_env_file": env_file}  # BaseSettings' init keyword, untyped
    try:
        return cls(**options)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors(include_url=False, include_input=False))) from None
    except SettingsError as exc:
        # Its text is 'error parsing value for field "x" from source "..."': keep the name only.
        field = re.search(r'field "(\w+)"', str(exc))
        raise ConfigError(
            f"{field[1].upper() if field else 'SETTINGS'}: cannot be parsed"
        ) from None
    except UnicodeDecodeError:
        where = Path(env_file).absolute() if env_file is not None else ".env"
        raise ConfigError(f"{where}: not valid UTF-8") from None


def app_import_string(env_file: str | Path = ".env") -> str:
    """WORKER_APP as the settings will read it (environment, then `.env`), before loading them:
    the application's own settings class is only known once its container is imported."""
    for name, value in os.environ.items():
        if name.upper() == "WORKER_APP":
            return value
    path = Path(env_file)
    if path.is_file():
        check_dotenv(path)
        for name, found in dotenv_values(path).items():
            if name.upper() == "WORKER_APP" and found:
                return found
    default: str = WorkerSettings.model_fields["worker_app"].default
    return default


def check_dotenv(env_file: str | Path) -> None:
    """A `.env` that cannot be read whole is a configuration error naming the file and line:
    python-dotenv would skip the line with a warning, and a default (a Redis on localhost)
    would silently stand in for what it meant to set."""
    from dotenv.parser import parse_stream

    path = Path(env_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except UnicodeDecodeError:
        raise ConfigError(f"{path.absolute()}: not valid UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path.absolute()}: cannot be read ({exc.strerror})") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.line
            raise ConfigError(
                f"{path.absolute()}: line {line} cannot be parsed (an unterminated quote?)"
            )


def _describe(errors: list[ErrorDetails]) -> str:
    """One line: the first problem of each variable, in pydantic's words minus the input."""
    by_variable: dict[str, str] = {}
    for error in errors:
        template = _MESSAGES.get(error["type"])
        bounds = {key: _number(value) for key, value in error.get("ctx", {}).items()}
        message = template.format(**bounds) if template else error["msg"]
        variable = str(error["loc"][0]).upper() if error["loc"] else "SETTINGS"
        by_variable.setdefault(variable, " ".join(message.removeprefix("Value error, ").split()))
    return "; ".join(f"{name}: {message}" for name, message in by_variable.items())


def _number(value: object) -> object:
    """A bound as users write it: `3600`, not pydantic's `3600.0`."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
