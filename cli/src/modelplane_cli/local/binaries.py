"""The Go-built binaries of the local platform: pinned versions, built once, cached by version.

Nothing can be downloaded from release pages here, so etcd, Kubernetes (control plane, kubectl,
kubelet, kube-proxy), kwok, MinIO, containerd, CoreDNS, Prometheus, our pause program and the
GitOps tools' health evaluators (Argo CD's, kstatus) are compiled from their Go modules through
the module proxy. The first build takes a long time on two cores (see docs/development.md for
measured numbers); results are cached under `~/.cache/modelplane/bin/<name>-<version>/` next to
a stamp of the sources that built them, so a later run (or another work tree) reuses them and
rebuilds only when the pinned sources change.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelplane_cli.local.processes import PlatformError

GO_DIR = Path(__file__).resolve().parents[3] / "go"
KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
KWOK_VERSION = "v0.8.0"
CONTAINERD_VERSION = "v2.4.2"
COREDNS_VERSION = "v1.15.0"
PROMETHEUS_VERSION = "v0.316.0"
"""Prometheus 3.16.0: its Go module tags releases as v0.<major><minor>.<patch>."""
# MinIO publishes no semver tags to the module proxy; this pseudo-version is its last commit there.
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
MADMIN_VERSION = "v3.0.109"
"""github.com/minio/madmin-go/v3, as MINIO_VERSION's go.mod requires it (cli/go/minio-admin)."""
ARGO_CD_VERSION = "v3.2.12"
"""The last Argo CD release whose gitops-engine is a published module (cli/go/argocd-health)."""
CLI_UTILS_VERSION = "v0.37.2"

Progress = Callable[[str], None]


def cache_root() -> Path:
    """Where built binaries live (outside the work tree); `MODELPLANE_CACHE` overrides it."""
    return Path(os.environ.get("MODELPLANE_CACHE", Path.home() / ".cache" / "modelplane"))


