"""The platform's real services on loopback: PostgreSQL, Redis, MinIO (S3) and MLflow.

Each `start_*` function launches one server under the run's Supervisor on a free port, waits until
it answers, and returns a small description of how to reach it. Nothing here is a stand-in: they
are the same servers a production install talks to.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelplane_cli.local.binaries import MINIO, MINIO_ADMIN
from modelplane_cli.local.controlplane import run_kubectl, wait_established
from modelplane_cli.local.processes import (
    PlatformError,
    Supervisor,
    free_port,
    http_ok,
    wait_until,
)
from modelplane_cli.mlflow_guard import READER_TOKEN_ENV, TOKEN_ENV
from modelplane_crds.kinds import KINDS

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server; `create_database` gives each user its own database."""

    host: str
    port: int
    user: str

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create (or recreate empty) a database and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@dataclass(frozen=True)
class Redis:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass(frozen=True)
class S3Endpoint:
    """How to reach the S3 server, and optionally one bucket on it."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    bucket: str = ""
    drift_access_key: str = ""
    drift_secret_key: str = ""
    """A plain MinIO user (`DRIFT_USER`) the operator mints each drift job's credentials as."""

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint (path-style addressing, as MinIO expects)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}
            ),
        )

    def with_bucket(self, name: str) -> S3Endpoint:
        """Create the bucket if missing and return an endpoint bound to it."""
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if name not in existing:
            client.create_bucket(Bucket=name)
        return replace(self, bucket=name)

    def env(self) -> dict[str, str]:
        """The AWS-style environment variables that point SDKs and MLflow at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint_url,
        }


@dataclass(frozen=True)
class MLflow:
    """A running MLflow server and the bearer tokens it accepts (`modelplane_cli.mlflow_guard`):
    `token` for the facade and the operator, `reader_token` for serving pods' `models:/`
    downloads."""

    url: str
    token: str = field(repr=False)
    reader_token: str = field(default="", repr=False)

    def headers(self) -> dict[str, str]:
        """The service token as a request header."""
        return {"Authorization": f"Bearer {self.token}"}


def _postgres_bin(name: str) -> str:
    for folder in POSTGRES_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise PlatformError(
            "PostgreSQL server binaries not found: run `make setup` "
            "(installs Debian's postgresql package)"
        )
    return found


def start_postgres(sup: Supervisor) -> Postgres:
    """initdb a fresh cluster in a scratch directory and start it on a free loopback port."""
    # PostgreSQL refuses to run as root; run it as the `postgres` system account.
    account = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    uid, gid = (account.pw_uid, account.pw_gid) if account else (None, None)
    user = "postgres" if account else pwd.getpwuid(os.geteuid()).pw_name
    data = sup.scratch_dir("postgres") / "data"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True)
        if uid is not None and gid is not None:
            os.chown(data, uid, gid)
        log = sup.start(
            "initdb",
            [
                _postgres_bin("initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            uid=uid,
            gid=gid,
        )
        wait_until(lambda: not sup.alive("initdb"), timeout=120, what="initdb", log=log)
        sup.forget("initdb")
        if not (data / "PG_VERSION").exists():
            raise PlatformError(f"initdb failed\n{log.read_text()[-2000:]}")
    port = free_port()
    log = sup.start(
        "postgres",
        [
            _postgres_bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=128MB",
        ],
        uid=uid,
        gid=gid,
    )
    server = Postgres("127.0.0.1", port, user)

    def accepts() -> bool:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, user=user, dbname="postgres", connect_timeout=2
        ):
            return True

    wait_until(accepts, timeout=60, what="PostgreSQL", log=log, alive=lambda: sup.alive("postgres"))
    sup.set_endpoint("postgres", server.admin_url)
    return server


def start_redis(sup: Supervisor) -> Redis:
    """Start redis-server on a free loopback port with persistence off."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise PlatformError(
            "redis-server not found: run `make setup` (installs Debian's redis-server package)"
        )
    port = free_port()
    data = sup.run_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    log = sup.start(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
            "--protected-mode",
            "yes",
        ],
    )
    server = Redis(port)

    def pong() -> bool:
        import redis

        return bool(redis.Redis(port=port, socket_timeout=1).ping())

    wait_until(pong, timeout=30, what="Redis", log=log, alive=lambda: sup.alive("redis"))
    sup.set_endpoint("redis", server.url)
    return server


