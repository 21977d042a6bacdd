"""A user's application with settings of its own, as README "Your own settings" shows.

`GreetingSettings` extends the shipped `config.Settings`; the container names it as its
`settings_class`, and its services take the fields through `settings.provided`. The tests
run it through `--app tests.apps.own_settings:Container`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers
from pydantic import Field, field_validator

from config import Settings
from container import Container as AppContainer
from worker import Duration, cron

if TYPE_CHECKING:
    from redis.asyncio import Redis


class GreetingSettings(Settings):
    """GREETING, GREETING_REPEAT and GREETING_PAUSE, beside every setting of the base."""

    greeting: str = "hello"
    greeting_repeat: int = Field(default=1, ge=1)
    greeting_pause: Duration = 0.0

    @field_validator("greeting")
    @classmethod
    def _greeting_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class GreetingTasks:
    def __init__(self, redis: Redis, greeting: str, repeat: int, pause: float) -> None:
        self._redis = redis
        self._text = " ".join([greeting] * repeat)
        self._pause = pause

    @cron("0 9 * * *", name="greet")
    async def greet(self) -> None:
        await self._redis.set("greeting", f"{self._text} (pause {self._pause}s)")


@containers.copy(AppContainer)  # one settings object, of GreetingSettings, for every provider
class Container(AppContainer):
    settings_class = providers.Object(GreetingSettings)

    greetings = providers.Singleton(
        GreetingTasks,
        AppContainer.redis,
        greeting=AppContainer.settings.provided.greeting,
        repeat=AppContainer.settings.provided.greeting_repeat,
        pause=AppContainer.settings.provided.greeting_pause,
    )
