"""ModelDeployments served for real on the platform's real node.

The serving pods run the serving-runtime image built from `serving-runtime/Dockerfile`, download
their artifact from the platform's S3 server (reached from the pods through the node's bridge),
check its digest, and answer Open Inference Protocol v2 through their ClusterIP Services, which
kube-proxy makes reachable from this host. The operator (core + ModelDeployment handlers, in
process) measures canaries by scraping the pods' own `/metrics` at their pod IPs, so the
verdicts below come from real requests to real pods; the platform's Prometheus discovers the
same pods through Kubernetes and the facade's metrics queries read them back.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelplane_api.deployments.monitoring import queries
from modelplane_api.prometheus import PrometheusClient, Series
from modelplane_cli.local.node import REAL_NODE_LABEL
from modelplane_cli.local.platform import LocalPlatform, RealNode
from modelplane_cli.traffic import Traffic
from tests.onnx_models import linear_model, model_bytes
from tests.operator.analysis.backends import failing_model
from tests.operator.rollout.cluster_support import (
    model_deployment,
    model_version,
    ready,
    run_rollout_operator,
    status_of,
    wait_versions_ready,
)
from tests.operator.support import Kubectl, get_json, install_crds, operator_env, wait_for

NAMESPACE = "mp-node-tests"
FEATURES = 4
MODELS = {
    "fraud-1": linear_model(FEATURES, seed=0),
    "fraud-2": linear_model(FEATURES, seed=5),
    "fraud-3": failing_model(FEATURES),
    "fraud-4": linear_model(FEATURES, seed=0),  # fraud-1 retrained to the same answers
}


@pytest.fixture(scope="module")
def operator(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, real_node: RealNode, platform: LocalPlatform
) -> Iterator[Kubectl]:
    install_crds(kubectl)
    kubectl("create", "namespace", NAMESPACE, check=False)
    # The pods' S3 credentials, as an org admin would provide them (the builder's envFrom).
    kubectl(
        "create",
        "secret",
        "generic",
        "modelplane-s3",
        "-n",
        NAMESPACE,
        f"--from-literal=MODELPLANE_RUNTIME_S3_ACCESS_KEY_ID={s3.access_key}",
        f"--from-literal=MODELPLANE_RUNTIME_S3_SECRET_ACCESS_KEY={s3.secret_key}",
        check=False,
    )
    for name, model in MODELS.items():
        kubectl("apply", "-f", "-", input=model_version(name, NAMESPACE, s3, model=model))
    env = operator_env(
        kubeconfig,
        s3,
        rollout_interval_s=1,
        resync_interval_s=3,
        worker_limit=10,
        default_runtime_image=real_node.images["serving-runtime"],
        image_allowlist=["localhost/modelplane/"],
        runtime_s3_endpoint_url=platform.pod_url(s3.endpoint_url),
        serving_node_selector={REAL_NODE_LABEL: "real"},
        serving_tolerations=[],
    )
    with run_rollout_operator(kubectl, env, NAMESPACE) as runner:
        wait_versions_ready(kubectl, NAMESPACE, list(MODELS))
        yield kubectl
        kubectl(
            "delete", "modeldeployments", "--all", "-n", NAMESPACE, "--wait=true",
            "--timeout=90s", check=False,
        )  # fmt: skip
    assert "Traceback" not in runner.output, runner.output[-3000:]


def _stable(version: str, replicas: int) -> dict[str, Any]:
    return {"stable": {"modelVersionRef": {"name": version}}, "scaling": {"replicas": replicas}}


def _deploy_ready(kubectl: Kubectl, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    kubectl("apply", "-f", "-", input=model_deployment(name, NAMESPACE, spec))
    return _wait_status(kubectl, name, ready, f"{name} Ready on the real node")


def _wait_status(
    kubectl: Kubectl, name: str, done: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Until `done(status)`; on time-out the failure shows the last status and the pods."""
    deadline = time.monotonic() + 180
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = status_of(kubectl, name, NAMESPACE)
        if done(status):
            return status
        time.sleep(0.5)
    pods = kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide", check=False).stdout
    counters = []
    for pod in get_json(kubectl, "pods", "-n", NAMESPACE, "-l", f"modelplane.io/deployment={name}")[
        "items"
    ]:
        try:
            page = httpx.get(f"http://{pod['status']['podIP']}:8080/metrics", timeout=3).text
        except httpx.HTTPError as exc:
            page = str(exc)
        lines = [x for x in page.splitlines() if x.startswith("modelplane_runtime_requests_total")]
        counters.append(f"{pod['metadata']['name']}: {lines}")
    raise AssertionError(
        f"{what}: not after 180 s\nstatus: {json.dumps(status)}\n{pods}\n" + "\n".join(counters)
    )


