"""A deployment's serving metrics over time: request rate, error ratios, latency quantiles,
schema violations, batch size and the prediction distribution, per serving version, read from
Prometheus.

Every query is built here. Its label matchers are the organization's namespace and the
deployment's name, both fixed server-side after the deployment was found in the caller's
organization; a caller chooses only a range and a step, so no tenant can read another's
series. The series carry the labels Modelplane's scrape configuration gives a serving pod
(pod discovery, relabelled): `namespace`, `deployment`, `model_version` (the ModelVersion's
resource name) beside the runtime's own `model`, `version` and `code`.

The prediction distribution comes from the runtime's `modelplane_runtime_prediction_value`
histogram (numerical outputs: mean from `_sum / _count`, p50/p90 by `histogram_quantile`) and
`modelplane_runtime_prediction_class` counter (label outputs: each class's rate over the
output's total), grouped by version and `output`.

Range and step are bounded by a point budget (`MAX_POINTS` per series), and answers are kept in
Redis for `METRICS_CACHE_SECONDS` under a key of the namespace, deployment, range, step and the
range's end rounded down to the step, so dashboards that refresh together share one answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.exceptions import RedisError

from modelplane_api.context import AppContext
from modelplane_api.deployments.schemas import (
    ClassShare,
    DeploymentMetrics,
    DeploymentUsage,
    MetricPoint,
    OrganizationUsage,
    OutputPredictions,
    UsageDay,
    VersionMetrics,
)
from modelplane_api.errors import BadRequest
from modelplane_api.prometheus import Series

log = logging.getLogger(__name__)

MAX_POINTS = 500
"""Points per series an answer may hold."""
MAX_RANGE_S = 7 * 24 * 3600
"""The longest range (the local platform's Prometheus keeps 7 days)."""
DEFAULT_RANGE = "1h"
TARGET_POINTS = 120
"""Points per series when the caller gives no step."""
VERSION_LABEL = "model_version"
REQUESTS = "modelplane_runtime_requests_total"
LATENCY = "modelplane_runtime_request_duration_seconds_bucket"
VIOLATIONS = "modelplane_runtime_schema_violations_total"
BATCH = "modelplane_runtime_batch_size"
PREDICTION_VALUE = "modelplane_runtime_prediction_value"
PREDICTION_CLASS = "modelplane_runtime_prediction_class_total"
OUTPUT_LABEL, CLASS_LABEL = "output", "class"
CLIENT_ERRORS, SERVER_ERRORS = ',code=~"4.."', ',code=~"5.."'
DAY_S = 86400
MAX_USAGE_DAYS = 31
DURATION = re.compile(r"^([1-9][0-9]{0,6})(s|m|h|d)$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, name: str) -> int:
    """`30s`, `15m`, `1h`, `7d` → seconds; anything else is a 400 naming the parameter."""
    found = DURATION.match(text)
    if found is None:
        raise BadRequest(
            f"{name} must be a duration such as 30s, 15m, 1h or 7d", {"parameter": name}
        )
    return int(found.group(1)) * UNITS[found.group(2)]


@dataclass(frozen=True)
class Window:
    """The points an answer covers: `start`..`end` every `step`, each point a rate over the
    `window` seconds ending at it."""

    start: int
    end: int
    step: int
    window: int

    @classmethod
    def of(cls, range_text: str, step_text: str | None, scrape_s: float, now: float) -> Window:
        """Check the caller's range and step against the point budget and the scrape interval."""
        span = parse_duration(range_text, "range")
        if span > MAX_RANGE_S:
            raise BadRequest("range may be at most 7d", {"parameter": "range"})
        least = max(1, math.ceil(scrape_s))
        if step_text is None:
            step = max(least, math.ceil(span / TARGET_POINTS))
        else:
            step = parse_duration(step_text, "step")
            if step < least:
                raise BadRequest(
                    f"step must be at least the scrape interval, {least}s", {"parameter": "step"}
                )
        if span // step + 1 > MAX_POINTS:
            fewest = math.ceil(span / (MAX_POINTS - 1))
            raise BadRequest(
                f"range/step gives more than {MAX_POINTS} points; use a step of at least "
                f"{fewest}s for range {range_text}",
                {"parameter": "step", "max_points": MAX_POINTS},
            )
        end = int(now) // step * step
        return cls(end - span, end, step, max(step, 4 * least))


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def queries(namespace: str, deployment: str, window: int) -> dict[str, str]:
    """The PromQL of every series of `VersionMetrics`, by field name."""
    sel = f'namespace="{_quote(namespace)}",deployment="{_quote(deployment)}"'
    by, w = f"sum by ({VERSION_LABEL})", f"[{window}s]"

    def rate(metric: str, extra: str = "") -> str:
        return f"{by} (rate({metric}{{{sel}{extra}}}{w}))"

    def quantile(q: float) -> str:
        return (
            f"histogram_quantile({q}, sum by ({VERSION_LABEL}, le) (rate({LATENCY}{{{sel}}}{w})))"
        )

    return {
        "requests_per_second": rate(REQUESTS),
        "errors_4xx_ratio": f"{rate(REQUESTS, CLIENT_ERRORS)} / {rate(REQUESTS)}",
        "errors_5xx_ratio": f"{rate(REQUESTS, SERVER_ERRORS)} / {rate(REQUESTS)}",
        "latency_p50_seconds": quantile(0.5),
        "latency_p95_seconds": quantile(0.95),
        "latency_p99_seconds": quantile(0.99),
        "schema_violations_per_second": rate(VIOLATIONS),
        "batch_size_mean": f"{rate(BATCH + '_sum')} / {rate(BATCH + '_count')}",
    }


def prediction_queries(namespace: str, deployment: str, window: int) -> dict[str, str]:
    """The PromQL of every series of `OutputPredictions`, by name: each grouped by version and
    output (and class for `class_share`)."""
    sel = f'namespace="{_quote(namespace)}",deployment="{_quote(deployment)}"'
    w, out = f"[{window}s]", f"{VERSION_LABEL}, {OUTPUT_LABEL}"

    def rate(metric: str, by: str = out) -> str:
        return f"sum by ({by}) (rate({metric}{{{sel}}}{w}))"

    def quantile(q: float) -> str:
        return f"histogram_quantile({q}, {rate(PREDICTION_VALUE + '_bucket', out + ', le')})"

    classes = rate(PREDICTION_CLASS)
    return {
        "value_rows": rate(PREDICTION_VALUE + "_count"),
        "mean": f"{rate(PREDICTION_VALUE + '_sum')} / {rate(PREDICTION_VALUE + '_count')}",
        "p50": quantile(0.5),
        "p90": quantile(0.9),
        "class_rows": classes,
        "class_share": (
            f"{rate(PREDICTION_CLASS, f'{out}, {CLASS_LABEL}')} / on ({out}) group_left {classes}"
        ),
    }


async def deployment_metrics(
    ctx: AppContext,
    namespace: str,
    deployment: str,
    roles: dict[str, str],
    range_text: str,
    step_text: str | None,
) -> DeploymentMetrics:
    """The metrics of `deployment` (already found in the caller's organization), `roles`
    naming the stable and candidate ModelVersions."""
    settings = ctx.settings
    now = ctx.clock().timestamp()
    window = Window.of(range_text, step_text, settings.prometheus_scrape_interval_seconds, now)
    # v2: answers carry `predictions` (an answer kept before would not parse)
    key = f"mp:metrics:v2:{namespace}:{deployment}:{window.start}:{window.end}:{window.step}"
    cached = await _cached(ctx, key)
    if cached is not None:
        return cached.model_copy(update={"versions": _with_roles(cached.versions, roles)})
    named = queries(namespace, deployment, window.window)
    predicted = prediction_queries(namespace, deployment, window.window)
    answers = await asyncio.gather(
        *(
            ctx.prometheus.query_range(promql, window.start, window.end, window.step)
            for promql in (*named.values(), *predicted.values())
        )
    )
    series = dict(zip(named, answers[: len(named)], strict=True))
    outputs = _predictions(dict(zip(predicted, answers[len(named) :], strict=True)))
    result = DeploymentMetrics(
        deployment=deployment,
        start=datetime.fromtimestamp(window.start, UTC),
        end=datetime.fromtimestamp(window.end, UTC),
        step_seconds=window.step,
        window_seconds=window.window,
        versions=_with_roles(_by_version(series, outputs), roles),
    )
    await _keep(ctx, key, result)
    return result


def _points(series: Series) -> list[MetricPoint]:
    return [MetricPoint(t=t, v=v) for t, v in series.points]


def _by_version(
    answers: dict[str, list[Series]], outputs: dict[str, list[OutputPredictions]]
) -> list[VersionMetrics]:
    found: dict[str, dict[str, list[MetricPoint]]] = {}
    for field, series in answers.items():
        for one in series:
            version = one.labels.get(VERSION_LABEL)
            if not version:
                continue
            found.setdefault(version, {name: [] for name in answers})[field] = _points(one)
    for version in outputs:
        found.setdefault(version, {name: [] for name in answers})
    return [
        VersionMetrics.model_validate(
            {"version": version, "role": None, **fields, "predictions": outputs.get(version, [])}
        )
        for version, fields in found.items()
    ]


def _predictions(answers: dict[str, list[Series]]) -> dict[str, list[OutputPredictions]]:
    """The answers of `prediction_queries` as each version's outputs, sorted by name; an output
    is numerical when its histogram has series, else categorical."""
    found: dict[tuple[str, str], dict[str, list[MetricPoint]]] = {}
    shares: dict[tuple[str, str], dict[str, list[MetricPoint]]] = {}
    for field, series in answers.items():
        for one in series:
            key = (one.labels.get(VERSION_LABEL, ""), one.labels.get(OUTPUT_LABEL, ""))
            if not all(key):
                continue
            if field == "class_share":
                label = one.labels.get(CLASS_LABEL)
                if label is not None:
                    shares.setdefault(key, {})[label] = _points(one)
            else:
                found.setdefault(key, {})[field] = _points(one)
    result: dict[str, list[OutputPredictions]] = {}
    for key in sorted(found.keys() | shares.keys()):
        fields, classes = found.get(key, {}), shares.get(key, {})
        numerical = "value_rows" in fields
        ranked = sorted(classes.items(), key=lambda kv: (-sum(p.v for p in kv[1]), kv[0]))
        result.setdefault(key[0], []).append(
            OutputPredictions(
                output=key[1],
                kind="numerical" if numerical else "categorical",
                rows_per_second=fields.get("value_rows" if numerical else "class_rows", []),
                mean=fields.get("mean", []) if numerical else [],
                p50=fields.get("p50", []) if numerical else [],
                p90=fields.get("p90", []) if numerical else [],
                classes=[] if numerical else [ClassShare(label=k, share=v) for k, v in ranked],
            )
        )
    return result


def _with_roles(versions: list[VersionMetrics], roles: dict[str, str]) -> list[VersionMetrics]:
    """Each version with its role now, stable first, then the candidate, then the rest."""
    order = {"stable": 0, "candidate": 1}
    marked = [v.model_copy(update={"role": roles.get(v.version)}) for v in versions]
    return sorted(marked, key=lambda v: (order.get(v.role or "", 2), v.version))


async def _cached(ctx: AppContext, key: str) -> DeploymentMetrics | None:
    raw = await _cached_raw(ctx, key)
    return DeploymentMetrics.model_validate_json(raw) if raw is not None else None


async def _keep(ctx: AppContext, key: str, result: DeploymentMetrics) -> None:
    ttl = min(ctx.settings.metrics_cache_seconds, result.step_seconds)
    await _keep_raw(ctx, key, result.model_dump_json(), ttl)


async def _cached_raw(ctx: AppContext, key: str) -> bytes | str | None:
    """A kept answer, if any; the cache being down only means asking Prometheus."""
    if ctx.settings.metrics_cache_seconds == 0:
        return None
    try:
        raw: bytes | str | None = await ctx.redis.get(key)
    except RedisError:
        log.warning("metrics cache unavailable; asking Prometheus", exc_info=True)
        return None
    return raw


async def _keep_raw(ctx: AppContext, key: str, value: str, ttl: int) -> None:
    if ttl <= 0:
        return
    try:
        await ctx.redis.set(key, value, ex=ttl)
    except RedisError:
        log.warning("metrics cache unavailable; answer not kept", exc_info=True)


async def organization_usage(ctx: AppContext, namespace: str, days: int) -> OrganizationUsage:
    """Requests and predictions of every deployment in `namespace` per UTC day, the last
    `days` days including today (counted so far: the point at tonight's midnight sees only the
    samples up to now)."""
    now = int(ctx.clock().timestamp())
    today = now // DAY_S * DAY_S
    first_end, last_end = today - (days - 2) * DAY_S, today + DAY_S
    key = f"mp:usage:{namespace}:{days}:{now // 60}"
    raw = await _cached_raw(ctx, key)
    if raw is not None:
        return OrganizationUsage.model_validate_json(raw)
    sel = f'namespace="{_quote(namespace)}"'

    def per_day(metric: str) -> str:
        # Counted, not extrapolated: `increase` stretches a short-lived pod's counts to the
        # whole day. Each pod is its own series (`pod` label), so new pods start from zero; only a
        # container restarted inside its pod (a counter reset) is undercounted, by what it had.
        series = f"{metric}{{{sel}}}"
        return f"sum by (deployment) (max_over_time({series}[1d]) - min_over_time({series}[1d]))"

    requests, rows = await asyncio.gather(
        *(
            ctx.prometheus.query_range(per_day(metric), first_end, last_end, DAY_S)
            for metric in (REQUESTS, BATCH + "_sum")
        )
    )
    counted: dict[str, dict[int, list[int]]] = {}
    for index, answer in enumerate((requests, rows)):
        for series in answer:
            name = series.labels.get("deployment")
            if not name:
                continue
            for end, value in series.points:
                day = counted.setdefault(name, {}).setdefault(int(end) - DAY_S, [0, 0])
                day[index] = round(value)
    result = OrganizationUsage(
        start=datetime.fromtimestamp(first_end - DAY_S, UTC).date(),
        end=datetime.fromtimestamp(today, UTC).date(),
        deployments=sorted(
            (_usage(name, found) for name, found in counted.items()),
            key=lambda u: (-u.requests, u.deployment),
        ),
    )
    await _keep_raw(ctx, key, result.model_dump_json(), ctx.settings.metrics_cache_seconds)
    return result


def _usage(name: str, found: dict[int, list[int]]) -> DeploymentUsage:
    days = [
        UsageDay(day=datetime.fromtimestamp(start, UTC).date(), requests=req, predictions=rows)
        for start, (req, rows) in sorted(found.items())
        if req or rows
    ]
    return DeploymentUsage(
        deployment=name,
        requests=sum(d.requests for d in days),
        predictions=sum(d.predictions for d in days),
        days=days,
    )
