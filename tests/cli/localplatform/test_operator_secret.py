"""`dev install`'s operator Secret: the run's S3 keys, and the MinIO user that mints the drift
jobs' own credentials when the run has one (older runs' state has none)."""

from __future__ import annotations

from modelplane_cli.local.install import api_secret, operator_mlflow_secret, operator_secret

ENDPOINTS = {"s3-access-key": "root", "s3-secret-key": "root-secret"}


def test_the_operator_pod_mints_drift_credentials_as_the_runs_minio_user() -> None:
    data = operator_secret(
        {**ENDPOINTS, "s3-drift-access-key": "modelplane-drift", "s3-drift-secret-key": "d"}
    )["stringData"]
    assert data["MODELPLANE_OPERATOR_MONITOR_STS_ACCESS_KEY"] == "modelplane-drift"
    assert data["MODELPLANE_OPERATOR_MONITOR_STS_SECRET_KEY"] == "d"
    assert data["MODELPLANE_OPERATOR_S3_ACCESS_KEY"] == "root"


def test_without_a_minio_user_drift_jobs_keep_the_orgs_secret() -> None:
    data = operator_secret(ENDPOINTS)["stringData"]
    assert not any("MONITOR_STS" in key for key in data)


def test_the_runs_mlflow_tokens_reach_the_facade_and_the_operator() -> None:
    endpoints = {
        **ENDPOINTS,
        "postgres": "postgresql://postgres@127.0.0.1:5432/postgres",
        "mlflow-token": "service",
        "mlflow-reader-token": "reader",
    }
    assert api_secret(endpoints, "[]")["stringData"]["mlflow-token"] == "service"
    secret = operator_mlflow_secret(endpoints)
    assert secret is not None
    assert secret["metadata"]["name"] == "modelplane-operator-mlflow"
    assert secret["stringData"] == {
        "MODELPLANE_OPERATOR_MLFLOW_TOKEN": "service",
        "MODELPLANE_OPERATOR_RUNTIME_MLFLOW_TOKEN": "reader",
    }
    # A run that recorded no tokens (older state) gets neither.
    assert operator_mlflow_secret(ENDPOINTS) is None
    assert "mlflow-token" not in api_secret({**endpoints, "mlflow-token": ""}, "[]")["stringData"]
