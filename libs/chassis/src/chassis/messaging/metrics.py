"""Prometheus metrics of the messaging chain (one set per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["MessagingMetrics"]

_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class MessagingMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        labels = {"service": service}
        self.published = Counter("souk_messages_published", "Outbox rows published to JetStream",
                                 ["service"], registry=registry).labels(**labels)
        self.publish_failures = Counter("souk_outbox_publish_failures",
                                        "Relay rounds that failed and will be retried", ["service"],
                                        registry=registry).labels(**labels)
        self.outbox_lag = Histogram("souk_outbox_lag_seconds",
                                    "Time from outbox commit to JetStream acknowledgement",
                                    ["service"], buckets=_LAG_BUCKETS,
                                    registry=registry).labels(**labels)
        self.relay_overflow = Counter("souk_outbox_relay_overflow",
                                      "Outbox rows left in the table for the catch-up poll because "
                                      "the relay held its maximum", ["service"],
                                      registry=registry).labels(**labels)
        self.outbox_pending = Gauge("souk_outbox_pending", "Outbox rows not yet published",
                                    ["service"], registry=registry).labels(**labels)
        self._consumed = Counter("souk_messages_consumed", "Messages handled by a consumer",
                                 ["service", "consumer", "type", "outcome"], registry=registry)
        self.redeliveries = Counter("souk_message_redeliveries",
                                    "Messages delivered more than once", ["service", "consumer"],
                                    registry=registry)
        self.dead_letters = Counter("souk_dead_letters", "Messages moved to the dead-letter stream",
                                    ["service", "consumer"], registry=registry)
        self.consumer_pending = Gauge("souk_consumer_pending",
                                      "Messages in the stream not yet delivered to the consumer",
                                      ["service", "consumer"], registry=registry)
        self.consumer_ack_pending = Gauge("souk_consumer_ack_pending",
                                          "Messages delivered and not yet acknowledged",
                                          ["service", "consumer"], registry=registry)
        self.batch_seconds = Histogram("souk_consumer_batch_seconds",
                                       "Time to apply one batch in one transaction",
                                       ["service", "consumer"], buckets=_LAG_BUCKETS,
                                       registry=registry)
        self._service = service
        self._children: dict[tuple[str, str, str], Counter] = {}

    def consumed(self, consumer: str, type_name: str, outcome: str, count: int = 1) -> None:
        key = (consumer, type_name, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._consumed.labels(self._service, consumer, type_name, outcome)
            self._children[key] = child
        child.inc(count)
