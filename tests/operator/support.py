"""Helpers for running the operator against the real local control plane in tests.

`run_operator` starts it in-process with `kopf.testing.KopfRunner` the way kopf.md prescribes: a
fresh `kopf.OperatorRegistry()`, the entry file by path (`kopf_entry.py` registers the handlers
on that registry), `--standalone` and `-A`, settings through `MODELPLANE_OPERATOR_*` variables.
`OperatorProcess` starts it as a real child process (`python -m modelplane_operator`) for the
tests that kill it. Both clean up the managed webhook configurations they may leave behind.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import kopf
from kopf.testing import KopfRunner

import modelplane_operator
from modelplane_cli.local import services
from modelplane_cli.local.node import KWOK_PLACEMENT
from modelplane_crds.kinds import KINDS
from modelplane_crds.organization import ORG_ROLES, MemberGroups, OrganizationSpec, role_group
from modelplane_operator.builders.organization import build_role_bindings

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(modelplane_operator.__file__).parent / "kopf_entry.py"
CRD_DIR = REPO_ROOT / "manifests" / "base" / "crds"
RBAC_DIR = REPO_ROOT / "manifests" / "base" / "rbac"
OPERATOR_DIR = REPO_ROOT / "manifests" / "base" / "operator"
WEBHOOK_CONFIG = "modelplane.io"
Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_crds(kubectl: Kubectl) -> None:
    """Apply the generated CRDs and wait until they are served."""
    kubectl("apply", "-k", str(CRD_DIR))
    wait_established(kubectl, *(kind.crd_name for kind in KINDS))


def wait_established(kubectl: Kubectl, *crds: str) -> None:
    """Wait until each CRD is Established. Right after a create or an update a CRD's status can
    be momentarily empty, which `kubectl wait` reports as an error (`.status.conditions accessor
    error: <nil>`) instead of waiting: ask again."""
    for crd in crds:
        name = crd.removeprefix("crd/")
        wait_for(functools.partial(_established, kubectl, name), what=f"crd/{name} Established")


def _established(kubectl: Kubectl, crd: str) -> bool:
    wait = kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}", check=False
    )
    return wait.returncode == 0


def bind_role_groups(kubectl: Kubectl, slug: str) -> None:
    """The three aggregated ClusterRoles and, in `mp-<slug>`, the RoleBindings the operator
    makes for the facade's role groups (`modelplane:org:<slug>:<role>`): what impersonated facade
    calls need where a namespace-scoped test operator does not reconcile the Organization."""
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(RBAC_DIR))
    spec = OrganizationSpec(
        display_name=slug,
        slug=slug,
        member_groups=MemberGroups(**{role: [role_group(slug, role)] for role in ORG_ROLES}),
    )
    bindings = build_role_bindings(slug, spec, {"apiVersion": "v1", "kind": "Namespace"})
    for binding in bindings:
        binding["metadata"].pop("ownerReferences", None)
    kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": bindings}),
    )


def service_account_kubeconfig(
    admin: Path,
    target: Path,
    account: str = "modelplane-operator",
    namespace: str = "modelplane-system",
) -> Path:
    """A kubeconfig that authenticates with a fresh token of a ServiceAccount (by default the
    operator's)."""
    return services.token_kubeconfig(admin, target, account, namespace, hours=1)


def facade_kubeconfig(admin: Path, path: Path) -> Path:
    """A kubeconfig at `path` for the facade's own ServiceAccount (manifests/base/api, installed
    here): the one the local platform gives its facade."""
    return services.facade_kubeconfig(admin, path)


def operator_env(kubeconfig: Path, s3: Any | None = None, **overrides: object) -> dict[str, str]:
    """MODELPLANE_OPERATOR_* variables for a test operator."""
    env: dict[str, object] = {
        "kubeconfig": kubeconfig,
        "webhook_mode": "off",
        "webhook_port": free_port(),
        "metrics_port": 0,
        "liveness_endpoint": f"http://127.0.0.1:{free_port()}/healthz",
        "retry_delay_s": 1,
        "retry_max_delay_s": 5,
        "log_format": "plain",
        "platform_namespace": "modelplane-system",
        # Serving pods of these tests run on kwok's simulated nodes (fake artifacts, no image);
        # tests on the real node override both (tests/node/).
        "serving_node_selector": KWOK_PLACEMENT["node_selector"],
        "serving_tolerations": KWOK_PLACEMENT["tolerations"],
    }
    if s3 is not None:
        env |= {
            "s3_endpoint_url": s3.endpoint_url,
            "s3_access_key": s3.access_key,
            "s3_secret_key": s3.secret_key,
            "s3_region": s3.region,
        }
    env |= overrides
    return {
        f"MODELPLANE_OPERATOR_{k.upper()}": v
        if isinstance(v, str)
        else (json.dumps(v) if isinstance(v, list | dict) else str(v))
        for k, v in env.items()
    }


def delete_webhook_configurations(kubectl: Kubectl) -> None:
    """Managed configurations are fail-closed; never leave them behind (kopf.md)."""
    for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        kubectl("delete", kind, WEBHOOK_CONFIG, "--ignore-not-found", "--wait=false", check=False)


@contextlib.contextmanager
def run_operator(
    kubectl: Kubectl,
    env: Mapping[str, str],
    *,
    namespace: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[KopfRunner]:
    """The operator in a thread of this process until the block ends; cluster-wide, or limited
    to one namespace (plus cluster-scoped kinds) so that two test operators never share work."""
    scope = ["-n", namespace] if namespace else ["-A"]
    args = ["run", "--standalone", *scope, *extra_args, str(ENTRY)]
    runner = KopfRunner(args, registry=kopf.OperatorRegistry(), env=dict(env), timeout=60)
    try:
        with runner:
            yield runner
    finally:
        delete_webhook_configurations(kubectl)


def wait_for(
    check: Callable[[], object], timeout: float = 60, interval: float = 0.5, what: str = ""
) -> Any:
    """Call `check` until it returns something truthy; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last={last!r}")


def get_json(kubectl: Kubectl, *args: str) -> Any:
    """`kubectl get … -o json`, or None if not found."""
    result = kubectl("get", *args, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)


def condition(obj: Mapping[str, Any] | None, type_: str) -> Any:
    """A condition of an object by type."""
    for found in ((obj or {}).get("status") or {}).get("conditions") or []:
        if found.get("type") == type_:
            return dict(found)
    return None


class OperatorProcess:
    """The operator as a child process, so it can be SIGKILLed like a crashed pod."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self._env = {**os.environ, **env}
        self._log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again)."""
        handle = self._log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelplane_operator"],
            env=self._env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        handle.close()

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a node dies."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> int | None:
        """SIGTERM and wait: the graceful path."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(timeout=30)
        return self.proc.returncode


class TcpForwarder:
    """A loopback TCP forwarder that can be switched on late: until `start()`, connections to
    its port are refused, as when the S3 server is down."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._server: socket.socket | None = None
        self._threads: list[Any] = []

    def start(self) -> None:
        """Begin accepting and forwarding."""
        import threading

        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        def accept() -> None:
            while True:
                try:
                    client, _ = server.accept()
                except OSError:
                    return
                upstream = socket.create_connection(self._target)
                for a, b in ((client, upstream), (upstream, client)):
                    thread = threading.Thread(target=pump, args=(a, b), daemon=True)
                    thread.start()

        threading.Thread(target=accept, daemon=True).start()

    def stop(self) -> None:
        """Stop accepting."""
        if self._server is not None:
            self._server.close()
            self._server = None


def table_cell(table: str, column: str, row: int = 0) -> str:
    """One cell of kubectl's aligned table output (empty cells stay empty, unlike a split)."""
    header, *rows = table.splitlines()
    start = header.index(column)
    rest = header[start + len(column) :]
    end = start + len(column) + (len(rest) - len(rest.lstrip())) if rest.strip() else None
    return rows[row][start:end].strip()