def _cluster_ip(kubectl: Kubectl, service: str) -> str:
    """The Service's ClusterIP once it answers: Ready means the pods are Ready, and kube-proxy
    programs their endpoints a moment later (REJECT until then)."""
    ip = str(get_json(kubectl, "service", service, "-n", NAMESPACE)["spec"]["clusterIP"])

    def answers() -> bool:
        try:
            return httpx.get(f"http://{ip}/v2/health/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, timeout=15, interval=0.2, what=f"Service {service} answering at {ip}")
    return ip


def _rows(n: int, seed: int = 11) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, FEATURES)).astype(np.float32)


def _one_row() -> dict[str, Any]:
    return _infer_body(_rows(1))


def _infer_body(rows: np.ndarray) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": "x",
                "datatype": "FP32",
                "shape": list(rows.shape),
                "data": rows.flatten().tolist(),
            }
        ]
    }


def test_a_model_deployment_serves_predictions_through_its_cluster_ip_equal_to_onnxruntimes(
    operator: Kubectl,
) -> None:
    _deploy_ready(operator, "serve", _stable("fraud-1", 2))
    pods = get_json(operator, "pods", "-n", NAMESPACE, "-l", "modelplane.io/deployment=serve")[
        "items"
    ]
    assert {p["spec"]["nodeName"] for p in pods} == {"modelplane-node"}
    assert all(p["status"]["podIP"].startswith("10.245.0.") for p in pods)

    rows = _rows(16)
    url = f"http://{_cluster_ip(operator, 'serve')}/v2/models/fraud/infer"
    response = httpx.post(url, json=_infer_body(rows), timeout=10)
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    served = np.asarray(output["data"], dtype=np.float32).reshape(output["shape"])

    session = ort.InferenceSession(
        model_bytes(MODELS["fraud-1"])[0], providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, {"x": rows})[0]
    assert served.shape == expected.shape == (16, 1)
    np.testing.assert_allclose(served, expected, rtol=1e-6, atol=1e-7)

    # Bad input is the runtime's 4xx, through the Service too, never a 5xx.
    wrong = httpx.post(url, json=_infer_body(_rows(2)[:, :3]), timeout=10)
    assert wrong.status_code in (400, 422), wrong.text


def _canary(candidate: str) -> dict[str, Any]:
    return {
        **_stable("fraud-1", 2),
        "candidate": {"modelVersionRef": {"name": candidate}},
        "strategy": {
            "canary": {
                "steps": [{"setWeight": 50}, {"analysis": {"intervals": 2}}, {"setWeight": 100}]
            }
        },
        "analysis": {
            "interval": "3s",
            "minSamples": 10,
            "failureLimit": 1,
            "checks": {"errorRate": {"max": 0.05}},
        },
        "onFailure": "rollback",
    }