def start_minio(sup: Supervisor) -> S3Endpoint:
    """Start MinIO (built from its Go module) as the S3 server."""
    if not MINIO.is_built():
        raise PlatformError("MinIO is not built yet: run `modelplane dev build`")
    port, console = free_port(), free_port()
    data = sup.run_dir / "minio"
    data.mkdir(parents=True, exist_ok=True)
    access, secret = "modelplane", "modelplane-local-" + os.urandom(8).hex()
    log = sup.start(
        "minio",
        [
            str(MINIO.path("minio")),
            "server",
            str(data),
            "--address",
            f"127.0.0.1:{port}",
            "--console-address",
            f"127.0.0.1:{console}",
            "--quiet",
        ],
        env={
            "MINIO_ROOT_USER": access,
            "MINIO_ROOT_PASSWORD": secret,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_CI_CD": "1",
        },
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{url}/minio/health/live"),
        timeout=60,
        what="MinIO",
        log=log,
        alive=lambda: sup.alive("minio"),
    )
    sup.set_endpoint("s3", url)
    drift_secret = "modelplane-drift-" + os.urandom(12).hex()
    create_minio_user(url, (access, secret), DRIFT_USER, drift_secret, DRIFT_USER_POLICY)
    return S3Endpoint(
        url, access, secret, drift_access_key=DRIFT_USER, drift_secret_key=drift_secret
    )


