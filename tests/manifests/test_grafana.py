"""The Grafana dashboard (manifests/base/grafana/modelplane.json) is a valid dashboard, and its
queries use only series the code defines, with labels those series carry: metric names and label
sets are collected from the prometheus_client registries of the serving runtime, the operator
(rollouts, reconciles, drift) and the facade, so renaming a metric or a label fails here. The
labels Prometheus adds while scraping come from the shipped scrape configuration. Last, the
`promtool` of the local platform's Prometheus build parses every expression."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from prometheus_client import CollectorRegistry

from modelplane_api.metrics import Metrics as ApiMetrics
from modelplane_cli.local.binaries import PROMETHEUS, ensure_built
from modelplane_crds.model_version import TensorSpec
from modelplane_operator.metrics import Metrics as OperatorMetrics
from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.predictions import PredictionMetrics
from tests.manifests.support import MANIFESTS, find, render

DASHBOARD = MANIFESTS / "base" / "grafana" / "modelplane.json"
SCRAPE_CONFIG = MANIFESTS / "base" / "prometheus" / "prometheus.yml"
METRIC = re.compile(r"\b(modelplane_[a-z0-9_]+)\b")
GROUPING = re.compile(r"\b(?:by|without|ignoring|on)\s*\(([^)]*)\)")
MATCHER = re.compile(r"\b([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*", "$deployment": ".*"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "summary": ("_sum", "_count", "_created"),
    "unknown": ("",),
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Panels and the panels inside collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def queries() -> list[tuple[str, str, str]]:
    """(panel title, expression, legend) of every query."""
    return [
        (p["title"], t["expr"], t.get("legendFormat", ""))
        for p in all_panels(dashboard()["panels"])
        for t in p.get("targets", [])
    ]


def _runtime_registry() -> CollectorRegistry:
    outputs = [
        TensorSpec(name="score", datatype="FP32", shape=[-1]),
        TensorSpec(name="label", datatype="INT64", shape=[-1]),
    ]
    metrics = RuntimeMetrics("m", "1", "0" * 64, PredictionMetrics(outputs))
    # One of each observation, so that every family carries samples (and so its labels).
    metrics.count_request(200, 0.01)
    metrics.count_run(0.001, 2, 1)
    metrics.count_predictions({"score": np.array([0.5, 0.7]), "label": np.array([0, 1])})
    metrics.count_violation("shape")
    metrics.count_payload_rows("written", 2)
    metrics.count_shadow("2", "agree")
    metrics.count_shadow_skipped()
    return metrics.registry


def _label_names(registry: CollectorRegistry) -> dict[str, set[str]]:
    """Label names of each metric object registered (also those without samples yet)."""
    found: dict[str, set[str]] = {}
    for collector in list(registry._collector_to_names):  # no public listing of collectors
        names = getattr(collector, "_labelnames", None)
        if names is not None:
            found[getattr(collector, "_name")] = set(names)  # noqa: B009 - private, untyped
    return found


def defined_series() -> dict[str, set[str]]:
    """Every series name the code exports, with the label names it carries."""
    series: dict[str, set[str]] = {}
    registries = (_runtime_registry(), OperatorMetrics().registry, ApiMetrics().registry)
    for registry in registries:
        declared = _label_names(registry)
        for family in registry.collect():
            labels = set(declared.get(family.name, set()))
            labels |= {k for s in family.samples for k in s.labels if k != "le"}
            for suffix in SUFFIXES[family.type]:
                series[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    return series


def scrape_labels() -> set[str]:
    """Labels Prometheus attaches while scraping, by the shipped configuration."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    relabelled = {
        rule["target_label"]
        for job in config["scrape_configs"]
        for rule in job.get("relabel_configs", [])
        if "target_label" in rule
    }
    return relabelled | {"job", "instance"}


def test_dashboard_is_valid_grafana_json() -> None:
    board = dashboard()
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= 36
    assert board["uid"]
    assert board["title"]
    panels = list(all_panels(board["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), panel["title"]
        assert grid["w"] > 0
        assert grid["h"] > 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":
            refs = [t["refId"] for t in panel["targets"]]
            assert refs, panel["title"]
            assert len(refs) == len(set(refs)), panel["title"]


def test_dashboard_variables_are_defined() -> None:
    board = dashboard()
    defined = {v["name"] for v in board["templating"]["list"]}
    text = json.dumps(board["panels"])
    used = set(re.findall(r"\$\{?([a-z][a-zA-Z0-9_]*)", text))
    assert used <= defined, used - defined


def test_every_metric_a_query_uses_is_defined_in_the_code() -> None:
    series = defined_series()
    undefined = [
        f"{title}: {name}"
        for title, expr, _ in queries()
        for name in METRIC.findall(expr)
        if name not in series
    ]
    assert undefined == []


def test_every_label_a_query_uses_is_carried_by_its_series() -> None:
    series, scraped = defined_series(), scrape_labels()
    problems = []
    for title, expr, legend in queries():
        names = METRIC.findall(expr)
        carried = set().union(*(series.get(n, set()) for n in names)) | scraped
        grouped = {
            label.strip() for group in GROUPING.findall(expr) for label in group.split(",")
        } - {""}
        used = grouped | set(MATCHER.findall(expr))
        problems += [f"{title}: {label}" for label in used - carried]
        problems += [
            f"{title}: legend {label}" for label in set(LEGEND.findall(legend)) - grouped - {"le"}
        ]
    assert problems == []


def test_the_dashboard_covers_serving_rollouts_and_drift() -> None:
    used = {name for _, expr, _ in queries() for name in METRIC.findall(expr)}
    for family in (
        "modelplane_runtime_",
        "modelplane_rollout_",
        "modelplane_drift_",
        "modelplane_operator_",
    ):
        assert any(name.startswith(family) for name in used), family
    for histogram in ("request_duration_seconds", "inference_duration_seconds"):
        assert f"modelplane_runtime_{histogram}_bucket" in used
    assert {
        "modelplane_runtime_prediction_value_count",
        "modelplane_runtime_prediction_class_total",
    } <= used


def test_a_renamed_metric_would_be_caught() -> None:
    series = defined_series()
    assert "modelplane_runtime_requests_total" in series
    assert "modelplane_runtime_requests" not in series  # counters are scraped with _total
    assert series["modelplane_drift_prediction_statistic"] >= {"output", "test"}
    assert "feature" not in series["modelplane_drift_prediction_statistic"]


def test_the_dashboard_is_shipped_as_a_configmap_for_grafanas_sidecar() -> None:
    config = find(render("base"), "ConfigMap", "modelplane-grafana-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["modelplane.json"]) == dashboard()


def _promtool_check(expressions: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` on one recording rule per expression: Prometheus' own parser."""
    rules = []
    for i, expression in enumerate(expressions):
        expr = expression
        for variable, value in VARIABLES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    ensure_built((PROMETHEUS,))
    return subprocess.run(
        [str(PROMETHEUS.path("promtool")), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prometheus_parses_every_query(tmp_path: Path) -> None:
    result = _promtool_check([expr for _, expr, _ in queries()], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries())} rules found" in result.stdout


def test_promtool_refuses_a_broken_query(tmp_path: Path) -> None:
    broken = "sum by (x) (rate(modelplane_runtime_requests_total[1m])"
    assert _promtool_check([broken], tmp_path).returncode != 0
