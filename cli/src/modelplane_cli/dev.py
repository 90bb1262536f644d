"""`modelplane dev …`: the whole local platform on this machine, for developers and `make demo`.

`up` starts everything detached in `.run/dev` (it keeps running after the command returns) and
prints how to reach it; `status` reads the run's state file; `down` stops it. A second `up` while
the platform runs only reports where everything is.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from modelplane_cli.local import node
from modelplane_cli.local.binaries import ALL_BUILDS, KUBE, ensure_built
from modelplane_cli.local.platform import LocalPlatform
from modelplane_cli.local.processes import PlatformError, RunState, group_rss_mib, pid_alive
from modelplane_cli.local.services import DASHBOARD_DIR

app = typer.Typer(
    help="Bring the local platform (real Kubernetes control plane with a real node and kwok "
    "nodes, PostgreSQL, Redis, MinIO, MLflow, Prometheus) up or down on this machine.",
    no_args_is_help=True,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def runs_root() -> Path:
    """Where run directories live; `MODELPLANE_RUN_DIR` overrides `<repo>/.run`."""
    return Path(os.environ.get("MODELPLANE_RUN_DIR", REPO_ROOT / ".run"))


def _say(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


def _dev_dir() -> Path:
    return runs_root() / "dev"


def _running_state() -> RunState | None:
    state = RunState.load(_dev_dir() / "state.json")
    if state is None or not state.processes:
        return None
    return state if any(pid_alive(p.pid) for p in state.processes) else None


@app.command()
def build() -> None:
    """Build (once) and cache the Go binaries: etcd, Kubernetes (control plane, kubectl,
    kubelet, kube-proxy), kwok, MinIO, containerd and the pause program."""
    try:
        ensure_built(ALL_BUILDS, _say)
    except PlatformError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(1) from exc
    _say("all binaries are built and cached")


@app.command()
def up(nodes: Annotated[int, typer.Option(help="Number of simulated (kwok) nodes.")] = 3) -> None:
    """Start the whole local platform in the background and print where everything is."""
    if _running_state() is not None:
        _say("the local platform is already running")
        _print_endpoints(RunState.load(_dev_dir() / "state.json"))
        return
    shutil.rmtree(_dev_dir(), ignore_errors=True)
    began = time.monotonic()
    platform = LocalPlatform(
        _dev_dir(), owner_pid=None, nodes=nodes, progress=_say, api_on_bridge=True
    )
    if platform.node_problem is not None:
        _say(f"no real node: {platform.node_problem}; serving pods will not run")
    try:
        platform.start_all()
    except PlatformError as exc:
        _say(f"error: {exc}")
        _say("stopping what was started …")
        platform.stop()
        raise typer.Exit(1) from exc
    api = platform.ensure_api()
    s3 = platform.ensure_s3()
    platform.supervisor.set_endpoint("s3-access-key", s3.access_key)
    platform.supervisor.set_endpoint("s3-secret-key", s3.secret_key)
    platform.supervisor.set_endpoint("s3-drift-access-key", s3.drift_access_key)
    platform.supervisor.set_endpoint("s3-drift-secret-key", s3.drift_secret_key)
    mlflow = platform.ensure_mlflow()  # its tokens, for `dev install`'s Secrets
    platform.supervisor.set_endpoint("mlflow-token", mlflow.token)
    platform.supervisor.set_endpoint("mlflow-reader-token", mlflow.reader_token)
    (_dev_dir() / "timings.json").write_text(json.dumps(platform.timings, indent=2))
    _say(f"local platform up in {time.monotonic() - began:.1f} s")
    _print_endpoints(platform.supervisor.state)
    if api.admin_password:
        print(
            f"\nFirst admin of the facade API (shown once): {api.admin_email} / "
            f"{api.admin_password}"
        )


def env_lines(endpoints: dict[str, str]) -> list[str]:
    """The lines of `env.sh`. MLflow is reached through the facade (one organization per
    tracking URI, with a token): `MLFLOW_TRACKING_URI` is left for the user to set to their
    organization's, and the server's own address and token are exported only as
    `MODELPLANE_MLFLOW_DIRECT` / `_DIRECT_TOKEN` for platform tooling (a component run by hand),
    which no mlflow client reads."""
    ep = endpoints
    api = ep.get("api", "")
    return [
        # kubectl of the server's own version (built with the control plane) comes first
        f'export PATH={KUBE.path("kubectl").parent}:"$PATH"',
        f"export KUBECONFIG={ep.get('kubeconfig', '')}",
        f"export MODELPLANE_DATABASE_URL={ep.get('postgres', '')}",
        f"export MODELPLANE_REDIS_URL={ep.get('redis', '')}",
        f"export AWS_ENDPOINT_URL_S3={ep.get('s3', '')}",
        f"export AWS_ACCESS_KEY_ID={ep.get('s3-access-key', '')}",
        f"export AWS_SECRET_ACCESS_KEY={ep.get('s3-secret-key', '')}",
        f"export MODELPLANE_API_URL={api}",
        f"export PROMETHEUS_URL={ep.get('prometheus', '')}",
        "# MLflow through the facade, one organization at a time (docs/experiments.md):",
        f"#   export MLFLOW_TRACKING_URI={api}/api/v1/organizations/<slug>/mlflow",
        "#   export MLFLOW_TRACKING_TOKEN=<access token or API key of that organization>",
        "# The MLflow server itself and its service token, for platform tooling only: they",
        "# bypass the facade's organizations, roles and audit (docs/operations.md, MLflow).",
        f"export MODELPLANE_MLFLOW_DIRECT={ep.get('mlflow', '')}",
        f"export MODELPLANE_MLFLOW_DIRECT_TOKEN={ep.get('mlflow-token', '')}",
    ]


def _print_endpoints(state: RunState | None) -> None:
    if state is None:
        return
    ep = state.endpoints
    lines = env_lines(ep)
    env_file = _dev_dir() / "env.sh"
    env_file.touch(mode=0o600)
    env_file.chmod(0o600)  # keys and tokens: the owner's only
    env_file.write_text("\n".join(lines) + "\n")
    print("\nModelplane local platform")
    print(f"  Kubernetes API  {ep.get('kube-apiserver', '-')}   (kubectl get nodes)")
    print(f"  PostgreSQL      {ep.get('postgres', '-')}")
    print(f"  Redis           {ep.get('redis', '-')}")
    print(f"  S3 (MinIO)      {ep.get('s3', '-')}")
    print(
        f"  MLflow          {ep.get('api', '-')}/api/v1/organizations/<slug>/mlflow   "
        f"(through the facade; the server itself: {ep.get('mlflow', '-')}, platform only, "
        "with its token)"
    )
    print(f"  Prometheus      {ep.get('prometheus', '-')}   (serving pods, facade, operator)")
    print(f"  Facade API      {ep.get('api', '-')}/api/v1   (OpenAPI: {ep.get('api', '-')}/docs)")
    dashboard = (
        f"{ep.get('api', '-')}/"
        if (DASHBOARD_DIR / "index.html").is_file()
        else "not built (make dashboard, or make demo)"
    )
    print(f"  Dashboard       {dashboard}")
    print(f"  logs            {_dev_dir() / 'logs'}")
    print("\nUse it from this shell:")
    print(f"  source {env_file}")
    for line in lines:
        name, _, value = line.partition("=")
        secret = name.endswith("_TOKEN") and value
        print(f"  {name}=… (in {env_file.name})" if secret else f"  {line}")
    print("\nStop it with: make down   (or: modelplane dev down)")


@app.command()
def install(
    timeout: Annotated[
        int, typer.Option(help="Seconds to wait for each Deployment to become available.")
    ] = 300,
) -> None:
    """Install manifests/overlays/dev on the running platform: the operator and the facade as
    pods on the real node (images built and loaded, Secrets and EndpointSlices from this run);
    the host's operator process stops, the pod takes over."""
    from modelplane_cli.local.install import install as install_overlay

    if _running_state() is None:
        _say("the local platform is not running: start it with `modelplane dev up`")
        raise typer.Exit(1)
    try:
        done = install_overlay(_dev_dir(), _say, timeout=timeout)
    except PlatformError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(1) from exc
    times = ", ".join(f"{k} {v:.1f} s" for k, v in done.seconds.items())
    (_dev_dir() / "install-timings.json").write_text(json.dumps(done.seconds, indent=2))
    _say(f"installed ({times})")
    print("\nModelplane in the cluster (namespace modelplane-system)")
    for name, ref in sorted(done.images.items()):
        print(f"  image {name:<16} {ref}")
    print(f"  Facade API      {done.facade_url}/api/v1   (Service modelplane-api, from this host)")
    print("  or: kubectl -n modelplane-system port-forward svc/modelplane-api 8080:80")
    print("  pods:  kubectl -n modelplane-system get pods -o wide")
    print("  demo against the pods:  modelplane demo --in-cluster")


