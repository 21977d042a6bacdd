"""`python -m dashboard` / `worker-dashboard`: serve the dashboard under uvicorn.

Settings errors end it with one line naming the setting and exit 78; missing packages
(the `dashboard` extra) with exit 69.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from typing_extensions import override

if TYPE_CHECKING:
    from dashboard.settings import DashboardSettings
    from worker import WorkerSettings

EXIT_CONFIG = 78
EXIT_UNAVAILABLE = 69


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="worker-dashboard",
        description="Read-only web view of the worker fleet (replicas, tasks, runs, targets, "
        "queues, alerts), reading the Redis that REDIS_URL and KEY_PREFIX name.",
    )
    parser.add_argument("--addr", help="host:port to listen on (DASHBOARD_ADDR; 127.0.0.1:8080)")
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    args = parser.parse_args(argv)
    try:
        import jinja2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        print(
            f"worker-dashboard: {exc.name} is not installed: "
            "pip install 'crypto-stats-worker[dashboard]'",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    from dashboard.app import create_app
    from dashboard.settings import SettingError, load
    from worker import WorkerError, WorkerSettings, load_settings

    try:
        settings = load(args.env_file, args.addr)
        fleet = load_settings(WorkerSettings, env_file=args.env_file)
    except SettingError as exc:
        print(f"worker-dashboard: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except WorkerError as exc:
        print(f"worker-dashboard: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        listener = listen(settings.host, settings.port)
    except OSError as exc:
        print(
            f"worker-dashboard: DASHBOARD_ADDR: cannot listen on {settings.addr}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    _announce(settings, fleet)
    config = uvicorn.Config(
        create_app(settings, fleet),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="warning",
        lifespan="on",
        # The client is the socket peer: uvicorn would otherwise take X-Forwarded-For from a
        # loopback peer, and a client could name a new address per guess past the throttle.
        proxy_headers=False,
    )
    server = _server(config)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        return 0
    return 0 if server.started else EXIT_CONFIG


def _announce(settings: DashboardSettings, fleet: WorkerSettings) -> None:
    """The start line (where, which fleet, how it is gated), after a WARNING when
    DASHBOARD_ALLOW_OPEN=on is what lets it listen beyond loopback without a strong token."""
    from dashboard.settings import MIN_OPEN_TOKEN
    from dashboard.throttle import BLOCK_S, FAILURES, WINDOW_S

    if settings.open_to_guessing:  # allowed by DASHBOARD_ALLOW_OPEN=on, else load refused it
        weak = f"a token shorter than {MIN_OPEN_TOKEN} characters" if settings.token else "no token"
        print(
            f"worker-dashboard: WARNING: DASHBOARD_ALLOW_OPEN=on: {settings.addr} is not "
            f"loopback and has {weak}: the network is trusted with the pages",
            file=sys.stderr,
            flush=True,
        )
    gate = (
        f"DASHBOARD_TOKEN required ({FAILURES} failed in {WINDOW_S:g} s from one address: "
        f"429 for {BLOCK_S:g} s)"
        if settings.token
        else "no token (DASHBOARD_TOKEN unset or empty): anyone who reaches it sees the pages"
    )
    print(
        f"dashboard on http://{settings.addr} for {fleet.safe_redis_url()} "
        f"(KEY_PREFIX {fleet.key_prefix!r}), {gate}",
        file=sys.stderr,
        flush=True,
    )


def _server(config: Any) -> Any:
    """uvicorn's server, stopping gracefully on SIGINT or SIGTERM and then exiting 0 as the
    worker does (uvicorn re-raises the signal once stopped: SIGTERM ended it with 143)."""
    import uvicorn

    class Server(uvicorn.Server):
        @override
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server(config)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here rather than by uvicorn: a taken port or an unknown host
    is then one line naming DASHBOARD_ADDR (uvicorn logs its own error and exits 3). Made with
    the TCP protocol number, as asyncio needs to set TCP_NODELAY on accepted connections (a
    socket with protocol 0 leaves Nagle on: 40 ms per keep-alive response)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock
