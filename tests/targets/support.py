"""A nats-server the tests own (`nats-server -js` on a free port) and a core subscriber."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from typing import Any

from tasks.crypto import update_payload
from tests.support import Message, free_port, wait_for
from worker.run.fire import Fire
from worker.state.keys import Keys
from worker.state.targets import TargetLanes
from worker.targets.fanout import TriggerFanout
from worker.targets.lane import DeliveryLane

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class NatsServer:
    """nats-server with JetStream on a free port; kill() and start() again keep the port and
    the store, as a restarted server would. `users` runs it from a config file with those
    accounts (user: password), which `set_users` rewrites and `reload` applies (SIGHUP)."""

    def __init__(
        self,
        user: str | None = None,
        password: str | None = None,
        *,
        users: dict[str, str] | None = None,
        deny_publish: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.user, self.password = user, password
        self._dir = tempfile.mkdtemp(prefix="nats-test-")
        self._process: subprocess.Popen[bytes] | None = None
        self._config: str | None = None
        if users is not None:
            self.set_users(users, deny_publish)

    def set_users(self, users: dict[str, str], deny_publish: tuple[str, ...] = ()) -> None:
        """The config file with these accounts, for the next start or reload; each may
        publish anywhere but to `deny_publish`."""
        denied = ", ".join(f'"{subject}"' for subject in deny_publish)
        rights = f", permissions: {{publish: {{deny: [{denied}]}}}}" if deny_publish else ""
        entries = ", ".join(f'{{user: "{u}", password: "{p}"{rights}}}' for u, p in users.items())
        self._config = f"{self._dir}/nats.conf"
        with open(self._config, "w") as config:
            config.write(
                f"listen: 127.0.0.1:{self.port}\n"
                f'jetstream {{ store_dir: "{self._dir}" }}\n'
                f"authorization {{ users: [{entries}] }}\n"
            )

    def reload(self) -> None:
        """Apply the config file now (the server drops clients it no longer admits)."""
        assert self._process is not None
        assert self._config is not None
        before = self._log().count("Reloaded server configuration")
        self._process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: self._log().count("Reloaded server configuration") > before,
            timeout=10,
            what="nats-server reloaded",
        )

    def _log(self) -> str:
        with open(f"{self._dir}/log", errors="replace") as log:
            return log.read()

    @property
    def url(self) -> str:
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"nats://{auth}127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self._dir]
        if self._config:
            args = [NATS_SERVER, "-c", self._config]
        elif self.user:
            args += ["--user", self.user, "--pass", self.password or ""]
        log = open(f"{self._dir}/log", "ab")  # noqa: SIM115 - the server process owns it
        self._process = subprocess.Popen(args, stdout=log, stderr=log)
        log.close()
        wait_for(self._answers, timeout=10, what=f"nats-server on port {self.port}")

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False


class NatsSubscriber:
    """Every message of one subject, timestamped on receipt, from a thread of its own."""

    def __init__(self, url: str, subject: str) -> None:
        self.messages: list[Message] = []
        self._url, self._subject = url, subject
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._run(),))
        self._thread.start()
        if not self._ready.wait(10):
            raise AssertionError("nats subscriber did not connect")

    def wait_count(self, count: int, timeout: float = 15.0) -> list[Message]:
        wait_for(lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} messages")
        return list(self.messages)

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _run(self) -> None:
        import nats

        self._stop = asyncio.Event()
        nc = await nats.connect(self._url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)

        async def received(msg: Any) -> None:
            self.messages.append(Message(time.time(), json.loads(msg.data)))

        await nc.subscribe(self._subject, cb=received)
        await nc.flush()
        self._ready.set()
        await self._stop.wait()
        await nc.close()


async def stream_messages(url: str, stream: str, subject: str) -> list[dict[str, Any]]:
    """Everything the JetStream stream holds, read by a durable consumer created now."""
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        sub = await js.pull_subscribe(subject, durable="late-reader", stream=stream)
        found: list[dict[str, Any]] = []
        while len(found) < info.state.messages:
            for msg in await sub.fetch(info.state.messages - len(found), timeout=5):
                found.append(json.loads(msg.data))
                await msg.ack()
        await sub.unsubscribe()  # else close() waits out the fetch's drain (see PITFALLS)
        return found
    finally:
        await nc.close()


def fanout_of(
    target: Any, client: Any, keys: Keys | None = None, instance_id: str = "test"
) -> TriggerFanout:
    """A fan-out over one lane to `target`, its state under `keys` (`test:` by default)."""
    state = TargetLanes(client, keys=keys or Keys("test:"), timeout=1.0)
    fanout = TriggerFanout(state=state, instance_id=instance_id)
    lane = DeliveryLane(
        target,
        send_timeout=1.0,
        log_interval=30,
        on_change=fanout.report,
        on_result=lambda *_: None,
        alert_after=0,
        alert=lambda *_: None,
    )
    fanout.lanes = (lane,)
    return fanout


def fire_at(moment: datetime) -> dict[str, Any]:
    return update_payload(Fire("crypto-trigger", moment))