@app.command()
def status() -> None:
    """Show which processes of the local platform run, and where to reach them."""
    state = RunState.load(_dev_dir() / "state.json")
    if state is None or not state.processes:
        print("the local platform is not running (start it with: make demo)")
        raise typer.Exit(1)
    width = max(len(p.name) for p in state.processes)
    for record in state.processes:
        alive = pid_alive(record.pid)
        mark = f"running  {group_rss_mib(record.pid):7.0f} MiB" if alive else "STOPPED"
        print(f"  {record.name:<{width}}  pid {record.pid:<7} {mark}   log: {record.log}")
    _print_endpoints(state)
    if not all(pid_alive(p.pid) for p in state.processes):
        raise typer.Exit(1)


@app.command()
def down() -> None:
    """Stop every process of the local platform, undo what its real node changed on the host
    (and check that nothing is left), and remove its run directory."""
    state = RunState.load(_dev_dir() / "state.json")
    claim = node.Claim.load()
    ours = claim is not None and Path(claim.run_dir) == _dev_dir().resolve()
    if (state is None or not state.processes) and not ours:
        print("the local platform is not running")
        return
    platform = LocalPlatform(_dev_dir(), owner_pid=None)
    platform.stop()
    shutil.rmtree(_dev_dir(), ignore_errors=True)
    left = node.host_leftovers() if ours else []
    if left:
        print("the local platform is stopped, but the real node left behind:", *left, sep="\n  ")
        raise typer.Exit(1)
    print("the local platform is stopped" + (" (the real node left nothing behind)" * ours))