DRIFT_USER = "modelplane-drift"
DRIFT_USER_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": ["arn:aws:s3:::*/*/drift-history/*", "arn:aws:s3:::*/*/drift-profiles/*"],
        },
    ],
}
"""The most any drift job may do (each job's credentials are this narrowed by the operator's
session policy to its own prefixes): read, and write drift results only."""


def create_minio_user(
    url: str, root: tuple[str, str], user: str, secret: str, policy: Mapping[str, Any]
) -> None:
    """Create (or reset) a MinIO user with a policy of its own name, through the admin API
    (cli/go/minio-admin); secrets travel in the environment, never on a command line."""
    result = subprocess.run(
        [str(MINIO_ADMIN.path("minio-admin")), url, user, user],
        input=json.dumps(policy),
        env={
            **os.environ,
            "MINIO_ROOT_USER": root[0],
            "MINIO_ROOT_PASSWORD": root[1],
            "MINIO_USER_SECRET": secret,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise PlatformError(f"creating MinIO user {user} failed: {result.stderr.strip()}")


MLFLOW_ALLOWED_HOSTS = (
    # MLflow's default (loopback and private addresses, any port; pods reach it at the node's
    # bridge address) …
    *("localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*"),
    *("10.*", "172.16.*", "172.17.*", "172.18.*", "172.19.*", "172.2?.*", "172.30.*"),
    *("172.31.*", "192.168.*"),
    # … and its in-cluster name in manifests/overlays/dev (`modelplane dev install`), which
    # MLflow's DNS-rebinding check refuses otherwise (403 Invalid Host header).
    "mlflow.modelplane-system.svc:5000",
)


def start_mlflow(sup: Supervisor, postgres: Postgres, s3: S3Endpoint) -> MLflow:
    """Start an MLflow tracking server: PostgreSQL backend store, artifacts proxied to S3, every
    call but its probes refused without one of the run's two tokens (made here, per run)."""
    token, reader_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    backend = postgres.create_database("mlflow")
    artifacts = s3.with_bucket("mlflow")
    port = free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = sup.start(
        "mlflow",
        [
            str(mlflow_bin),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            f"s3://{artifacts.bucket}/artifacts",
            # One workspace per organization, chosen by the facade (shared/notes/mlflow.md).
            "--enable-workspaces",
            "--allowed-hosts",
            ",".join(MLFLOW_ALLOWED_HOSTS),
            # Only the facade, the operator and serving pods hold a token (issue 13).
            "--app-name",
            "modelplane",
        ],
        env={
            **s3.env(),
            TOKEN_ENV: token,
            READER_TOKEN_ENV: reader_token,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
        },
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{url}/health"),
        timeout=120,
        what="MLflow",
        log=log,
        alive=lambda: sup.alive("mlflow"),
    )
    sup.set_endpoint("mlflow", url)
    return MLflow(url, token, reader_token)


@dataclass(frozen=True)
class FacadeApi:
    """A running facade API and, on its first start only, the first admin's credentials."""

    url: str
    admin_email: str | None = None
    admin_password: str | None = None


ARTIFACT_BUCKET = "models"
"""The bucket the facade stores uploads in (each organization under `mp-<slug>/`)."""
PAYLOAD_BUCKET = "payload-logs"
"""The bucket serving pods log payloads to (deployments without `payloadLogging.uri`), where
drift jobs and the facade's payload-log and feedback endpoints read them."""


def start_api(
    sup: Supervisor,
    postgres: Postgres,
    redis: Redis,
    s3: S3Endpoint,
    mlflow: MLflow,
    kubeconfig: Path | None,
    extra_env: Mapping[str, str] | None = None,
) -> FacadeApi:
    """Migrate the facade's database, create the first admin once, and serve the API, storing
    uploads in the platform's MinIO. In the cluster it is its own ServiceAccount
    (`facade_kubeconfig`), as in an installed platform, never the control plane's admin."""
    from modelplane_api.bootstrap import bootstrap
    from modelplane_api.security import generate_jwt_key

    database_url = postgres.create_database("modelplane")
    creds = bootstrap(database_url)
    key_file = sup.run_dir / "api-jwt-keys.json"
    if not key_file.exists():
        key_file.write_text(f"[{generate_jwt_key('local-1')}]")
        key_file.chmod(0o600)
    port = free_port()
    env = {
        "MODELPLANE_API_DATABASE_URL": database_url,
        "MODELPLANE_API_REDIS_URL": redis.url,
        "MODELPLANE_API_JWT_KEYS": key_file.read_text(),
        "MODELPLANE_API_KUBERNETES_ENABLED": "true" if kubeconfig else "false",
        "MODELPLANE_API_S3_ENDPOINT_URL": s3.endpoint_url,
        "MODELPLANE_API_S3_ACCESS_KEY_ID": s3.access_key,
        "MODELPLANE_API_S3_SECRET_ACCESS_KEY": s3.secret_key,
        "MODELPLANE_API_S3_REGION": s3.region,
        "MODELPLANE_API_ARTIFACT_BUCKET": s3.with_bucket(ARTIFACT_BUCKET).bucket,
        "MODELPLANE_API_PAYLOAD_BUCKET": s3.with_bucket(PAYLOAD_BUCKET).bucket,
        "MODELPLANE_API_MLFLOW_TRACKING_URI": mlflow.url,
        "MODELPLANE_API_MLFLOW_TOKEN": mlflow.token,
        # Served at `/` once built (`make dashboard`); ignored until then.
        "MODELPLANE_API_DASHBOARD_DIR": str(DASHBOARD_DIR),
        **(extra_env or {}),
    }
    if kubeconfig is not None:
        facade = facade_kubeconfig(kubeconfig, sup.run_dir / "api.kubeconfig")
        env["MODELPLANE_API_KUBECONFIG"] = str(facade)
    log = sup.start(
        "api",
        [
            sys.executable,
            "-m",
            "modelplane_api",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{url}/ready"),
        timeout=60,
        what="facade API",
        log=log,
        alive=lambda: sup.alive("api"),
    )
    sup.set_endpoint("api", url)
    if creds is None:
        return FacadeApi(url)
    return FacadeApi(url, creds.email, creds.password)


REPO_ROOT = Path(__file__).resolve().parents[4]
DASHBOARD_DIR = REPO_ROOT / "frontend" / "out"
"""The dashboard's static export (`next build` in frontend/), which the facade serves at `/`."""


@dataclass(frozen=True)
class Operator:
    """A running operator (with its admission webhooks registered) and its endpoints."""

    metrics_url: str
    liveness_url: str


def install_platform_resources(kubeconfig: Path) -> None:
    """CRDs, the aggregated ClusterRoles and the platform namespace: what the operator needs."""
    base = REPO_ROOT / "manifests" / "base"
    apply = ("apply", "--server-side", "--force-conflicts")
    run_kubectl(kubeconfig, *apply, "-k", str(base / "crds"))
    wait_established(kubeconfig, *(f"crd/{kind.crd_name}" for kind in KINDS))
    run_kubectl(kubeconfig, *apply, "-k", str(base / "rbac"))
    run_kubectl(kubeconfig, *apply, "-f", str(base / "operator" / "namespace.yaml"))


PLATFORM_NAMESPACE = "modelplane-system"
FACADE_NAMESPACE, FACADE_SERVICE_ACCOUNT = PLATFORM_NAMESPACE, "modelplane-api"
TOKEN_HOURS = 24 * 365
"""A local platform lives for hours or days; a token must outlast it (no refresh here)."""


def facade_kubeconfig(admin: Path, path: Path) -> Path:
    """A kubeconfig at `path` for the facade's own ServiceAccount (manifests/base/api), so the
    facade has exactly the rights, and the impersonation limits, an installed one has."""
    return service_account_kubeconfig(admin, path, "api", FACADE_SERVICE_ACCOUNT)


def service_account_kubeconfig(admin: Path, path: Path, base: str, account: str) -> Path:
    """A kubeconfig at `path` for ServiceAccount `account` of the platform namespace, installed
    here from `manifests/base/<base>` with the namespace: a bearer token of it, no client
    certificate."""
    manifests = REPO_ROOT / "manifests" / "base"
    apply = ("apply", "--server-side", "--force-conflicts")
    run_kubectl(admin, *apply, "-f", str(manifests / "operator" / "namespace.yaml"))
    run_kubectl(admin, *apply, "-k", str(manifests / base))
    return token_kubeconfig(admin, path, account, PLATFORM_NAMESPACE, TOKEN_HOURS)


def token_kubeconfig(admin: Path, path: Path, account: str, namespace: str, hours: int) -> Path:
    """A kubeconfig at `path` that authenticates as ServiceAccount `namespace/account` with a
    fresh bearer token valid for `hours` (the cluster taken from the admin kubeconfig)."""
    import yaml

    token = run_kubectl(
        admin, "create", "token", account, "-n", namespace, f"--duration={hours}h"
    ).strip()
    clusters = yaml.safe_load(admin.read_text())["clusters"]
    context = {"cluster": clusters[0]["name"], "user": account}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": clusters,
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": context}],
        "current-context": account,
    }
    path.touch(mode=0o600)
    path.chmod(0o600)  # a bearer token: the owner's only
    path.write_text(yaml.safe_dump(config))
    return path


def start_operator(
    sup: Supervisor,
    kubeconfig: Path,
    s3: S3Endpoint,
    mlflow: MLflow,
    serving: Mapping[str, str] | None = None,
) -> Operator:
    """Run the operator against the local control plane, webhooks served on loopback.

    `serving` adds `MODELPLANE_OPERATOR_*` variables for serving pods on the real node (image,
    where pods reach S3 and MLflow, placement)."""
    install_platform_resources(kubeconfig)
    metrics, liveness, webhook = free_port(), free_port(), free_port()
    liveness_url = f"http://127.0.0.1:{liveness}/healthz"
    env = {
        "MODELPLANE_OPERATOR_KUBECONFIG": str(kubeconfig),
        "MODELPLANE_OPERATOR_S3_ENDPOINT_URL": s3.endpoint_url,
        "MODELPLANE_OPERATOR_S3_ACCESS_KEY": s3.access_key,
        "MODELPLANE_OPERATOR_S3_SECRET_KEY": s3.secret_key,
        "MODELPLANE_OPERATOR_MLFLOW_TRACKING_URI": mlflow.url,
        "MODELPLANE_OPERATOR_MLFLOW_TOKEN": mlflow.token,
        "MODELPLANE_OPERATOR_PAYLOAD_BUCKET": s3.with_bucket(PAYLOAD_BUCKET).bucket,
        "MODELPLANE_OPERATOR_WEBHOOK_PORT": str(webhook),
        "MODELPLANE_OPERATOR_WEBHOOK_CERT_DIR": str(sup.run_dir / "operator-webhook"),
        "MODELPLANE_OPERATOR_METRICS_PORT": str(metrics),
        "MODELPLANE_OPERATOR_LIVENESS_ENDPOINT": liveness_url,
        # Look at each ModelDeployment every 2 s (10 s in a cluster): quick feedback locally.
        "MODELPLANE_OPERATOR_ROLLOUT_INTERVAL_S": "2",
        **(serving or {}),
    }
    if s3.drift_access_key:  # each drift job's own credentials, minted as the plain user
        env["MODELPLANE_OPERATOR_MONITOR_STS_ACCESS_KEY"] = s3.drift_access_key
        env["MODELPLANE_OPERATOR_MONITOR_STS_SECRET_KEY"] = s3.drift_secret_key
    log = sup.start("operator", [sys.executable, "-m", "modelplane_operator"], env=env)
    wait_until(
        lambda: http_ok(liveness_url),
        timeout=90,
        what="operator",
        log=log,
        alive=lambda: sup.alive("operator"),
    )
    sup.set_endpoint("operator-metrics", f"http://127.0.0.1:{metrics}/metrics")
    return Operator(f"http://127.0.0.1:{metrics}/metrics", liveness_url)
