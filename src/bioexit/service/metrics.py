"""Prometheus metrics, in a registry of the app's own (no process-wide state, no import-time objects)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass(frozen=True)
class ServiceMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    vehicles: Counter
    occupants: Counter
    queue_in_flight: Gauge
    stream_subscribers: Gauge

    @classmethod
    def create(cls) -> ServiceMetrics:
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            requests=Counter(
                "bioexit_http_requests",
                "HTTP requests by route and status",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "bioexit_http_request_seconds",
                "HTTP request latency by route",
                ["method", "route"],
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
                registry=registry,
            ),
            vehicles=Counter(
                "bioexit_vehicles",
                "vehicles processed by outcome",
                ["port", "lane", "outcome"],
                registry=registry,
            ),
            occupants=Counter(
                "bioexit_occupants", "occupant decisions by outcome", ["port", "outcome"], registry=registry
            ),
            queue_in_flight=Gauge(
                "bioexit_processing_in_flight", "jobs running or queued in the worker pool", registry=registry
            ),
            stream_subscribers=Gauge(
                "bioexit_stream_subscribers", "open live-departure streams", registry=registry
            ),
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
