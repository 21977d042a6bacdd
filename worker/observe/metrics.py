"""Metrics, off unless METRICS_PORT is set: one run listener behind one container provider.

Off, the listener takes each record and does nothing, and prometheus-client is never
imported; on, it is `worker.observe.prometheus.PrometheusMetrics`, which serves the
DESIGN families from a registry of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.lifecycle import Service
from worker.run.records import RunListener

if TYPE_CHECKING:
    from worker.connect.nats import NatsConnection
    from worker.connect.outage import OutageMonitor
    from worker.observe.prometheus import PrometheusMetrics


class DisabledMetrics(RunListener, Service):
    """The metrics listener while METRICS_PORT is unset: every hook and the lifecycle are
    the no-op defaults."""

    __slots__ = ()


def metrics_listener(
    *, port: int | None, addr: str, outage: OutageMonitor, nats: NatsConnection | None = None
) -> DisabledMetrics | PrometheusMetrics:
    """The listener the settings ask for; its endpoint opens in `start()`, not here."""
    if port is None:
        return DisabledMetrics()
    from worker.observe.prometheus import PrometheusMetrics

    return PrometheusMetrics(port=port, addr=addr, outage=outage, nats=nats)