def test_a_canary_that_returns_errors_is_rolled_back_by_the_operator_from_real_measurements(
    operator: Kubectl,
) -> None:
    _deploy_ready(operator, "bad-canary", _stable("fraud-1", 2))
    url = f"http://{_cluster_ip(operator, 'bad-canary')}/v2/models/fraud/infer"
    with Traffic(url, _one_row) as load:
        operator("apply", "-f", "-", input=model_deployment("bad-canary", NAMESPACE,
                                                             _canary("fraud-3")))  # fmt: skip
        status = _wait_status(
            operator,
            "bad-canary",
            lambda s: bool(s.get("rollback")),
            "the canary rolled back",
        )
    assert status["rollback"]["rejectedVersion"] == "fraud-3"
    assert status["rollback"]["reason"] == "AnalysisFailed"
    assert status["stableVersion"] == "fraud-1"
    assert status["rolloutState"] == "RolledBack"
    failed = [
        m
        for m in status["analysis"]["measurements"]
        if m["check"] == "errorRate" and m.get("passed") is False
    ]
    assert failed, status["analysis"]
    assert failed[-1]["value"] > 0.5  # the candidate answered (almost) every request with a 500
    assert failed[-1]["samples"] >= 10
    assert load.codes.get(500, 0) > 0  # the candidate really served the load's requests
    assert load.ok > 0  # and stable kept serving meanwhile
    # After the rollback every request lands on stable again.
    wait_for(
        lambda: status_of(operator, "bad-canary", NAMESPACE)["traffic"]["stable"] == 100,
        timeout=60,
        what="all traffic on stable",
    )
    time.sleep(2)  # kube-proxy drops the candidate's endpoints
    codes = [httpx.post(url, json=_infer_body(_rows(1)), timeout=5).status_code for _ in range(30)]
    assert set(codes) == {200}, codes


def test_a_healthy_canary_is_promoted_from_real_measurements(operator: Kubectl) -> None:
    _deploy_ready(operator, "good-canary", _stable("fraud-1", 2))
    url = f"http://{_cluster_ip(operator, 'good-canary')}/v2/models/fraud/infer"
    with Traffic(url, _one_row) as load:
        operator("apply", "-f", "-", input=model_deployment("good-canary", NAMESPACE,
                                                             _canary("fraud-2")))  # fmt: skip
        status = _wait_status(
            operator,
            "good-canary",
            lambda s: s.get("stableVersion") == "fraud-2" and ready(s),
            "the healthy canary promoted",
        )
    assert status.get("rollback") is None
    passed = [
        m for m in status["analysis"]["measurements"] if m["check"] == "errorRate" and m["passed"]
    ]
    assert len(passed) >= 2, status["analysis"]
    assert all(m["value"] == 0 and m["samples"] >= 10 for m in passed)
    assert load.failed == 0, load.codes


def _shadowed(candidate: str) -> dict[str, Any]:
    return {
        **_stable("fraud-1", 2),
        "candidate": {"modelVersionRef": {"name": candidate}},
        "strategy": {
            "canary": {"steps": [{"analysis": {"intervals": 2}}, {"setWeight": 100}]},
            "shadow": {"percent": 100},
        },
        "analysis": {
            "interval": "3s",
            "minSamples": 10,
            "failureLimit": 1,
            "checks": {"shadowAgreement": {"min": 0.9}, "errorRate": {"max": 0.05}},
        },
        "onFailure": "rollback",
    }


@pytest.mark.parametrize(
    ("name", "candidate", "agrees"),
    [("shadow-same", "fraud-4", True), ("shadow-other", "fraud-2", False)],
)
def test_a_shadows_agreement_rate_is_in_status_and_decides_the_rollout(
    operator: Kubectl, name: str, candidate: str, agrees: bool
) -> None:
    _deploy_ready(operator, name, _stable("fraud-1", 2))
    url = f"http://{_cluster_ip(operator, name)}/v2/models/fraud/infer"
    versions: set[str] = set()
    with Traffic(url, _one_row) as load:
        operator("apply", "-f", "-", input=model_deployment(name, NAMESPACE, _shadowed(candidate)))
        shadowing = _wait_status(
            operator,
            name,
            lambda s: (s.get("traffic") or {}).get("mirror") == 100,
            "copies going to the candidate's pod",
        )
        assert shadowing["traffic"]["candidate"] == 0  # the candidate only answers copies
        for _ in range(20):  # meanwhile clients are answered by stable alone
            answer = httpx.post(url, json=_one_row(), timeout=5)
            assert answer.status_code == 200, answer.text
            versions.add(answer.json()["model_version"])
        if agrees:
            status = _wait_status(
                operator,
                name,
                lambda s: s.get("stableVersion") == candidate and ready(s),
                "the agreeing shadow promoted",
            )
        else:
            status = _wait_status(
                operator,
                name,
                lambda s: bool(s.get("rollback")),
                "the disagreeing shadow rolled back",
            )
    assert versions == {"1"}
    assert load.failed == 0, load.codes
    shadow = status["shadow"]
    assert shadow["version"] == candidate
    assert shadow["comparisons"] >= 10
    checks = [m for m in status["analysis"]["measurements"] if m["check"] == "shadowAgreement"]
    assert checks, status["analysis"]
    if agrees:
        assert shadow["agreementRate"] == 1.0
        assert shadow["agreed"] == shadow["comparisons"]
        assert all(m["value"] == 1.0 for m in checks if m.get("passed"))
    else:
        assert shadow["agreementRate"] < 0.1  # another model: its answers differ
        assert status["rollback"]["rejectedVersion"] == candidate
        assert "shadowAgreement" in status["rollback"]["message"]
        assert checks[-1]["passed"] is False


