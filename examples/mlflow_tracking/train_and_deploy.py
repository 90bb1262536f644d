"""Train, track, register and deploy through Modelplane with the standard `mlflow` client.

    export MODELPLANE_TOKEN=<access token or API key of a developer>
    python examples/mlflow_tracking/train_and_deploy.py \
        --facade http://127.0.0.1:8000 --org risk --model fraud-detector

1. Two scikit-learn logistic regressions (two values of `C`) are trained on a synthetic
   fraud-like dataset; each is a run of the experiment `fraud-detector`, logged through the
   facade (`MLFLOW_TRACKING_URI=<facade>/api/v1/organizations/<org>/mlflow`): params, metrics
   (accuracy, ROC AUC) and the model converted to ONNX with skl2onnx (never a pickle).
2. The run with the better AUC is registered as the next version of the model with one call
   (`POST …/versions/from-run`): the facade copies its ONNX file, checks it like an upload and
   keeps the run id as provenance.
3. Once the operator reports the version Ready, it is deployed to staging
   (`POST …/deployments`) and the deployment's path is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Trained:
    run_id: str
    c: float
    auc: float


def train_runs(tracking_uri: str, token: str, experiment: str) -> list[Trained]:
    """Train and log one run per value of C; the runs, best AUC first."""
    import mlflow
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    os.environ["MLFLOW_TRACKING_TOKEN"] = token
    os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    x, y = make_classification(
        n_samples=2000, n_features=4, n_informative=3, n_redundant=1, weights=[0.9], random_state=7
    )
    x = x.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=7)
    runs = []
    for c in (0.01, 1.0):
        with mlflow.start_run(run_name=f"logreg-C{c}") as run:
            model = LogisticRegression(C=c, max_iter=500).fit(x_train, y_train)
            auc = float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
            accuracy = float(accuracy_score(y_test, model.predict(x_test)))
            mlflow.log_params({"C": c, "features": x.shape[1], "model": "LogisticRegression"})
            mlflow.log_metrics({"auc": auc, "accuracy": accuracy})
            onx = to_onnx(model, x_train[:1], options={id(model): {"zipmap": False}})
            mlflow.onnx.log_model(onx, name="model")
            runs.append(Trained(run.info.run_id, c, auc))
    return sorted(runs, key=lambda r: r.auc, reverse=True)


class Facade:
    """The few facade calls the example needs, in its envelope."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{base.rstrip('/')}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if response.is_error:
            raise SystemExit(f"{method} {path} → {response.status_code}: {response.text[:500]}")
        return response.json()["data"] if response.content else None

    def organization_id(self, slug: str) -> str:
        found = self.call("GET", "/organizations", params={"filter[slug]": slug})
        if not found:
            raise SystemExit(f"no organization {slug!r} of yours")
        return str(found[0]["id"])

    def model_id(self, org_id: str, name: str) -> str:
        found = self.call("GET", f"/organizations/{org_id}/models", params={"filter[name]": name})
        if found:
            return str(found[0]["id"])
        body = {"name": name, "task_type": "classification"}
        return str(self.call("POST", f"/organizations/{org_id}/models", json=body)["id"])


def register_and_deploy(
    facade: Facade, org_id: str, model_name: str, best: Trained, wait_s: float
) -> dict[str, Any]:
    """Register the best run's model, wait until it is Ready, deploy it to staging."""
    model_id = facade.model_id(org_id, model_name)
    versions = f"/organizations/{org_id}/models/{model_id}/versions"
    version = facade.call(
        "POST",
        f"{versions}/from-run",
        json={"run_id": best.run_id, "path": "model", "description": f"C={best.c}"},
    )
    print(f"registered {version['resource_name']} from run {best.run_id} (AUC {best.auc:.3f})")
    deadline = time.monotonic() + wait_s
    while version["state"] != "ready":
        if version["state"] in ("stalled", "missing") or time.monotonic() > deadline:
            raise SystemExit(f"version {version['resource_name']} is {version['state']}")
        time.sleep(1)
        version = facade.call("GET", f"{versions}/{version['id']}")
    deployment: dict[str, Any] = facade.call(
        "POST",
        f"/organizations/{org_id}/deployments",
        json={"version_id": version["id"], "environment": "staging"},
    )
    print(f"deployed: /api/v1/organizations/{org_id}/deployments/{deployment['name']}")
    return deployment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--facade", default="http://127.0.0.1:8000")
    parser.add_argument("--org", required=True, help="the organization's slug")
    parser.add_argument("--model", default="fraud-detector")
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for Ready")
    args = parser.parse_args(argv)
    token = os.environ.get("MODELPLANE_TOKEN")
    if not token:
        print("set MODELPLANE_TOKEN to an access token or API key", file=sys.stderr)
        return 2
    tracking = f"{args.facade.rstrip('/')}/api/v1/organizations/{args.org}/mlflow"
    runs = train_runs(tracking, token, args.model)
    for run in runs:
        print(f"run {run.run_id}: C={run.c} AUC={run.auc:.3f}")
    facade = Facade(args.facade, token)
    register_and_deploy(facade, facade.organization_id(args.org), args.model, runs[0], args.wait)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
