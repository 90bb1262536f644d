"""Translate a DriftMonitor, its ModelDeployment and the stable ModelVersion into the job's
explicit arguments.

Pure: the specs come from `drift.resolve` (which reads them through the operator's `cluster`
gateway for `--monitor <namespace>/<name>`), and the result is the same arguments the
cluster-free mode takes (reference, window prefix, features, config, window bounds).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane_operator.drift.config import CATEGORICAL_TESTS, NUMERICAL_TESTS

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> timedelta:
    """`1h`, `30m`, `1h30m`, `90s` → timedelta."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r} (use forms like 1h, 30m, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def arguments_from_specs(
    namespace: str,
    deployment_name: str,
    monitor: dict[str, Any],
    deployment: dict[str, Any],
    version: dict[str, Any],
    now: datetime,
) -> dict[str, str]:
    """Pure translation of the three specs into job arguments (tested without a cluster)."""
    logging_spec = deployment.get("payloadLogging") or {}
    base = logging_spec.get("uri")
    if not base:
        raise ValueError(
            f"deployment {deployment_name!r} has no payloadLogging.uri; drift needs payload logs"
        )
    reference = monitor.get("reference") or {"fromStableVersion": True}
    if reference.get("uri"):
        ref_uri, ref_digest = reference["uri"], reference.get("sha256")
    else:
        dataset = version.get("referenceDataset")
        if not dataset:
            raise ValueError("the stable ModelVersion has no referenceDataset")
        ref_uri, ref_digest = dataset["uri"], dataset.get("sha256")

    tests = monitor.get("features") or {}
    features = _feature_specs(version, tests)
    thresholds = tests.get("thresholds") or {}
    config: dict[str, Any] = {
        "minSamples": monitor.get("minSamples", 500),
        "alpha": tests.get("alpha", 0.05),
        "correction": monitor.get("correction", "bh-fdr"),
        "datasetDriftShare": (monitor.get("datasetDrift") or {}).get("driftShare", 0.5),
    }
    for test in ("psi", "jsd", "wasserstein"):
        if test in thresholds:
            config[f"{test}Threshold"] = thresholds[test]

    size = parse_duration((monitor.get("window") or {}).get("size", "1h"))
    end = now.astimezone(UTC)
    root = base.rstrip("/")
    arguments = {
        "reference": ref_uri,
        "window": f"{root}/{namespace}/{deployment_name}/stable",
        "config": json.dumps(config),
        "profile_cache": f"{root}/{namespace}/drift-profiles",
        "start": (end - size).isoformat(),
        "end": end.isoformat(),
    }
    if features:
        arguments["features"] = json.dumps(features)
    prediction = monitor.get("predictionDrift") or {}
    if prediction and prediction.get("enabled", True):
        arguments["infer_outputs"] = prediction.get("test", "auto")
    if ref_digest:
        arguments["reference_digest"] = f"sha256:{ref_digest}"
    return arguments


def _feature_specs(version: dict[str, Any], tests: dict[str, Any]) -> list[dict[str, Any]]:
    """The ModelVersion's features with the monitor's default test and per-feature overrides."""
    overrides = {o["name"]: o for o in tests.get("overrides", [])}
    default_test = tests.get("defaultTest", "auto")
    features = []
    for feature in version.get("features", []):
        override = overrides.get(feature["name"], {})
        test = override.get("test", default_test)
        spec: dict[str, Any] = {"name": feature["name"], "kind": feature["type"]}
        fits = NUMERICAL_TESTS if feature["type"] == "numerical" else CATEGORICAL_TESTS
        # An explicit override must fit the feature (the job reports it if not); the monitor's
        # default test applies only where it fits, the automatic choice elsewhere.
        if test != "auto" and ("test" in override or test in fits):
            spec["test"] = test
        for key in ("threshold", "alpha"):
            if override.get(key) is not None:
                spec[key] = override[key]
        features.append(spec)
    return features
