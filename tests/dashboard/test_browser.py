"""The dashboard in a real headless Chromium over a real fleet of two worker processes.

One fleet (two replicas of tests/apps/dashboard_fleet.py on a redis-server of this module's
own), one dashboard and one browser serve every test here: what a person sees, the refresh
that swaps the content in without a reload, a CLI pause showing within 2 s, the token gate
and error texts with markup shown as text.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.apps.dashboard_fleet import MARKUP, QUEUE, REASON
from tests.dashboard.support import DashboardProcess
from tests.support import RedisServer, WorkerProcess, worker_env

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
APP = "tests.apps.dashboard_fleet:Container"
FAILING = "dash-fail"
PAUSED = "cleanup"
"""A shipped task nothing else here looks at: paused by the CLI, resumed after."""
TOKEN = "dash-Token-7f3a9c"
SHOWN_WITHIN = 2.0
"""DESIGN: a change in Redis is on the page within 2 s, without a reload."""
T = TypeVar("T")


def fleet_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The replicas' settings: a failing cluster task every second, a failing job every 2 s."""
    env = {
        "WORKER_APP": APP,
        "HEARTBEAT_INTERVAL": "1",
        "LOG_LEVEL": "WARNING",
        "SCHEDULE_DASH_FAIL": "* * * * * *",
        "SCHEDULE_DASH_JOBS": "*/2 * * * * *",
        **extra,
    }
    return worker_env(redis_url, **env)


@pytest.fixture(scope="module")
def fleet_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dashboard-browser")


@pytest.fixture(scope="module")
def replicas(fleet_redis: RedisServer, workdir: Path) -> Iterator[list[WorkerProcess]]:
    """Two `python -m worker` processes, r1 and r2, each `ready`."""
    workers = [
        WorkerProcess(
            [],
            fleet_env(
                fleet_redis.url,
                WORKER_INSTANCE_ID=name,
                HEARTBEAT_FILE=str(workdir / f"{name}.heartbeat"),
                LOG_LEVEL="INFO",
            ),
            workdir,
        )
        for name in ("r1", "r2")
    ]
    try:
        for worker in workers:
            worker.wait_for_log(" ready ")
        yield workers
    finally:
        for worker in workers:
            worker.close()


@pytest.fixture(scope="module")
def dashboard(
    fleet_redis: RedisServer, workdir: Path, replicas: list[WorkerProcess]
) -> Iterator[DashboardProcess]:
    process = DashboardProcess(fleet_redis.url, workdir, {})
    try:
        process.wait_listening()
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        pytest.skip(f"missing tool: {', '.join(missing)} (a headless browser)")
    driver = open_browser()
    try:
        yield driver
    finally:
        driver.quit()


def open_browser(width: int = 1280, height: int = 800) -> WebDriver:
    """Debian's Chromium, headless, through its own chromedriver (nothing downloaded)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


STALE_TRIES = 5


def until(driver: WebDriver, condition: Callable[[WebDriver], T], timeout: float = 10.0) -> T:
    """Poll `condition` in the page (an element replaced by a refresh mid-read is retried)."""
    waiting = WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.05,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )
    return waiting.until(condition)


def text_of(driver: WebDriver, selector: str) -> str:
    """The element's text; one a refresh replaced between finding and reading it is found
    again (the page swaps its content in place every few seconds)."""
    for _ in range(STALE_TRIES - 1):
        try:
            return str(driver.find_element(By.CSS_SELECTOR, selector).text)
        except StaleElementReferenceException:
            continue
    return str(driver.find_element(By.CSS_SELECTOR, selector).text)


def script(driver: WebDriver, code: str, *args: Any) -> Any:
    return driver.execute_script(code, *args)


def cli(redis_url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m worker ARGS` with the fleet's settings, to its exit."""
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env=fleet_env(redis_url),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def failures_shown(driver: WebDriver) -> int:
    return int(text_of(driver, f'tr[data-task="{FAILING}"] td.failures'))


def test_the_fleet_page_lists_both_replicas(
    browser: WebDriver, dashboard: DashboardProcess, replicas: list[WorkerProcess]
) -> None:
    browser.get(f"{dashboard.url}/")
    rows = until(browser, lambda d: _rows_by_instance(d) if len(_rows_by_instance(d)) == 2 else {})
    assert set(rows) == {"r1", "r2"}
    assert text_of(browser, "#replica-count") == "2"
    for worker in replicas:
        cells = rows[worker.env["WORKER_INSTANCE_ID"]]
        assert cells[2] == str(worker.process.pid), cells


