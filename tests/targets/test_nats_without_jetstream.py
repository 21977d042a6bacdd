"""`check` says a NATS server has no JetStream (before: 69 "cannot reach nats:
ServiceUnavailableError", as if the server were down)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.support import WorkerProcess, free_port, wait_for
from tests.targets.support import NATS_SERVER

Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def plain_nats() -> Iterator[int]:
    """nats-server started without -js."""
    port = free_port()
    process = subprocess.Popen(
        [NATS_SERVER, "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False

    try:
        wait_for(answers, timeout=10, what="nats-server without JetStream")
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)


def test_check_against_nats_without_jetstream_exits_78_saying_so(
    spawn_worker: Spawn, plain_nats: int
) -> None:
    url = f"nats://user:pa55word@127.0.0.1:{plain_nats}"
    check = spawn_worker("check", TRIGGER_TARGETS="jetstream", NATS_URL=url)
    assert check.wait(timeout=20) == 78, check.stderr
    lines = check.stderr.strip().splitlines()
    assert len(lines) == 1, check.stderr
    assert "JetStream is not enabled on NATS_URL" in lines[0]
    assert "pa55word" not in check.stderr + check.stdout
