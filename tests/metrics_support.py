"""A worker's Prometheus endpoint scraped over real HTTP (the metrics and queue tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import wait_for

RUNS = "worker_runs_total"
RAN = ("ok", "failed", "timeout", "cancelled")


@dataclass(frozen=True)
class Exposition:
    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, default: float = 0.0, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), default)

    def ran(self, task: str) -> float:
        """Records of fires whose method ran: what the histograms must have seen."""
        return sum(self.value(RUNS, task=task, outcome=outcome) for outcome in RAN)


def scrape(port: int) -> Exposition:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return Exposition(text, samples)


def scrape_until(
    port: int, ready: Callable[[Exposition], bool], what: str, timeout: float = 15.0
) -> Exposition:
    """Scrape until `ready` holds (refused connections while the worker starts count as no)."""

    def attempt() -> Exposition | None:
        try:
            found = scrape(port)
        except httpx.TransportError:
            return None
        return found if ready(found) else None

    found = wait_for(attempt, timeout=timeout, interval=0.05, what=what)
    assert found is not None
    return found