def _rows_by_instance(driver: WebDriver) -> dict[str, list[str]]:
    rows = driver.find_elements(By.CSS_SELECTOR, "table#replicas tr[data-instance]")
    return {
        str(row.get_attribute("data-instance")): [
            str(cell.text) for cell in row.find_elements(By.TAG_NAME, "td")
        ]
        for row in rows
    }


def test_the_failure_count_rises_in_place_without_a_reload(
    browser: WebDriver, dashboard: DashboardProcess
) -> None:
    browser.get(f"{dashboard.url}/tasks")
    first = until(browser, lambda d: failures_shown(d) >= 1 and failures_shown(d))
    script(browser, "window.__marker = 1")
    table = browser.find_element(By.CSS_SELECTOR, "table#tasks")
    risen = until(browser, lambda d: failures_shown(d) > first and failures_shown(d), timeout=15)
    assert risen > first
    assert script(browser, "return window.__marker") == 1, "the page was reloaded"
    assert expected_conditions.staleness_of(table)(browser), "the content was swapped in"
    navigations = script(browser, "return performance.getEntriesByType('navigation').length")
    assert navigations == 1


def test_a_pause_from_the_cli_shows_within_two_seconds(
    browser: WebDriver, dashboard: DashboardProcess, fleet_redis: RedisServer, workdir: Path
) -> None:
    state = f'tr[data-task="{PAUSED}"] td.state'
    browser.get(f"{dashboard.url}/tasks")
    until(browser, lambda d: text_of(d, state) == "active")
    # The moment the cell first reads "paused", taken in the page as the swap happens.
    script(
        browser,
        """
        var selector = arguments[0];
        window.__pausedAt = null;
        new MutationObserver(function () {
          var cell = document.querySelector(selector);
          if (window.__pausedAt === null && cell && cell.textContent.trim().startsWith("paused")) {
            window.__pausedAt = Date.now();
          }
        }).observe(document.getElementById("content"), {childList: true, subtree: true});
        """,
        state,
    )
    try:
        paused = cli(fleet_redis.url, workdir, "pause", PAUSED)
        exited = time.time()
        assert paused.returncode == 0, paused.stderr
        shown_at = until(browser, lambda d: script(d, "return window.__pausedAt"), timeout=10)
        assert text_of(browser, state).startswith("paused")
        shown_after = float(shown_at) / 1000 - exited
        assert shown_after < SHOWN_WITHIN, f"paused shown {shown_after:.3f} s after the CLI exit"
    finally:
        resumed = cli(fleet_redis.url, workdir, "resume", PAUSED)
        assert resumed.returncode == 0, resumed.stderr
    until(browser, lambda d: text_of(d, state) == "active")


def test_a_failed_job_shows_on_the_queues_page_with_its_reason(
    browser: WebDriver, dashboard: DashboardProcess
) -> None:
    browser.get(f"{dashboard.url}/queues")
    failed = f'table#queues tr[data-queue="{QUEUE}"] td.failed'
    until(browser, lambda d: int(text_of(d, failed)) >= 1)
    reasons = f'table.failures[data-queue="{QUEUE}"] td.error'
    shown = until(browser, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, reasons)])
    assert all(REASON in reason for reason in shown), shown
    assert shown[0].startswith("batch 20"), shown

    # Its jobs' runs (task `queue:<name>`) are on the tasks page, run by the live replicas.
    browser.get(f"{dashboard.url}/tasks")
    row = f'tr[data-task="queue:{QUEUE}"]'
    until(browser, lambda d: REASON in text_of(d, f"{row} td.outcome"))
    assert text_of(browser, f"{row} td.state") == "active"