def test_payload_logs_of_real_requests_land_in_s3_when_the_pods_drain(
    operator: Kubectl, s3: Any
) -> None:
    spec = {
        **_stable("fraud-1", 1),
        "payloadLogging": {"sampleRate": 1.0, "uri": f"s3://{s3.bucket}/payload"},
    }
    _deploy_ready(operator, "logged", spec)
    url = f"http://{_cluster_ip(operator, 'logged')}/v2/models/fraud/infer"
    rows = _rows(25, seed=3)
    for row in rows:
        answer = httpx.post(url, json=_infer_body(row[None, :]), timeout=5)
        assert answer.status_code == 200, answer.text
    # Deleting the deployment stops its pod: the runtime's drain flushes the buffered rows.
    operator("delete", "modeldeployment", "logged", "-n", NAMESPACE, "--wait=true")
    prefix = f"{NAMESPACE}/logged/fraud-1/"
    client = s3.client()

    def keys() -> list[str]:
        listed = client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
        return [o["Key"] for o in listed.get("Contents", [])]

    wait_for(keys, timeout=90, interval=1, what=f"payload logs under s3://{s3.bucket}/{prefix}")
    tables = [
        pq.read_table(io.BytesIO(client.get_object(Bucket=s3.bucket, Key=k)["Body"].read()))
        for k in keys()
    ]
    table = pa.concat_tables(tables)
    assert table.num_rows == 25
    logged = np.column_stack([table[f"input.x.{i}"].to_numpy() for i in range(FEATURES)])
    order = np.lexsort(logged.T)
    np.testing.assert_allclose(logged[order], rows[np.lexsort(rows.T)], rtol=1e-6)
    session = ort.InferenceSession(
        model_bytes(MODELS["fraud-1"])[0], providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, {"x": logged.astype(np.float32)})[0][:, 0]
    np.testing.assert_allclose(table["output.y.0"].to_numpy(), expected, rtol=1e-5)


def _runtime_pid(pod_uid: str) -> int:
    """The host pid of a pod's serving-runtime process (found by the pod's cgroup)."""
    marker = pod_uid.replace("-", "_")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cgroup = (proc / "cgroup").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if (pod_uid in cgroup or marker in cgroup) and b"modelplane_runtime" in cmdline:
            return int(proc.name)
    raise AssertionError(f"no runtime process of pod {pod_uid}")


def test_killing_a_serving_pod_fails_no_request_beyond_the_retry_budget(
    operator: Kubectl,
) -> None:
    import os
    import signal

    _deploy_ready(operator, "resilient", _stable("fraud-1", 3))
    url = f"http://{_cluster_ip(operator, 'resilient')}/v2/models/fraud/infer"
    pods = get_json(operator, "pods", "-n", NAMESPACE, "-l", "modelplane.io/deployment=resilient")[
        "items"
    ]
    victim = pods[0]
    with Traffic(url, _one_row, attempts=5) as load:
        time.sleep(2)
        before = load.ok
        os.kill(_runtime_pid(victim["metadata"]["uid"]), signal.SIGKILL)
        wait_for(
            lambda: any(
                c.get("restartCount", 0) >= 1 and c.get("ready")
                for c in get_json(operator, "pod", victim["metadata"]["name"], "-n", NAMESPACE)[
                    "status"
                ]["containerStatuses"]
            ),
            timeout=120,
            what="the killed pod restarted and Ready again",
        )
        time.sleep(2)
    assert load.failed == 0, load.codes
    assert load.ok > before + 20


