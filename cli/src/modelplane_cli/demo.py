"""`modelplane demo`: the platform's main job, end to end, on the local platform.

It walks the path a data scientist and a platform engineer take, through the real components:
sign up on the facade API and create an organization (the facade applies the Organization
resource; the operator turns it into a namespace with quota, network policy and role bindings),
register a model and upload an ONNX file as its first version through the facade (which checks
it, stores it in S3 with its digest and applies a ModelVersion) and watch the operator verify its
digest and signature, apply a tampered copy with `kubectl` as a platform engineer would and watch
it refused, deploy the
verified version through the facade (a ModelDeployment: serving pods on the platform's real
node), send it real requests through the facade's inference proxy and compare its predictions
with onnxruntime's, roll out a retrained version through the facade in weighted canary steps to
promotion while traffic flows, then canary a broken export under automatic analysis and watch
the operator roll it back from what the pods measured — and read the history of rollouts, the
serving metrics, and a DriftMonitor's verdict on shifted traffic with the live quality it scored
from outcomes sent as feedback. Every step says what it does; the last lines say how to look
around.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from modelplane_cli.local.binaries import KUBE
from modelplane_cli.local.processes import PlatformError, RunState
from modelplane_cli.local.services import PAYLOAD_BUCKET
from modelplane_cli.traffic import Traffic

ORG_SLUG = "demo"
BUCKET = "models"
DEPLOYMENT = "fraud-detector"
MONITOR = "fraud-inputs"


def _step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def _detail(message: str) -> None:
    print(f"    {message}", flush=True)


def build_model(seed: int = 7) -> bytes:
    """A small logistic-regression classifier (4 FP32 features → label, probabilities); another
    seed is a "retrained" model with the same signature."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(rng.normal(size=(4, 2)).astype(np.float32), "weights")
    bias = numpy_helper.from_array(np.array([0.1, -0.1], dtype=np.float32), "bias")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "weights"], ["scores"]),
            helper.make_node("Add", ["scores", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
            helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        ],
        "fraud_detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2]),
        ],
        initializer=[weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def build_broken_model(seed: int = 13) -> bytes:
    """A "retrained" export with the right signature that loads and verifies, but fails inside
    onnxruntime on every request (it reshapes the batch's probabilities into 3 × 7, a shape
    computed from the data, so no load-time check can see it): each answer is a 500."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(rng.normal(size=(4, 2)).astype(np.float32), "weights")
    target = numpy_helper.from_array(np.array([3.0, 7.0], dtype=np.float32), "target")
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "weights"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["softmax"], axis=1),
            helper.make_node("ReduceMax", ["input"], ["peak"], keepdims=0),
            helper.make_node("Mul", ["peak", "zero"], ["nothing"]),
            helper.make_node("Add", ["nothing", "target"], ["shape_f"]),
            helper.make_node("Cast", ["shape_f"], ["shape"], to=TensorProto.INT64),
            helper.make_node("Reshape", ["softmax", "shape"], ["probabilities"]),
            helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
        ],
        "fraud_detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 4])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2]),
        ],
        initializer=[weights, target, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


CANARY: dict[str, Any] = {
    "preset": "all-at-once",
    "strategy": {
        "canary": {"steps": [{"setWeight": 25}, {"pause": {"duration": "5s"}}, {"setWeight": 100}]}
    },
}
"""A rollout through the facade: 25 % (one pod of four: without the Gateway API weights are
replica ratios), a 5 s pause, 100 %; no analysis (the preset adds none)."""

ANALYSED_CANARY: dict[str, Any] = {
    "strategy": {
        "canary": {"steps": [{"setWeight": 25}, {"analysis": {"intervals": 2}}, {"setWeight": 100}]}
    },
    "analysis": {
        "interval": "5s",
        "minSamples": 20,
        "failureLimit": 1,
        "checks": {"errorRate": {"max": 0.01}, "latencyP99": {"maxMs": 250}},
    },
    "on_failure": "rollback",
}
"""A canary judged by the operator: after 25 %, two passing 5 s intervals of the candidate's
own metrics (error rate ≤ 1 %, p99 ≤ 250 ms) before 100 %; one failing interval rolls back."""


FEATURES = [
    {"name": f, "type": "numerical", "input": "input", "index": i}
    for i, f in enumerate(("amount", "merchant_risk", "hour_of_day", "distance_km"))
]
"""The model's features (columns of its one input), for drift monitoring."""

QUALITY: dict[str, Any] = {
    "task": "classification",
    "prediction": "output.label.0",
    "score": "output.probabilities.1",
    "metrics": [{"metric": "accuracy", "min": 0.8}, {"metric": "auc", "min": 0.75}],
    "minLabelledRows": 200,
}
"""Live quality of the served version: its logged predictions (label and the probability of
class 1) scored against the outcomes sent as feedback."""
LABELLED = 300
"""Single-row requests whose outcomes the demo sends as feedback."""
WRONG_SHARE = 0.1
"""Share of simulated outcomes that disagree with the model."""


def model_version(name: str, namespace: str, version: str, uri: str, sha256: str) -> str:
    """The ModelVersion a platform engineer would commit to Git."""
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "modelName": "fraud-detector",
                "version": version,
                "artifact": {"uri": uri, "sha256": sha256, "format": "onnx"},
                "signature": {
                    "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
                    "outputs": [
                        {"name": "label", "datatype": "INT64", "shape": [-1]},
                        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]},
                    ],
                },
                "features": FEATURES,
            },
        }
    )