def test_the_token_gate_sends_people_to_login_and_programs_a_401(
    browser: WebDriver, fleet_redis: RedisServer, workdir: Path, replicas: list[WorkerProcess]
) -> None:
    gated = DashboardProcess(fleet_redis.url, workdir, {"DASHBOARD_TOKEN": TOKEN})
    browser.delete_all_cookies()  # cookies are per host, not per port
    try:
        gated.wait_listening()
        assert gated.get("/api/fleet").status_code == 401
        wrong = {"Authorization": "Bearer not-it"}
        assert gated.get("/api/fleet", headers=wrong).status_code == 401
        right = gated.get("/api/fleet", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        assert len(right.json()["replicas"]) == 2

        browser.get(f"{gated.url}/")
        until(browser, lambda d: d.current_url.startswith(f"{gated.url}/login?next=/"))
        sign_in(browser, "not-the-token")
        until(browser, lambda d: "That is not the token." in text_of(d, "p.banner.down"))
        assert browser.find_elements(By.CSS_SELECTOR, "table#replicas") == []
        assert "not-the-token" not in browser.page_source, "a typed token is never echoed"

        sign_in(browser, TOKEN)
        until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr[data-instance]")) == 2)
        assert browser.current_url == f"{gated.url}/"
        assert TOKEN not in browser.page_source
        cookie = browser.get_cookie("worker_dashboard")
        assert cookie is not None
        assert cookie["httpOnly"] is True
        assert TOKEN not in str(cookie["value"]), "the cookie is derived from the token"
        assert script(browser, "return document.cookie") == "", "not readable by a script"
        assert httpx.get(f"{gated.url}/api/fleet", timeout=10).status_code == 401
    finally:
        browser.delete_all_cookies()
        gated.close()
    assert TOKEN not in gated.output


def test_a_signed_in_page_turns_to_the_refusal_when_its_address_is_throttled(
    browser: WebDriver, fleet_redis: RedisServer, workdir: Path, replicas: list[WorkerProcess]
) -> None:
    gated = DashboardProcess(fleet_redis.url, workdir, {"DASHBOARD_TOKEN": TOKEN})
    browser.delete_all_cookies()
    refused = "Too many failed sign-ins from this address"
    try:
        gated.wait_listening()
        browser.get(f"{gated.url}/tasks")
        sign_in(browser, TOKEN)
        until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "table#tasks"))
        for n in range(10):  # someone else at this address guessing
            reply = gated.get("/api/fleet", headers={"Authorization": f"Bearer guess-{n}"})
            assert reply.status_code == 401
        # The next refresh is refused: the page reloads into the refusal, with the form.
        until(browser, lambda d: d.title.startswith("Sign in"), timeout=5)
        assert refused in text_of(browser, "p.banner.down")
        assert browser.current_url == f"{gated.url}/tasks"
        assert browser.find_elements(By.CSS_SELECTOR, "table#tasks") == []
        sign_in(browser, TOKEN)  # the right token too, until the block ends
        until(browser, lambda d: refused in text_of(d, "p.banner.down"))
        assert browser.find_elements(By.CSS_SELECTOR, "table#tasks") == []
    finally:
        browser.delete_all_cookies()
        gated.close()
    assert TOKEN not in gated.output


def sign_in(driver: WebDriver, token: str) -> None:
    field = until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "input#token"))
    field.clear()
    field.send_keys(token)
    old = driver.find_element(By.TAG_NAME, "form")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    until(driver, expected_conditions.staleness_of(old))


def test_markup_in_an_error_text_shows_as_text_and_never_runs(
    browser: WebDriver, dashboard: DashboardProcess
) -> None:
    row = f'tr[data-task="{FAILING}"]'
    browser.get(f"{dashboard.url}/tasks")
    shown = until(browser, lambda d: text_of(d, f"{row} td.outcome .error"))
    assert_shown_as_text(browser, shown)
    swapped_in(browser, "table#tasks")
    assert_shown_as_text(browser, text_of(browser, f"{row} td.outcome .error"))

    browser.get(f"{dashboard.url}/tasks/{FAILING}")
    until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "figure#lag-chart svg"))
    assert text_of(browser, "dl#task-facts dd.outcome") == "failed"
    errors = until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table#runs td.error"))
    assert_shown_as_text(browser, errors[0].text)
    swapped_in(browser, "table#runs")
    assert_shown_as_text(browser, text_of(browser, "table#runs td.error"))

    browser.get(f"{dashboard.url}/alerts")
    alert = f"//table[@id='alerts']//tr[td[2]/a[text()='{FAILING}']]/td[@class='error']"
    alert_text = until(browser, lambda d: d.find_element(By.XPATH, alert).text)
    assert_shown_as_text(browser, alert_text)


def assert_shown_as_text(driver: WebDriver, text: str) -> None:
    assert "<script>window.__pwned = 1</script>" in text, text
    assert MARKUP in text, text
    assert script(driver, "return typeof window.__pwned") == "undefined"
    assert driver.find_elements(By.CSS_SELECTOR, "main script, main img") == []


def swapped_in(driver: WebDriver, selector: str) -> None:
    """Until the refresh has replaced `selector` (the content swapped in by the script)."""
    old = driver.find_element(By.CSS_SELECTOR, selector)
    until(driver, expected_conditions.staleness_of(old), timeout=10)
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector))