@dataclass(frozen=True)
class GoBuild:
    """One `go build` / `go install` producing one or more binaries into a cache folder."""

    name: str
    version: str
    binaries: tuple[str, ...]
    module_dir: Path | None  # our wrapper module, or None for `go install pkg@version`
    packages: tuple[str, ...]
    ldflags: str = "-s -w"
    expected_minutes: int = 5
    tags: str = ""

    @property
    def folder(self) -> Path:
        return cache_root() / "bin" / f"{self.name}-{self.version}"

    def stamp(self) -> str:
        """A digest of everything that decides the build's output."""
        digest = hashlib.sha256(
            f"{self.version} {self.packages} {self.ldflags} {self.tags}".encode()
        )
        if self.module_dir is not None:
            for path in sorted(self.module_dir.rglob("*")):
                if path.is_file() and path.suffix in {".go", ".mod", ".sum"}:
                    digest.update(path.relative_to(self.module_dir).as_posix().encode())
                    digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def path(self, binary: str) -> Path:
        return self.folder / binary

    def is_built(self) -> bool:
        stamp = self.folder / ".stamp"
        return (
            stamp.exists()
            and stamp.read_text().strip() == self.stamp()
            and all(os.access(self.path(b), os.X_OK) for b in self.binaries)
        )

    def build(self, progress: Progress) -> float:
        """Build into the cache (atomically: a half-finished build never looks finished)."""
        if shutil.which("go") is None:
            raise PlatformError(
                "the Go toolchain is not installed (needed to build "
                f"{self.name}); see docs/development.md"
            )
        staging = self.folder.with_name(self.folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"}
        flags = [
            "-v",
            "-trimpath",
            "-ldflags",
            self.ldflags,
            *(["-tags", self.tags] * bool(self.tags)),
        ]
        if self.module_dir is not None:
            argv = ["go", "build", *flags, "-o", f"{staging}/", *self.packages]
            cwd: Path | None = self.module_dir
        else:
            env["GOBIN"] = str(staging)
            argv = ["go", "install", *flags, *self.packages]
            cwd = None
        progress(
            f"building {self.name} {self.version} from Go modules, cached afterwards "
            f"(cold: up to ~{self.expected_minutes} min on 2 cores; less with a warm Go cache) …"
        )
        started = time.monotonic()
        _run_with_heartbeat(argv, cwd, env, progress, self.name, started)
        stamp = self.stamp()
        (staging / ".stamp").write_text(stamp + "\n")
        shutil.rmtree(self.folder, ignore_errors=True)
        staging.rename(self.folder)
        elapsed = time.monotonic() - started
        progress(f"built {self.name} in {elapsed / 60:.1f} min → {self.folder}")
        return elapsed


def _run_with_heartbeat(
    argv: list[str],
    cwd: Path | None,
    env: dict[str, str],
    progress: Progress,
    name: str,
    started: float,
) -> None:
    """Run a go build, reporting every 30 s how many packages it has compiled so far."""
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(30):
            last = lines[-1] if lines else "downloading modules"
            progress(
                f"  … {name}: {len(lines)} packages compiled, "
                f"{(time.monotonic() - started) / 60:.1f} min so far (now: {last})"
            )

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
    code = proc.wait()
    done.set()
    if code != 0:
        raise PlatformError(f"building {name} failed (exit {code}):\n" + "\n".join(lines[-40:]))


def _kube_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    base = "k8s.io/component-base/version"
    return " ".join(
        [
            "-s -w",
            f"-X {base}.gitVersion={KUBERNETES_VERSION}",
            f"-X {base}.gitMajor={major}",
            f"-X {base}.gitMinor={minor}",
            f"-X {base}.gitTreeState=clean",
            f"-X k8s.io/client-go/pkg/version.gitVersion={KUBERNETES_VERSION}",
        ]
    )


KUBE = GoBuild(
    "kube",
    KUBERNETES_VERSION,
    (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "kubelet",
        "kube-proxy",
    ),
    GO_DIR / "kube",
    ("./cmd/...",),
    _kube_ldflags(),
    expected_minutes=30,
)
ETCD = GoBuild(
    "etcd", ETCD_VERSION, ("etcd",), GO_DIR / "etcd", ("./cmd/etcd",), expected_minutes=3
)
KWOK = GoBuild(
    "kwok",
    KWOK_VERSION,
    ("kwok",),
    None,
    (f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",),
    expected_minutes=4,
)
MINIO = GoBuild(
    "minio",
    MINIO_VERSION,
    ("minio",),
    None,
    (f"github.com/minio/minio@{MINIO_VERSION}",),
    expected_minutes=8,
)

# The real node's container runtime. containerd 2 (not Debian's 1.6) reports its cgroup driver
# to the kubelet, which Kubernetes 1.38 requires; btrfs needs cgo, and no node here uses it.
CONTAINERD = GoBuild(
    "containerd",
    CONTAINERD_VERSION,
    ("containerd", "containerd-shim-runc-v2", "ctr"),
    None,
    tuple(
        f"github.com/containerd/containerd/v2/cmd/{binary}@{CONTAINERD_VERSION}"
        for binary in ("containerd", "containerd-shim-runc-v2", "ctr")
    ),
    tags="no_btrfs",
    expected_minutes=4,
)
# MinIO's admin client (madmin-go, the version MinIO itself requires): the plain user the operator
# mints the drift jobs' narrowed STS credentials as (its policy bounds them; root's would not).
MINIO_ADMIN = GoBuild(
    "minio-admin", MADMIN_VERSION, ("minio-admin",), GO_DIR / "minio-admin", (".",),
    expected_minutes=1,
)  # fmt: skip
PAUSE = GoBuild("pause", "1", ("pause",), GO_DIR / "pause", (".",), expected_minutes=1)
COREDNS = GoBuild(
    "coredns", COREDNS_VERSION, ("coredns",), GO_DIR / "coredns", (".",), expected_minutes=5
)

PROMETHEUS = GoBuild(
    "prometheus",
    PROMETHEUS_VERSION,
    ("prometheus", "promtool"),
    GO_DIR / "prometheus",
    (
        "github.com/prometheus/prometheus/cmd/prometheus",
        "github.com/prometheus/prometheus/cmd/promtool",
    ),
    "-s -w -X github.com/prometheus/common/version.Version=3.16.0",
    expected_minutes=10,
)

# The GitOps tools' health evaluators that tests/gitops feeds our objects to: Argo CD's Lua
# health checks as `argocd admin settings resource-overrides health` runs them, and kstatus
# (Flux). Not part of the platform: built only when those tests run.
ARGOCD_HEALTH = GoBuild(
    "argocd-health",
    ARGO_CD_VERSION,
    ("argocd-health",),
    GO_DIR / "argocd-health",
    (".",),
    expected_minutes=8,
)
KSTATUS = GoBuild(
    "kstatus", CLI_UTILS_VERSION, ("kstatus",), GO_DIR / "kstatus", (".",), expected_minutes=1
)

CONTROL_PLANE_BUILDS = (ETCD, KUBE, KWOK)
NODE_BUILDS = (KUBE, CONTAINERD, PAUSE, COREDNS)
S3_BUILDS = (MINIO, MINIO_ADMIN)
ALL_BUILDS = (ETCD, KUBE, KWOK, MINIO, MINIO_ADMIN, CONTAINERD, PAUSE, COREDNS, PROMETHEUS)
GITOPS_BUILDS = (ARGOCD_HEALTH, KSTATUS)


def ensure_built(builds: tuple[GoBuild, ...], progress: Progress | None = None) -> None:
    """Build whatever of `builds` is missing from the cache."""
    report = progress or (lambda message: print(message, file=sys.stderr, flush=True))
    for build in builds:
        if build.is_built():
            continue
        lock_path = cache_root() / "bin" / f".{build.name}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as lock:
            # Another run (a second test session, `dev up`) may be building the same thing.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not build.is_built():
                build.build(report)