def _feature_names() -> list[str]:
    return [str(f["name"]) for f in FEATURES]


def _parquet(columns: dict[str, np.ndarray]) -> bytes:
    """A Parquet file of the given columns (a reference dataset)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def _number(resource_name: str) -> str:
    """The version number in a registry ModelVersion's name (`fraud-detector-v4` → `4`)."""
    return resource_name.rsplit("-v", 1)[1]


def inputs_of(rows: np.ndarray) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": "input",
                "datatype": "FP32",
                "shape": list(rows.shape),
                "data": rows.flatten().tolist(),
            }
        ]
    }


class Demo:
    """One run of the demo against a running local platform (`modelplane dev up`)."""

    def __init__(self, dev_dir: Path, *, in_cluster: bool = False) -> None:
        """`in_cluster`: through the facade and operator pods `modelplane dev install` runs,
        instead of the platform's processes."""
        state = RunState.load(dev_dir / "state.json")
        operator = state is not None and (
            in_cluster or "operator" in {p.name for p in state.processes}
        )
        api_key = "api-in-cluster" if in_cluster else "api"
        if state is not None and not operator and "api-in-cluster" in state.endpoints:
            raise PlatformError(
                "the operator runs as a pod here (`modelplane dev install`): run "
                "`modelplane demo --in-cluster`"
            )
        if state is None or api_key not in state.endpoints or not operator:
            raise PlatformError(
                "the local platform is not running: start it with "
                "`modelplane dev up` (or `make demo`, which does both)"
                + (", then `modelplane dev install`" if in_cluster else "")
            )
        self.dev_dir = dev_dir
        self.endpoints = state.endpoints
        self.api_url = state.endpoints[api_key]
        """The facade the story goes through: the process's, or the pods' Service."""
        self.api = httpx.Client(base_url=f"{self.api_url}/api/v1", timeout=30)
        self._rng = np.random.default_rng(3)
        self.token = ""
        """The demo user's access token, once signed in."""

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [str(KUBE.path("kubectl")), "--kubeconfig", self.endpoints["kubeconfig"], *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if check and result.returncode != 0:
            raise PlatformError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout + result.stderr

    def _call(
        self, method: str, path: str, token: str | None = None, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.api.request(method, path, json=body, headers=headers)

    def sign_in(self) -> str:
        """Register the demo user once (credentials kept in the run directory) and log in."""
        creds_file = self.dev_dir / "demo-user.json"
        if creds_file.exists():
            creds = json.loads(creds_file.read_text())
        else:
            creds = {
                "email": "data.scientist@modelplane.local",
                "password": secrets.token_urlsafe(16),
            }
            response = self._call(
                "POST", "/auth/register", body={**creds, "display_name": "Demo Data Scientist"}
            )
            if response.status_code != 201:
                raise PlatformError(f"register failed: {response.text}")
            creds_file.write_text(json.dumps(creds))
            creds_file.chmod(0o600)
        response = self._call("POST", "/auth/login", body=creds)
        if response.status_code != 200:
            raise PlatformError(f"login failed: {response.text}")
        _detail(f"signed in as {creds['email']} (password in {creds_file})")
        return str(response.json()["data"]["access_token"])

    def create_organization(self, token: str) -> tuple[str, str]:
        """Create the org through the facade (idempotent); return its id and namespace."""
        response = self._call(
            "POST", "/organizations", token, {"slug": ORG_SLUG, "display_name": "Demo Inc."}
        )
        if response.status_code == 201:
            org_id = str(response.json()["data"]["id"])
            _detail(
                "POST /api/v1/organizations → 201; the facade applied Organization "
                f"'{ORG_SLUG}' by server-side apply"
            )
        elif response.status_code == 409:
            found = self.api.get(
                "/organizations",
                params={"filter[slug]": ORG_SLUG},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["data"]
            if not found:
                raise PlatformError(f"organization '{ORG_SLUG}' belongs to another user")
            org_id = str(found[0]["id"])
            _detail(f"organization '{ORG_SLUG}' exists already")
        else:
            raise PlatformError(f"creating the organization failed: {response.text}")
        namespace = f"mp-{ORG_SLUG}"
        self.kubectl("wait", "--for=condition=Ready", f"organization/{ORG_SLUG}", "--timeout=120s")
        _detail(
            f"operator: Organization Ready → namespace {namespace} with quota, limit "
            "range, default-deny network policy and role bindings:"
        )
        print(
            self.kubectl(
                "get", "resourcequota,limitrange,networkpolicy,rolebinding", "-n", namespace
            ),
            end="",
        )
        return org_id, namespace

    def create_model(self, token: str, org_id: str) -> str:
        """Register the model in the facade's registry (idempotent); return its id."""
        base = f"/organizations/{org_id}/models"
        response = self._call(
            "POST",
            base,
            token,
            {
                "name": DEPLOYMENT,
                "task_type": "classification",
                "description": "Card transactions → fraud (0/1) and its probabilities",
                "tags": {"team": "risk"},
            },
        )
        if response.status_code == 201:
            _detail(f"POST /api/v1{base} → 201: model '{DEPLOYMENT}' registered")
            return str(response.json()["data"]["id"])
        found = self.api.get(
            base, params={"filter[name]": DEPLOYMENT}, headers={"Authorization": f"Bearer {token}"}
        ).json()["data"]
        if response.status_code != 409 or not found:
            raise PlatformError(f"registering the model failed: {response.text}")
        _detail(f"model '{DEPLOYMENT}' is registered already")
        return str(found[0]["id"])

    def upload_version(
        self, token: str, org_id: str, model_id: str, body: bytes, description: str
    ) -> tuple[str, str]:
        """Upload an ONNX file as the model's next version through the facade, wait for the
        operator's verdict (read back through the API); return the ModelVersion's name and the
        version's id."""
        url = f"/organizations/{org_id}/models/{model_id}/versions"
        response = self.api.post(
            url,
            headers={"Authorization": f"Bearer {token}"},
            files={
                "file": ("model.onnx", body, "application/octet-stream"),
                "metadata": (
                    None,
                    json.dumps({"description": description, "features": FEATURES}),
                    "application/json",
                ),
            },
        )
        if response.status_code not in (201, 202):
            raise PlatformError(f"uploading the version failed: {response.text}")
        version = response.json()["data"]
        _detail(
            f"POST /api/v1{url} → {response.status_code}: version {version['version']}, "
            f"{version['size_bytes']} bytes, sha256 {version['sha256'][:16]}…, stored at "
            f"{version['artifact_uri']}, applied as ModelVersion {version['resource_name']}"
        )
        return self._verified(token, url, version)

    def log_runs(self, slug: str, seeds: tuple[int, ...]) -> list[tuple[float, int, str]]:
        """Train-and-log as a data scientist would: one MLflow run per candidate model, logged
        with the standard mlflow client through the facade (the organization's own
        workspace); (accuracy, seed, run id) of each, best first."""
        import mlflow
        import onnx
        import onnxruntime as ort

        os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
        os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = "false"
        uri = f"{self.api_url}/api/v1/organizations/{slug}/mlflow"
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(DEPLOYMENT)
        rows = np.random.default_rng(5).normal(size=(2000, 4)).astype(np.float32)
        truth = (rows @ np.array([1.0, -0.5, 0.8, 0.3], dtype=np.float32) > 0).astype(np.int64)
        found = []
        for seed in seeds:
            body = build_model(seed)
            session = ort.InferenceSession(body, providers=["CPUExecutionProvider"])
            accuracy = float((session.run(["label"], {"input": rows})[0] == truth).mean())
            with mlflow.start_run(run_name=f"seed-{seed}") as run:
                mlflow.log_params({"seed": seed, "features": 4, "opset": 17})
                mlflow.log_metric("accuracy", accuracy)
                mlflow.onnx.log_model(onnx.load_from_string(body), name="model")
            _detail(f"run {run.info.run_id} (seed {seed}): accuracy {accuracy:.3f}")
            found.append((accuracy, seed, run.info.run_id))
        _detail(f"MLFLOW_TRACKING_URI={uri}  (MLFLOW_TRACKING_TOKEN: your token or API key)")
        return sorted(found, reverse=True)

    def version_from_run(
        self, token: str, org_id: str, model_id: str, run_id: str, description: str
    ) -> tuple[str, str]:
        """Register the ONNX model a run logged as the model's next version through the facade
        (`from-run`), wait for the operator's verdict; return the ModelVersion's name and the
        version's id."""
        url = f"/organizations/{org_id}/models/{model_id}/versions"
        response = self._call(
            "POST", f"{url}/from-run", token,
            {"run_id": run_id, "path": "model", "description": description, "features": FEATURES},
        )  # fmt: skip
        if response.status_code not in (201, 202):
            raise PlatformError(f"registering the run's model failed: {response.text}")
        version = response.json()["data"]
        _detail(
            f"POST /api/v1{url}/from-run → {response.status_code}: version {version['version']} "
            f"copied from run {run_id}, sha256 {version['sha256'][:16]}…, applied as "
            f"ModelVersion {version['resource_name']}"
        )
        return self._verified(token, url, version)

    def _verified(self, token: str, url: str, version: dict[str, Any]) -> tuple[str, str]:
        """Wait until the operator verified a version (read back through the API)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            detail = self.api.get(
                f"{url}/{version['id']}", headers={"Authorization": f"Bearer {token}"}
            ).json()["data"]
            if detail["state"] in ("ready", "stalled"):
                _detail(
                    f"GET …/versions/{version['id'][:8]}… → state {detail['state']}, "
                    f"reason {detail['reason']}: {detail['message']}"
                )
                if detail["state"] != "ready":
                    raise PlatformError(f"version {version['version']} did not verify")
                return str(version["resource_name"]), str(version["id"])
            time.sleep(1)
        raise PlatformError(f"version {version['version']} was not verified in 120 s")

    def upload(self, namespace: str, body: bytes, key: str) -> tuple[str, str]:
        """Put an artifact into S3 directly, as a platform engineer with bucket access would;
        return its URI and sha256."""
        s3 = self._s3()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if BUCKET not in existing:
            s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=f"{namespace}/{key}", Body=body)
        return f"s3://{BUCKET}/{namespace}/{key}", hashlib.sha256(body).hexdigest()

    def register(self, namespace: str, name: str, manifest: str, expect: str) -> None:
        """Apply a ModelVersion and wait for the operator's verdict."""
        self.kubectl("apply", "-f", "-", stdin=manifest)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = json.loads(self.kubectl("get", "mv", name, "-n", namespace, "-o", "json"))
            conditions = {c["type"]: c for c in status.get("status", {}).get("conditions", [])}
            if expect in conditions and conditions[expect]["status"] == "True":
                ready = conditions.get("Ready", {})
                _detail(
                    f"{name}: {expect} — Ready={ready.get('status')} "
                    f"reason={ready.get('reason')}: {ready.get('message', '')}"
                )
                return
            time.sleep(1)
        raise PlatformError(
            f"{name} did not reach {expect} in 120 s:\n"
            + self.kubectl("describe", "mv", name, "-n", namespace)
        )

    def pod_credentials(self, namespace: str) -> None:
        """The S3 credentials serving pods read artifacts and write payload logs with, as the
        Secret an org admin provides (`modelplane-s3`)."""
        secret = self.kubectl(
            "create",
            "secret",
            "generic",
            "modelplane-s3",
            "-n",
            namespace,
            f"--from-literal=MODELPLANE_RUNTIME_S3_ACCESS_KEY_ID={self.endpoints['s3-access-key']}",
            f"--from-literal=MODELPLANE_RUNTIME_S3_SECRET_ACCESS_KEY={self.endpoints['s3-secret-key']}",
            "--dry-run=client",
            "-o",
            "json",
        )
        self.kubectl("apply", "-f", "-", stdin=secret)

    def deployment(self, path: str) -> dict[str, Any]:
        """The deployment as the facade shows it (phase, versions, traffic, analysis)."""
        response = self._call("GET", path, self.token)
        if response.status_code != 200:
            raise PlatformError(f"GET {path} answered {response.status_code}: {response.text}")
        data: dict[str, Any] = response.json()["data"]
        return data

    def deploy(self, org_id: str, namespace: str, version_id: str, stable: str) -> str:
        """Deploy `stable` through the facade (four replicas) and wait until it serves; return
        the deployment's API path. On a re-run the deployment exists: it is switched to
        `stable` by a rollout."""
        self.pod_credentials(namespace)
        base = f"/organizations/{org_id}/deployments"
        path = f"{base}/{DEPLOYMENT}"
        body = {"version_id": version_id, "name": DEPLOYMENT, "scaling": {"replicas": 4}}
        response = self._call("POST", base, self.token, body)
        if response.status_code == 201:
            _detail(
                f"POST /api/v1{base} → 201: ModelDeployment {DEPLOYMENT}, 4 replicas of {stable}"
            )
        elif response.status_code == 409:
            self._call("POST", f"{path}/rollback", self.token, {"reason": "the demo runs again"})
            moved = self._call(
                "POST",
                f"{path}/rollouts",
                self.token,
                {"version_id": version_id, "preset": "all-at-once"},
            )
            if moved.status_code != 201:
                raise PlatformError(f"switching {DEPLOYMENT} to {stable} failed: {moved.text}")
            _detail(
                f"{DEPLOYMENT} exists: POST /api/v1{path}/rollouts → 201, all at once to {stable}"
            )
        else:
            raise PlatformError(f"deploying failed: {response.text}")
        deadline = time.monotonic() + 180
        while True:
            found = self.deployment(path)
            if found["serving_version"] == stable and found["phase"] == "Ready":
                break
            if time.monotonic() > deadline:
                raise PlatformError(
                    f"{DEPLOYMENT} did not serve {stable} in 180 s: {found['reason']}: "
                    f"{found['message']}\n"
                    + self.kubectl("describe", "mdep", DEPLOYMENT, "-n", namespace)
                )
            time.sleep(1)
        _detail(
            f"GET /api/v1{path} → phase Ready, serving {found['serving_version']} at "
            f"{found['url']} ({found['reason']})"
        )
        print(
            self.kubectl(
                "get",
                "deployments,services,pdb",
                "-n",
                namespace,
                "-l",
                f"modelplane.io/deployment={DEPLOYMENT}",
            ),
            end="",
        )
        print(
            self.kubectl(
                "get", "pods", "-n", namespace, "-o", "wide",
                "-l", f"modelplane.io/deployment={DEPLOYMENT}",
            ),
            end="",
        )  # fmt: skip
        return path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _random_row(self) -> dict[str, Any]:
        return inputs_of(self._rng.normal(size=(1, 4)).astype(np.float32))

    def until_served_by(self, url: str, version: str) -> None:
        """Wait until the deployment answers from `version` only: after a promotion or a
        rollback the other version's pods serve until they are gone and kube-proxy drops them."""
        began = time.monotonic()
        row, streak = self._random_row(), 0
        while time.monotonic() - began < 60:
            try:  # the proxy opens a connection per call: kube-proxy picks a pod per connection
                answer = httpx.post(url, json=row, headers=self.auth, timeout=5)
                served = answer.json().get("model_version") if answer.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                served = None
            streak = streak + 1 if served == version else 0
            if streak >= 10:
                _detail(f"only version {version} answers, {time.monotonic() - began:.1f} s later")
                return
            time.sleep(0.1)
        raise PlatformError(f"the deployment still answers from other versions than {version}")

    def predict(self, url: str, model: bytes) -> None:
        """Real requests through the facade; the answers must equal onnxruntime's on the same
        file."""
        import onnxruntime as ort

        # Standardised features (amount, merchant risk, hour of day, distance).
        rows = np.array(
            [[0.2, -0.4, 0.1, 0.3], [1.8, 1.2, -1.5, 2.1], [-0.6, 0.3, 0.9, -0.2]],
            dtype=np.float32,
        )
        response = httpx.post(url, json=inputs_of(rows), headers=self.auth, timeout=10)
        if response.status_code != 200:
            raise PlatformError(f"inference answered {response.status_code}: {response.text}")
        outputs = {o["name"]: o for o in response.json()["outputs"]}
        labels = outputs["label"]["data"]
        probabilities = np.asarray(outputs["probabilities"]["data"]).reshape(-1, 2)
        _detail(f"POST {url}")
        for row, label, probs in zip(rows.tolist(), labels, probabilities, strict=True):
            _detail(f"  features {row} → label {label}, probabilities {probs.round(4).tolist()}")
        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        want_labels, want_probs = session.run(["label", "probabilities"], {"input": rows})
        same = labels == want_labels.tolist() and np.allclose(probabilities, want_probs, atol=1e-6)
        if not same:
            raise PlatformError(f"served {labels}/{probabilities} but onnxruntime says "
                                f"{want_labels}/{want_probs}")  # fmt: skip
        _detail("equal to onnxruntime's answers on the same model file, row for row")

    def canary(
        self,
        path: str,
        version_id: str,
        candidate: str,
        rollout: dict[str, Any],
        expect: str = "promoted",
    ) -> dict[str, Any]:
        """Start a rollout through the facade and follow it step by step (read back through
        the facade) until it is promoted (or, with `expect="rolled back"`, until the operator
        rolls it back); return the deployment as the facade shows it last."""
        started = self._call(
            "POST", f"{path}/rollouts", self.token, {"version_id": version_id, **rollout}
        )
        if started.status_code != 201:
            raise PlatformError(f"starting the rollout failed: {started.text}")
        _detail(f"POST /api/v1{path}/rollouts → 201: {candidate} is the candidate")
        deadline = time.monotonic() + 300
        last = ""
        while time.monotonic() < deadline:
            found = self.deployment(path)
            traffic = found.get("traffic") or {}
            rolling = found.get("rollout_state") in ("Progressing", "Paused")
            step = found.get("current_step")
            seen = (
                f"step {'-' if step is None else step}: stable {found.get('serving_version')} "
                f"{traffic.get('stable', '?')} % / candidate "
                f"{found.get('candidate_version') if rolling else None} "
                f"{traffic.get('candidate', 0)} % — {found.get('reason') or ''}"
            )
            if seen != last:
                _detail(seen)
                last = seen
            if found.get("serving_version") == candidate and found.get("phase") == "Ready":
                if expect != "promoted":
                    raise PlatformError(f"{candidate} was promoted, not {expect}")
                _detail(f"{candidate} promoted: it is the stable version now")
                return found
            rollback = found.get("rollback") or {}
            if rollback.get("rejectedVersion") == candidate:
                if expect != "rolled back":
                    raise PlatformError(f"{candidate} was rolled back: {rollback.get('reason')}")
                return found
            time.sleep(1)
        raise PlatformError(f"{candidate} was not {expect} in 300 s: {last}")

    def history(self, path: str) -> None:
        """The rollouts the facade recorded, newest first."""
        response = self._call("GET", f"{path}/rollouts", self.token)
        if response.status_code != 200:
            raise PlatformError(f"reading the rollouts failed: {response.text}")
        _detail(f"GET /api/v1{path}/rollouts →")
        for entry in response.json()["data"]:
            _detail(
                f"  {entry['started_at'][:19]} {entry['from_version']} → {entry['to_version']}: "
                f"{entry['outcome']}{' (' + entry['reason'] + ')' if entry['reason'] else ''}"
            )

    def serving_metrics(self, path: str, served: set[str]) -> None:
        """The deployment's serving series over the demo, per version, from Prometheus through
        the facade (the last point of each), once every version in `served` has been scraped
        (a short-lived canary's pods may be scraped only a few seconds after they answered)."""
        deadline = time.monotonic() + 30
        while True:
            response = self._call("GET", f"{path}/metrics?range=15m", self.token)
            if response.status_code != 200:
                raise PlatformError(f"reading the serving metrics failed: {response.text}")
            versions = response.json()["data"]["versions"]
            if served <= {v["version"] for v in versions} or time.monotonic() > deadline:
                break
            time.sleep(2)
        _detail(f"GET /api/v1{path}/metrics?range=15m →")
        for v in versions:
            total = sum(p["v"] for p in v["requests_per_second"])
            _detail(
                f"  {v['version']} ({v['role'] or 'earlier'}): "
                f"{_last(v, 'requests_per_second')} req/s now, "
                f"p99 {_last(v, 'latency_p99_seconds', 1e3)} ms, "
                f"4xx {_last(v, 'errors_4xx_ratio', 100)} %, "
                f"5xx {_last(v, 'errors_5xx_ratio', 100)} % "
                f"({len(v['requests_per_second'])} points, {'served' if total else 'no traffic'})"
            )

    def run(self) -> None:
        _step("Sign in to the facade API")
        self.token = token = self.sign_in()
        _step("Create an organization through the facade; the operator provisions it")
        org_id, namespace = self.create_organization(token)
        _step("Log two training runs with the standard mlflow client, through the facade")
        accuracy, seed, run_id = self.log_runs(ORG_SLUG, (3, 7))[0]
        _step("Register the better run's model through the facade; the operator verifies it")
        model_id = self.create_model(token, org_id)
        body = build_model(seed)
        v1, v1_id = self.version_from_run(
            token, org_id, model_id, run_id, f"run {run_id}: accuracy {accuracy:.3f}"
        )
        _step("A platform engineer applies a tampered copy under v1's digest: refused")
        tampered_uri, _ = self.upload(namespace, body + b"\0", "fraud-detector/tampered/model.onnx")
        digest = hashlib.sha256(body).hexdigest()
        self.register(
            namespace,
            "fraud-detector-tampered",
            model_version("fraud-detector-tampered", namespace, "tampered", tampered_uri, digest),
            "Stalled",
        )
        _step("Deploy v1 through the facade: serving pods on the real node, Services, PDB")
        path = self.deploy(org_id, namespace, v1_id, v1)
        _step(
            "Send real requests through the facade's inference proxy (Open Inference Protocol v2)"
        )
        url = f"{self.api_url}/api/v1{path}/infer"
        self.until_served_by(url, _number(v1))
        self.predict(url, body)
        _step("Upload a retrained version and roll it out: 25 % → pause 5 s → 100 % → promoted")
        retrained = build_model(seed=11)
        v2, v2_id = self.upload_version(
            token, org_id, model_id, retrained, "retrained on November data"
        )
        with Traffic(url, self._random_row, headers=self.auth) as traffic:
            self.canary(path, v2_id, v2, CANARY)
        _detail(f"traffic through the proxy during the rollout: {traffic.summary()}")
        self.until_served_by(url, _number(v2))
        self.predict(url, retrained)
        _step("Canary a broken export under automatic analysis: the operator rolls it back")
        broken = build_broken_model()
        v3, v3_id = self.upload_version(token, org_id, model_id, broken, "a broken export")
        _detail("it verifies (digest, signature) — only serving shows what is wrong with it")
        with Traffic(url, self._random_row, headers=self.auth) as traffic:
            found = self.canary(path, v3_id, v3, ANALYSED_CANARY, "rolled back")
        rollback = found["rollback"]
        _detail(f"rolled back: {rollback['reason']} — {rollback.get('message', '')}")
        for m in (found.get("analysis") or {}).get("measurements", [])[-4:]:
            verdict = {True: "passed", False: "FAILED", None: "inconclusive"}[m.get("passed")]
            _detail(
                f"  measured {m['check']} = {m['value']:.4g} (limit {m['threshold']:g}) "
                f"over {m['samples']} requests of {v3}: {verdict}"
            )
        _detail(f"traffic through the proxy during the canary: {traffic.summary()}")
        self.until_served_by(url, _number(v2))  # v3's pods serve until kube-proxy drops them
        self.predict(url, retrained)
        _detail(f"stable {v2} serves all traffic again")
        _step("The history of rollouts, kept by the facade")
        self.history(path)
        _step("Serving metrics per version, from Prometheus through the facade")
        self.serving_metrics(path, {v1, v2, v3})
        _step("Watch the inputs for drift: log payloads, a DriftMonitor, shifted traffic")
        self.drift(org_id, namespace, path, url)
        self.look_around(namespace, org_id, model_id, path)

    def drift(self, org_id: str, namespace: str, path: str, url: str) -> None:
        """Turn payload logging on, create a DriftMonitor through the facade against a
        reference of the training distribution, send traffic whose amount and distance moved,
        run the monitor's CronJob once now (as `kubectl create job --from` does) and read its
        verdict back through the facade."""
        self.log_payloads(path, namespace)
        rng = np.random.default_rng(5)
        reference = {name: rng.normal(size=4000) for name in _feature_names()}
        ref_uri, ref_sha = self.upload(
            namespace, _parquet(reference), "fraud-detector/reference.parquet"
        )
        monitor = f"/organizations/{org_id}/monitors"
        spec = {
            "deploymentRef": {"name": DEPLOYMENT},
            "reference": {"uri": ref_uri, "sha256": ref_sha},
            "window": {"type": "sliding", "size": "15m"},  # the traffic just sent
            "minSamples": 500,
            "quality": QUALITY,
        }
        self._call("DELETE", f"{monitor}/{MONITOR}", self.token)  # a re-run starts afresh
        created = self._call("POST", monitor, self.token, {"name": MONITOR, "spec": spec})
        if created.status_code != 201:
            raise PlatformError(f"creating the monitor failed: {created.text}")
        _detail(f"POST /api/v1{monitor} → 201: DriftMonitor {MONITOR}, every 15 minutes")
        since = datetime.now(UTC)
        self.labelled_traffic(url, path, rng)
        with httpx.Client(headers=self.auth, timeout=30) as client:
            for _ in range(320):  # 20,480 rows: the pods' buffers reach their flush size
                shifted = rng.normal(size=(64, 4)).astype(np.float32)  # a request's limit
                shifted[:, [0, 3]] += 2.5  # amount and distance_km moved by 2.5 deviations
                answer = client.post(url, json=inputs_of(shifted))
                if answer.status_code != 200:
                    raise PlatformError(f"inference answered {answer.status_code}: {answer.text}")
        _detail("sent 20,480 rows whose amount and distance_km moved by 2.5 standard deviations")
        self.until_logged(namespace, since, LABELLED + 20_480)
        found = self.evaluate_now(namespace, f"{monitor}/{MONITOR}")
        evaluation = found["last_evaluation"]
        drifted = [f["feature"] for f in evaluation["features"] if f["drifted"]]
        share = (evaluation.get("dataset") or {}).get("share", 0.0)
        detected = next(c for c in found["conditions"] if c["type"] == "DriftDetected")
        _detail(
            f"GET /api/v1{monitor}/{MONITOR} → DriftDetected={detected['status']} "
            f"({detected['reason']}): {share:.0%} of features drifted ({', '.join(drifted)}) "
            f"in {evaluation['samples']} logged rows"
        )
        self.show_quality(found, f"{monitor}/{MONITOR}")
        print(self.kubectl("get", "driftmonitors,cronjobs,jobs", "-n", namespace), end="")

    def _s3(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoints["s3"],
            aws_access_key_id=self.endpoints["s3-access-key"],
            aws_secret_access_key=self.endpoints["s3-secret-key"],
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def until_logged(self, namespace: str, since: datetime, rows: int) -> None:
        """Wait until the serving pods have flushed `rows` payload-log rows written since `since`
        to S3: each pod buffers rows and uploads them every 5,000 rows or 60 s, so an evaluation
        started right after the traffic could miss the part still buffered."""
        import io

        import pyarrow.parquet as pq

        s3, began, counted = self._s3(), time.monotonic(), {}
        prefix = f"{namespace}/{DEPLOYMENT}/"
        while time.monotonic() - began < 150:
            pages = s3.get_paginator("list_objects_v2").paginate(
                Bucket=PAYLOAD_BUCKET, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if (
                        item["LastModified"] < since
                        or key in counted
                        or not key.endswith(".parquet")
                    ):
                        continue
                    body = s3.get_object(Bucket=PAYLOAD_BUCKET, Key=key)["Body"].read()
                    counted[key] = pq.read_metadata(io.BytesIO(body)).num_rows
            if sum(counted.values()) >= rows:
                _detail(
                    f"the pods flushed {sum(counted.values())} logged rows to S3"
                    f" ({time.monotonic() - began:.0f} s)"
                )
                return
            time.sleep(3)
        raise PlatformError(f"only {sum(counted.values())} of {rows} payload-log rows in 150 s")

    def labelled_traffic(self, url: str, path: str, rng: np.random.Generator) -> None:
        """Single-row requests under ids of our own, then their outcomes as ground truth through
        the feedback endpoint. The outcomes are simulated: the model's answer, wrong for about
        one row in ten (in production they come from chargebacks, reviews, …)."""
        run = uuid.uuid4().hex[:8]
        rows = []
        with httpx.Client(headers=self.auth, timeout=30) as client:
            for i in range(LABELLED):
                request_id = f"demo-{run}-{i}"
                body = {"id": request_id, **self._random_row()}
                answer = client.post(url, json=body)
                if answer.status_code != 200:
                    raise PlatformError(f"inference answered {answer.status_code}: {answer.text}")
                outputs = {o["name"]: o for o in answer.json()["outputs"]}
                predicted = int(outputs["label"]["data"][0])
                truth = 1 - predicted if rng.random() < WRONG_SHARE else predicted
                rows.append({"request_id": request_id, "label": str(truth)})
        observed = datetime.now(UTC).isoformat()
        sent = self._call(
            "POST", f"{path}/feedback", self.token,
            {"rows": [{**row, "observed_at": observed} for row in rows]},
        )  # fmt: skip
        if sent.status_code != 201:
            raise PlatformError(f"sending feedback failed: {sent.status_code} {sent.text}")
        _detail(
            f"sent {LABELLED} single-row requests under their own ids, then their outcomes:"
            f" POST /api/v1{path}/feedback → 201 ({sent.json()['data']['rows']} labels)"
        )

    def show_quality(self, found: dict[str, Any], monitor_path: str) -> None:
        """The serving version's live quality the same run scored from the feedback."""
        quality = found.get("last_quality")
        if not quality or quality.get("insufficientData"):
            raise PlatformError(f"the evaluation scored no quality: {quality}")
        metrics = ", ".join(
            f"{m['metric']} {m['value']:.3f} (min {m['min']:g})" for m in quality["metrics"]
        )
        degraded = next(c for c in found["conditions"] if c["type"] == "QualityDegraded")
        _detail(
            f"GET /api/v1{monitor_path} → QualityDegraded={degraded['status']}"
            f" ({degraded['reason']}): {metrics} over {quality['labelledRows']} labelled"
            f" predictions of {quality['modelVersion']}"
        )

    def log_payloads(self, path: str, namespace: str) -> None:
        """Payload logging on for every request (the pods restart to pick it up)."""
        changed = self._call("PATCH", path, self.token, {"payload_logging": {"sampleRate": 1.0}})
        if changed.status_code != 200:
            raise PlatformError(f"turning payload logging on failed: {changed.text}")
        _detail(f"PATCH /api/v1{path} → 200: payloadLogging.sampleRate 1.0")
        selector = f"modelplane.io/deployment={DEPLOYMENT}"
        deadline = time.monotonic() + 60
        while True:  # the operator applies the new pod template on its next pass
            found = json.loads(self.kubectl("get", "deployments", "-n", namespace, "-o", "json",
                                            "-l", selector))["items"]  # fmt: skip
            envs = [{e["name"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
                    for d in found]  # fmt: skip
            if envs and all("MODELPLANE_RUNTIME_PAYLOAD_SAMPLE_RATE" in env for env in envs):
                break
            if time.monotonic() > deadline:
                raise PlatformError("the serving pods were not given payload logging in 60 s")
            time.sleep(1)
        for item in found:
            name = f"deployment/{item['metadata']['name']}"
            self.kubectl("rollout", "status", name, "-n", namespace, "--timeout=240s")
        _detail("serving pods restarted with payload logging")

    def evaluate_now(self, namespace: str, monitor_path: str) -> dict[str, Any]:
        """Run the monitor's CronJob once now and wait for its result in the monitor."""
        job = f"drift-now-{int(time.time())}"
        self.kubectl("create", "job", job, f"--from=cronjob/drift-{MONITOR}", "-n", namespace)
        _detail(f"kubectl create job {job} --from=cronjob/drift-{MONITOR}: evaluate now")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            found = self._call("GET", monitor_path, self.token).json()["data"]
            conditions = {c["type"] for c in found["conditions"]}
            if found.get("last_evaluation") and "DriftDetected" in conditions:
                return dict(found)
            time.sleep(2)
        raise PlatformError(
            f"no evaluation from {job} in 240 s:\n"
            + self.kubectl("describe", "jobs", "-n", namespace)
            + self.kubectl("logs", f"job/{job}", "-n", namespace, check=False)
        )

    def look_around(self, namespace: str, org_id: str, model_id: str, path: str) -> None:
        """What the platform engineer sees, and where to look next."""
        _step("What the platform engineer sees")
        print(self.kubectl("get", "modelplane", "-n", namespace), end="")
        print(self.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp"), end="")
        print("\nLook around:")
        print(f"  source {self.dev_dir / 'env.sh'}")
        print("  kubectl get modelplane -A")
        print(f"  kubectl describe mv fraud-detector-tampered -n {namespace}")
        api = f"{self.api_url}/api/v1"
        print(f"  curl -H 'Authorization: Bearer …' {api}/organizations/"
              f"{org_id}/models/{model_id}/versions   # the registry")  # fmt: skip
        print(f"  curl -H 'Authorization: Bearer …' {api}{path}/rollouts   # rollouts")
        print(f"  curl -H 'Authorization: Bearer …' '{api}{path}/metrics?range=1h'   # metrics")
        print(f"  kubectl describe dm {MONITOR} -n {namespace}   # drift: conditions, results")
        print(f"  open {self.endpoints['prometheus']}          # Prometheus (the raw series)")
        print(
            f"  curl -H 'Authorization: Bearer …' -d @request.json {api}{path}/infer   # inference"
        )
        print(f"  kubectl describe mdep {DEPLOYMENT} -n {namespace}")
        print(f"  curl {self.api_url}/docs        # the facade's OpenAPI")
        tracking = f"{api}/organizations/{namespace.removeprefix('mp-')}/mlflow"
        print(f"  MLFLOW_TRACKING_URI={tracking}   # MLflow, through the facade (with a token)")


def _last(version: dict[str, Any], series: str, scale: float = 1.0) -> str:
    """The last point of one of a version's series, scaled, or `-` when it has none."""
    points = version[series]
    return f"{points[-1]['v'] * scale:.3g}" if points else "-"


def run_demo(dev_dir: Path, *, in_cluster: bool = False) -> int:
    """Run the demo; print a clear error and return 1 when something is not right."""
    try:
        Demo(dev_dir, in_cluster=in_cluster).run()
    except (PlatformError, httpx.HTTPError, KeyError) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    print("\nDemo complete.")
    return 0