def test_pods_resolve_services_by_name_and_outside_names_do_not_exist(operator: Kubectl) -> None:
    _deploy_ready(operator, "named", _stable("fraud-1", 1))
    pod = get_json(operator, "pods", "-n", NAMESPACE, "-l", "modelplane.io/deployment=named")[
        "items"
    ][0]["metadata"]["name"]
    probe = (
        "import socket, urllib.request\n"
        f"url = 'http://named.{NAMESPACE}.svc.cluster.local/v2/health/ready'\n"
        "print('service', urllib.request.urlopen(url, timeout=5).status)\n"
        f"print('short', socket.gethostbyname('named'))\n"
        "try:\n"
        "    socket.gethostbyname('pypi.org')\n"
        "    print('outside resolved')\n"
        "except socket.gaierror as exc:\n"
        "    print('outside', exc.errno)\n"
    )
    result = operator("exec", "-n", NAMESPACE, pod, "--", "python", "-c", probe)
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["service"] == "200"
    assert lines["short"] == _service_ip(operator, "named")  # the search path of the namespace
    assert lines["outside"] == str(socket.EAI_NONAME)  # NXDOMAIN from our DNS, asked nowhere else


def _service_ip(kubectl: Kubectl, service: str) -> str:
    return str(get_json(kubectl, "service", service, "-n", NAMESPACE)["spec"]["clusterIP"])


def test_the_platforms_prometheus_discovers_the_pods_and_the_series_match_the_traffic(
    operator: Kubectl, platform: LocalPlatform
) -> None:
    """Prometheus's Kubernetes discovery (the shipped configuration, as the platform's
    ServiceAccount) finds the real pods; the facade's own queries over them give back the rate
    and the share of bad requests a client sent."""
    prometheus = platform.ensure_prometheus()
    _deploy_ready(operator, "watched", _stable("fraud-1", 2))
    url = f"http://{_cluster_ip(operator, 'watched')}/v2/models/fraud/infer"
    sent, bad, began = 0, 0, time.time()
    with httpx.Client(timeout=5) as client:
        while time.time() - began < 40:
            malformed = sent % 4 == 3
            body = _infer_body(_rows(1)[:, :3] if malformed else _rows(1))
            answer = client.post(url, json=body)
            assert answer.status_code in ((400, 422) if malformed else (200,)), answer.text
            sent, bad = sent + 1, bad + malformed
            time.sleep(0.04)
    ended = time.time()
    rate = sent / (ended - began)
    time.sleep(2 * prometheus.scrape_interval_s)  # the last requests scraped

    step = prometheus.scrape_interval_s
    window = 4 * step
    promql = queries(NAMESPACE, "watched", window)
    fields = ("requests_per_second", "errors_4xx_ratio", "errors_5xx_ratio", "latency_p99_seconds")

    async def read() -> list[list[Series]]:
        reader = PrometheusClient(prometheus.url)
        try:
            return [
                await reader.query_range(promql[f], began, ended + 2 * step, step) for f in fields
            ]
        finally:
            await reader.aclose()

    answers = dict(zip(fields, asyncio.run(read()), strict=True))

    def during(field: str) -> list[float]:
        """Values of the points whose window lies inside the traffic (one version's)."""
        found = answers[field]
        assert [s.labels.get("model_version") for s in found] == ["fraud-1"], found
        return [v for t, v in found[0].points if began + window + step <= t <= ended - 1]

    requests = during("requests_per_second")
    assert len(requests) >= 2, requests
    assert statistics.median(requests) == pytest.approx(rate, rel=0.2), (requests, rate)
    assert statistics.median(during("errors_4xx_ratio")) == pytest.approx(bad / sent, abs=0.06)
    assert max(during("errors_5xx_ratio")) == 0.0
    assert 0 < statistics.median(during("latency_p99_seconds")) < 5
