"""Prometheus metrics at /metrics, for whoever holds ``REGISTRY_METRICS_TOKEN``.

Counts, durations and ages only: a route is named by its rule (``/persons/<person_id>``), never by the
address asked for, so no identifier, name, number or title of a person ever reaches a metric. The state
of the queues and of the access log is read when Prometheus scrapes, not kept up to date on every request.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Flask, Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from registry.audit.events import CHAIN_ID
from registry.audit.models import AuditChainHead
from registry.db import utcnow
from registry.documents.models import DocumentVersion, ViewingStatus
from registry.runtime import Runtime

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30)


class RegistryState(Collector):
    """What is waiting and how fresh the witness is, read at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        runtime = self.runtime
        with runtime.sessions() as db:
            waiting, oldest = db.execute(
                sa.select(sa.func.count(), sa.func.min(DocumentVersion.uploaded_at)).where(
                    DocumentVersion.viewing_status == ViewingStatus.PENDING
                )
            ).one()
            head = db.get(AuditChainHead, CHAIN_ID)
        now = utcnow()
        yield GaugeMetricFamily("registry_copy_queue_depth", "Viewing copies waiting to be drawn", value=waiting)
        yield GaugeMetricFamily(
            "registry_copy_queue_oldest_seconds",
            "Age of the oldest waiting viewing copy",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        yield GaugeMetricFamily(
            "registry_converter_jobs",
            "Viewing copies being drawn by this process",
            value=runtime.viewing_copies.running(),
        )
        yield GaugeMetricFamily("registry_audit_log_length", "Events in the access log", value=head.seq if head else 0)
        signed = runtime.witness.signed_at
        yield GaugeMetricFamily(
            "registry_audit_checkpoint_age_seconds",
            "Since this process last signed a checkpoint (-1: not yet)",
            value=(now - signed).total_seconds() if signed else -1,
        )


class Metrics:
    """One registry of metrics per app (tests make many apps in one process)."""

    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "registry_requests", "HTTP requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "registry_request_seconds",
            "Time to answer a request",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upload_bytes = Counter("registry_upload_bytes", "Bytes of documents received", registry=self.registry)
        self.dependency_errors = Counter(
            "registry_dependency_errors",
            "Requests answered 503 because a part could not be reached",
            ["dependency"],
            registry=self.registry,
        )
        self.registry.register(RegistryState(runtime))


_DEPENDENCY = {"database_unavailable": "database", "storage_unavailable": "storage", "audit_unavailable": "audit"}


def route_of() -> str:
    """The rule that matched, with its placeholders: never the identifiers in the address."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def install(app: Flask, runtime: Runtime, token: str) -> Metrics:
    metrics = Metrics(runtime)

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = route_of()
        metrics.requests.labels(route, request.method, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        if request.method == "POST" and response.status_code == 201 and request.files:
            metrics.upload_bytes.inc(request.content_length or 0)
        if response.status_code == 503:
            metrics.dependency_errors.labels(_DEPENDENCY.get(g.get("error_code", ""), "other")).inc()
        return response

    def serve_metrics() -> Response:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            abort(404)  # nothing is here for anyone else, not even a hint that metrics exist
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    from registry.web.policy import public

    app.add_url_rule("/metrics", "metrics", public(serve_metrics))
    return metrics
