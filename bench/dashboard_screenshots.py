"""Screenshots of the dashboard's pages over a live fleet, for the docs.

    PYTHONPATH=. python -m bench.dashboard_screenshots [--out docs] [--history 40]

Starts its own redis-server on a free port, a local price API (CoinGecko-shaped: a price for
bitcoin and ethereum, nothing for the misspelt `etherium`), two replicas of
bench/dashboard_app.py (the crypto trigger every 3 s on two targets, coin-sync every 10 s,
`price-snapshot` failing every 4 s so it raises an alert) and the dashboard; waits until the
history shows all of that, then has headless Chromium (/usr/bin/chromium with its
chromedriver) save each page, 1280 px wide and as tall as its content, as
`<out>/dashboard-{fleet,tasks,task,targets,queues,alerts}.png`. Needs selenium.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bench.procs import BenchError, Child, clean_env, free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 800
PRICES = {"bitcoin": 91234.5, "ethereum": 3012.25}
COINS = "bitcoin,ethereum,etherium"
CHART_TASK = "crypto-trigger"
PAGES = {
    "fleet": ("/", "table#replicas"),
    "tasks": ("/tasks", "table#tasks"),
    "task": (f"/tasks/{CHART_TASK}", "figure#lag-chart svg"),
    "targets": ("/targets", "table#targets"),
    "queues": ("/queues", "table#queues"),
    "alerts": ("/alerts", "table#alerts"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_screenshots")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder of the PNGs")
    parser.add_argument(
        "--history", type=float, default=40.0, help="seconds of fleet history at least"
    )
    args = parser.parse_args(argv)
    logdir = Path(tempfile.mkdtemp(prefix="dashboard-screenshots-"))
    try:
        written = run(args.out, args.history, logdir)
    except BenchError as exc:
        print(f"dashboard screenshots: {exc} (logs in {logdir})", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def run(out: Path, history: float, logdir: Path) -> list[Path]:
    with ExitStack() as stack:
        server, url = start_redis(logdir)
        stack.callback(server.close)
        api = stack.enter_context(price_api())
        replicas = [replica(name, url, api, logdir) for name in ("r1", "r2")]
        for child in replicas:
            stack.callback(child.close)
        for child in replicas:
            child.wait_ready(30)
        started = time.monotonic()
        port = free_port()
        dashboard = Child(
            "dashboard",
            [sys.executable, "-m", "dashboard", "--addr", f"127.0.0.1:{port}"],
            clean_env(REDIS_URL=url, PYTHONPATH=str(ROOT)),
            logdir,
        )
        stack.callback(dashboard.close)
        base = f"http://127.0.0.1:{port}"
        poll(lambda: _status(f"{base}/healthz") == 200, 30, "the dashboard answering")
        poll(lambda: has_history(base), 120, "failures, an alert, failed jobs and deliveries")
        poll(lambda: time.monotonic() - started >= history, history + 1, "history")
        return screenshots(base, out)


def replica(name: str, url: str, api: str, logdir: Path) -> Child:
    env = clean_env(
        REDIS_URL=url,
        PYTHONPATH=str(ROOT),
        WORKER_APP="bench.dashboard_app:Container",
        WORKER_INSTANCE_ID=name,
        HEARTBEAT_FILE=str(logdir / f"{name}.heartbeat"),
        HEARTBEAT_INTERVAL="1",
        LOG_LEVEL="INFO",
        TRIGGER_TARGETS="redis-pubsub,redis-stream",
        SCHEDULE_CRYPTO_TRIGGER="*/3 * * * * *",
        SCHEDULE_COIN_SYNC="*/10 * * * * *",
        SCHEDULE_PRICE_SNAPSHOT="*/4 * * * * *",
        SCHEDULE_HEALTH_CHECK="5s",
        COINS=COINS,
        PRICE_API_URL=api,
        SYNC_MAX_DELAY="1",
    )
    return Child(name, [sys.executable, "-m", "worker"], env, logdir)


def has_history(base: str) -> bool:
    tasks = {t["name"]: t for t in _json(f"{base}/api/tasks").get("tasks", [])}
    queues = _json(f"{base}/api/queues").get("queues", [])
    targets = _json(f"{base}/api/targets").get("targets", [])
    runs = _json(f"{base}/api/tasks/{CHART_TASK}").get("runs", [])
    return (
        int(tasks.get("price-snapshot", {}).get("consecutive_failures") or 0) >= 3
        and bool(_json(f"{base}/api/alerts").get("alerts"))
        and any(q["last_failures"] for q in queues)
        and len(targets) == 2
        and all(t.get("last_delivered") for t in targets)
        and len(runs) >= 8
    )


def screenshots(base: str, out: Path) -> list[Path]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import (
        presence_of_element_located as present,
    )
    from selenium.webdriver.support.wait import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for name, (path, ready) in PAGES.items():
            metrics(driver, HEIGHT)
            driver.get(f"{base}{path}")
            WebDriverWait(driver, 10).until(present((By.CSS_SELECTOR, ready)))
            height = int(driver.execute_script("return document.documentElement.scrollHeight"))
            metrics(driver, max(HEIGHT, height))
            target = out / f"dashboard-{name}.png"
            if not driver.save_screenshot(str(target)):
                raise BenchError(f"no screenshot of {path}")
            written.append(target)
    finally:
        driver.quit()
    return written


def metrics(driver: Any, height: int) -> None:
    """The page's viewport: WIDTH wide, `height` tall (the whole content in one image)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


@contextmanager
def price_api() -> Iterator[str]:
    """CoinGecko's `simple/price` on loopback: PRICES, and `{}` for any other coin."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            coin = parse_qs(urlsplit(self.path).query).get("ids", [""])[0]
            body: dict[str, Any] = {}
            if coin in PRICES:
                price = PRICES[coin]
                body[coin] = {"usd": price, "usd_market_cap": price * 2e7, "usd_24h_change": 1.2}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def poll(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.2)


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def _json(url: str) -> dict[str, Any]:
    try:
        reply = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return {}
    return dict(reply.json()) if reply.status_code == 200 else {}


if __name__ == "__main__":
    raise SystemExit(main())
