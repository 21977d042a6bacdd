"""The throttle's rules on a clock the test moves (a real 60 s window would take minutes to
walk through): a sliding window per address, a block nothing shortens, a bounded table, IPv6
counted by /64; and which binds count as loopback."""

from __future__ import annotations

import logging

import pytest

from dashboard.settings import SettingError, is_loopback, load
from dashboard.throttle import BLOCK_S, FAILURES, WINDOW_S, Throttle, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def fail(throttle: Throttle, client: str, times: int) -> None:
    for _ in range(times):
        throttle.failed(client)


def test_the_tenth_failure_within_the_window_blocks_the_address_for_sixty_seconds(
    clock: Clock,
) -> None:
    assert (FAILURES, WINDOW_S, BLOCK_S) == (10, 60.0, 60.0)
    throttle = Throttle(clock=clock)
    fail(throttle, "192.0.2.7", 9)
    assert throttle.retry_after("192.0.2.7") == 0
    throttle.failed("192.0.2.7")
    assert throttle.retry_after("192.0.2.7") == 60
    assert throttle.retry_after("192.0.2.8") == 0, "another address is not refused"
    clock.now += 59.5
    assert throttle.retry_after("192.0.2.7") == 1
    clock.now += 0.5
    assert throttle.retry_after("192.0.2.7") == 0


def test_the_window_slides(clock: Clock) -> None:
    throttle = Throttle(clock=clock)
    throttle.failed("a")
    clock.now += 50
    fail(throttle, "a", 8)
    clock.now += 20  # the first failure is now 70 s old: 8 + 1 within the last 60 s
    throttle.failed("a")
    assert throttle.retry_after("a") == 0
    clock.now += 1  # a window that restarted at 60 s would hold 2 failures here, not 10
    throttle.failed("a")
    assert throttle.retry_after("a") == 60


def test_failures_older_than_the_window_are_forgotten(clock: Clock) -> None:
    throttle = Throttle(clock=clock)
    fail(throttle, "a", 9)
    clock.now += 60.01
    fail(throttle, "a", 9)
    assert throttle.retry_after("a") == 0


def test_a_block_is_neither_extended_nor_shortened_and_then_counting_starts_afresh(
    clock: Clock,
) -> None:
    throttle = Throttle(clock=clock)
    fail(throttle, "a", 10)
    clock.now += 30
    fail(throttle, "a", 25)  # attempts in flight when the block began
    assert throttle.retry_after("a") == 30
    clock.now += 30
    assert throttle.retry_after("a") == 0
    fail(throttle, "a", 9)
    assert throttle.retry_after("a") == 0
    throttle.failed("a")
    assert throttle.retry_after("a") == 60


def test_one_log_line_per_ten_failures_names_the_address_and_the_count(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    throttle = Throttle(clock=clock)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        fail(throttle, "198.51.100.4", 9)
        assert caplog.messages == []
        throttle.failed("198.51.100.4")
        clock.now += 60
        fail(throttle, "198.51.100.4", 10)
    assert len(caplog.messages) == 2
    first, second = caplog.messages
    assert "client=198.51.100.4" in first
    assert "failures=10" in first
    assert "total=10" in first
    assert "total=20" in second


def test_the_table_is_bounded_and_forgets_the_oldest_address(clock: Clock) -> None:
    throttle = Throttle(clock=clock, capacity=100)
    fail(throttle, "first", 10)
    for n in range(1000):  # an attacker rotating addresses, within one window
        clock.now += 0.01
        throttle.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(throttle) == 100
    assert throttle.retry_after("first") == 0, "evicted, oldest first"
    clock.now += 0.01
    fail(throttle, "10.0.3.231", 9)  # the newest is still counted: one more blocks it
    assert throttle.retry_after("10.0.3.231") == 60


def test_addresses_with_nothing_left_to_count_are_dropped(clock: Clock) -> None:
    throttle = Throttle(clock=clock)
    fail(throttle, "a", 3)
    fail(throttle, "b", 10)
    clock.now += 60
    throttle.failed("c")
    assert len(throttle) == 1


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:db8::ffff:2", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        (None, "unknown"),
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_slash_64(peer: str | None, key: str) -> None:
    assert client_key(peer) == key


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LocalHost", "::ffff:127.0.0.1"]
)
def test_loopback_binds(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "fe80::1", "my-host", "local"],
)
def test_any_other_bind_is_open(host: str) -> None:
    assert not is_loopback(host)


def test_a_loopback_bind_takes_a_short_token_and_an_open_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DASHBOARD_ADDR", "DASHBOARD_ALLOW_OPEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASHBOARD_TOKEN", "a")
    assert load(None, "[::1]:8080").token == "a"
    with pytest.raises(SettingError, match=r"^DASHBOARD_TOKEN: too short: "):
        load(None, "0.0.0.0:8080")
    monkeypatch.setenv("DASHBOARD_TOKEN", "x" * 16)
    assert load(None, "0.0.0.0:8080").open_to_guessing is False
    monkeypatch.setenv("DASHBOARD_ALLOW_OPEN", "on")
    monkeypatch.setenv("DASHBOARD_TOKEN", "")
    assert load(None, "0.0.0.0:8080").open_to_guessing is True


def test_guessing_just_under_the_block_is_still_logged_once_per_ten_failures(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Nine guesses a minute never block: before, a day of them (12,960) left no line."""
    throttle = Throttle(clock=clock)
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        for _ in range(20 * 9):  # 20 minutes at 9 failures a minute
            throttle.failed("192.0.2.9")
            clock.now += 60 / 9 + 0.01
    assert throttle.retry_after("192.0.2.9") == 0
    assert len(caplog.messages) == 18
    assert all("client=192.0.2.9" in line for line in caplog.messages)
    assert caplog.messages[-1].startswith("dashboard auth failures: client=192.0.2.9 total=180")
