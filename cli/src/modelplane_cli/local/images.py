"""Container images of the local platform, built on this machine (no image registry is reachable).

- `base`: a Debian bookworm root filesystem made by mmdebstrap (minbase, python3,
  ca-certificates): the local stand-in for `python:3.11-slim-bookworm`, which the Dockerfiles use
  by default elsewhere (their `PYTHON_IMAGE` build argument).
- `uv`: the host's uv binary, tagged as the image the Dockerfiles copy uv from.
- `serving-runtime`: `serving-runtime/Dockerfile`, unchanged, built by buildah on `base`.
- `operator`: `operator/Dockerfile` the same way: the operator, and with a command override the
  drift job a DriftMonitor's CronJob runs (`python -m modelplane_operator.drift`).
- `pause`: our pause program (`cli/go/pause`) `FROM scratch`, the node's sandbox image.
- `api`: `api/Dockerfile`, the facade with the dashboard's static export (`frontend/out`, built
  by `make dashboard` before; the image copies it). Not imported into the node (the facade runs
  as a process there); built by `make images` and checked by `tests/images/`.
- `serving-runtime-gpu`: `serving-runtime/Dockerfile.gpu` with onnxruntime-gpu. No CUDA base
  image is reachable here, so it is built on `base` and carries no CUDA libraries: it lists
  `CUDAExecutionProvider` and serves on the CPU fallback. Built only by `make images`; the
  node never imports it.

Each image is kept as a docker-archive under `~/.cache/modelplane/images/`, named after a digest
of everything that goes into it, so it is rebuilt only when an input changes (like the Go
binaries); the real node's containerd imports the archives at start. Builds that install from
PyPI run with the host's network and the host's CA bundle mounted for the build only (TLS to the
registries is intercepted on this kind of machine); the bundle never lands in an image layer.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelplane_cli.local.binaries import PAUSE, cache_root
from modelplane_cli.local.processes import PlatformError

Progress = Callable[[str], None]
REPO_ROOT = Path(__file__).resolve().parents[4]
REGISTRY = "localhost/modelplane"
DEBIAN_SUITE = "bookworm"
BASE_PACKAGES = ("python3", "ca-certificates")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
RUNTIME_INPUTS = ("pyproject.toml", "uv.lock", "crds", "onnx-policy", "serving-runtime")
OPERATOR_INPUTS = ("pyproject.toml", "uv.lock", "crds", "onnx-policy", "webhooks", "operator")
FACADE_INPUTS = ("pyproject.toml", "uv.lock", "crds", "onnx-policy", "api", "frontend/out")
DASHBOARD_INDEX = "frontend/out/index.html"
ARCHIVE_KEEP_SECONDS = 3600
"""How long an image's other archives outlive their last use: long enough for another checkout's
node start (which imports the archives right after asking for them), short enough for the disk
(~0.8 GB each). A removed archive whose image is still in the store is re-exported in ~15 s."""
WORKSPACE_MEMBERS = ("crds", "onnx-policy", "webhooks", "operator", "api", "cli", "serving-runtime")


@dataclass(frozen=True)
class Image:
    """One built image: its reference and the archive the node imports."""

    name: str
    ref: str
    archive: Path


def images_dir() -> Path:
    return cache_root() / "images"


def _buildah(*args: str) -> list[str]:
    store = images_dir() / "buildah"
    return [
        "buildah",
        "--root",
        str(store / "root"),
        "--runroot",
        str(store / "run"),
        "--storage-driver",
        "overlay",
        *args,
    ]


def _run(argv: list[str], what: str, *, cwd: Path | None = None) -> None:
    env = {**os.environ, "TMPDIR": str(_tmp_dir()), "BUILDAH_ISOLATION": "chroot"}
    result = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-40:]
        raise PlatformError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(output))


def _tmp_dir() -> Path:
    path = images_dir() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:12]


def _files(root: Path, relative: Iterable[str]) -> list[Path]:
    """Files under the given paths, as a build context would send them (no caches)."""
    found: list[Path] = []
    for rel in relative:
        path = root / rel
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
    return found


def _tree_digest(root: Path, relative: Iterable[str], *extra: str) -> str:
    files = _files(root, relative)
    return _digest(
        [*(e.encode() for e in extra)]
        + [p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() for p in files]
    )


def uv_binary() -> Path:
    """The uv executable itself (not a pyenv shim), to copy into the `uv` image."""
    result = subprocess.run(
        ["python3", "-c", "import uv; print(uv.find_uv_bin())"],
        capture_output=True,
        text=True,
        check=False,
    )
    candidate = Path(result.stdout.strip()) if result.returncode == 0 else None
    if candidate is None or not candidate.is_file():
        found = shutil.which("uv")
        if found is None:
            raise PlatformError("uv is not installed (scripts/setup.sh installs it)")
        candidate = Path(found).resolve()
    return candidate


class ImageBuilder:
    """Builds (or finds cached) the images the real node runs."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress: Progress = progress or (lambda _message: None)

    # --- stamps -------------------------------------------------------------------------------
    def base_tag(self) -> str:
        return _digest([f"{DEBIAN_SUITE} minbase {' '.join(BASE_PACKAGES)} 1".encode()])

    def uv_tag(self) -> str:
        return _digest([uv_binary().read_bytes()])

    def runtime_tag(self) -> str:
        return self._workspace_tag(RUNTIME_INPUTS)

    def runtime_gpu_tag(self) -> str:
        # The same context as the CPU runtime's (Dockerfile.gpu lives in serving-runtime/).
        return self._workspace_tag(RUNTIME_INPUTS, "gpu")

    def operator_tag(self) -> str:
        return self._workspace_tag(OPERATOR_INPUTS)

    def facade_tag(self) -> str:
        return self._workspace_tag(FACADE_INPUTS)

    def _workspace_tag(self, inputs: Iterable[str], *extra: str) -> str:
        """Digest of a workspace Dockerfile's build context, its base and uv."""
        members = [f"{m}/pyproject.toml" for m in WORKSPACE_MEMBERS]
        return _tree_digest(
            REPO_ROOT,
            [*inputs, *members, ".dockerignore"],
            self.base_tag(),
            self.uv_tag(),
            *extra,
        )

    def pause_tag(self) -> str:
        return PAUSE.stamp()[:12]

    # --- images -------------------------------------------------------------------------------
    def runtime(self) -> Image:
        """The serving runtime image (building base and uv first when needed)."""
        return self._workspace_image("serving-runtime", self.runtime_tag())

    def operator(self) -> Image:
        """The operator image, which also runs the drift job (building base and uv first)."""
        return self._workspace_image("operator", self.operator_tag())

    def runtime_gpu(self) -> Image:
        """The GPU serving runtime (onnxruntime-gpu), on our base: no CUDA libraries inside."""
        return self._workspace_image(
            "serving-runtime-gpu",
            self.runtime_gpu_tag(),
            dockerfile="serving-runtime/Dockerfile.gpu",
            base_arg="CUDA_IMAGE",
        )

    def facade(self) -> Image:
        """The facade with the dashboard's static export (run `make dashboard` first)."""
        if not (REPO_ROOT / DASHBOARD_INDEX).is_file():
            raise PlatformError(
                f"{DASHBOARD_INDEX} is missing: build the dashboard first (make dashboard)"
            )
        return self._workspace_image("api", self.facade_tag())

    def _workspace_image(
        self, name: str, tag: str, *, dockerfile: str = "", base_arg: str = "PYTHON_IMAGE"
    ) -> Image:
        """`<name>/Dockerfile` built from the repository root on our base and uv images."""
        base = self.base()
        self._uv()
        return self._ensure(
            name,
            tag,
            lambda ref: _run(
                _buildah(
                    "bud",
                    "--pull=never",
                    "--layers",
                    "--network",
                    "host",
                    *self._build_mounts(),
                    "--build-arg",
                    f"{base_arg}={base.ref}",
                    "-t",
                    ref,
                    "-f",
                    dockerfile or f"{name}/Dockerfile",
                    ".",
                ),
                f"building the {name} image",
                cwd=REPO_ROOT,
            ),
        )

    def pause(self) -> Image:
        """The pod sandbox image: our static pause binary, nothing else."""

        def build(ref: str) -> None:
            with tempfile.TemporaryDirectory(dir=_tmp_dir()) as ctx:
                shutil.copy2(PAUSE.path("pause"), Path(ctx) / "pause")
                (Path(ctx) / "Containerfile").write_text(
                    'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
                )
                _run(_buildah("bud", "--pull=never", "-t", ref, ctx), "building the pause image")

        return self._ensure("pause", self.pause_tag(), build)

    def base(self) -> Image:
        """Debian bookworm (minbase + python3) from Debian's own packages, by mmdebstrap."""

        def build(ref: str) -> None:
            if shutil.which("mmdebstrap") is None:
                raise PlatformError("mmdebstrap is not installed (scripts/setup.sh installs it)")
            with tempfile.TemporaryDirectory(dir=_tmp_dir()) as ctx:
                rootfs = Path(ctx) / "rootfs.tar"
                self.progress("  making a Debian root filesystem with mmdebstrap (~1-2 min) …")
                _run(
                    [
                        "mmdebstrap",
                        "--variant=minbase",
                        f"--include={','.join(BASE_PACKAGES)}",
                        "--format=tar",
                        DEBIAN_SUITE,
                        str(rootfs),
                        *_debian_sources(),
                    ],
                    "mmdebstrap",
                )
                (Path(ctx) / "Containerfile").write_text(
                    'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/bash"]\n'
                )
                _run(_buildah("bud", "--pull=never", "-t", ref, ctx), "building the base image")

        return self._ensure("base", self.base_tag(), build, export=False)

    def _uv(self) -> Image:
        def build(ref: str) -> None:
            with tempfile.TemporaryDirectory(dir=_tmp_dir()) as ctx:
                shutil.copy2(uv_binary(), Path(ctx) / "uv")
                (Path(ctx) / "Containerfile").write_text("FROM scratch\nCOPY uv /uv\n")
                _run(_buildah("bud", "--pull=never", "-t", ref, ctx), "building the uv image")
                # The Dockerfiles copy uv from this reference; the tag exists only in our store.
                _run(_buildah("tag", ref, "ghcr.io/astral-sh/uv:0.9"), "tagging the uv image")

        return self._ensure("uv", self.uv_tag(), build, export=False)

    def _build_mounts(self) -> list[str]:
        """Host CA bundle and a uv config using it, mounted read-only for RUN steps only."""
        if not HOST_CA_BUNDLE.is_file():
            return []
        uv_toml = _tmp_dir() / "uv.toml"
        uv_toml.write_text("native-tls = true\n")
        return [
            "-v",
            f"{HOST_CA_BUNDLE}:/etc/ssl/certs/ca-certificates.crt:ro",
            "-v",
            f"{uv_toml}:/etc/uv/uv.toml:ro",
        ]

    def _ensure(
        self, name: str, tag: str, build: Callable[[str], None], *, export: bool = True
    ) -> Image:
        """The cached image `name:tag`, building and exporting it first when missing."""
        ref = f"{REGISTRY}/{name}:{tag}"
        archive = images_dir() / f"{name}-{tag}.tar"
        images_dir().mkdir(parents=True, exist_ok=True)
        with (images_dir() / f".{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same image
            if export and archive.exists():
                os.utime(archive)  # in use: kept by `_prune` for another ARCHIVE_KEEP_SECONDS
                return Image(name, ref, archive)
            if not self._exists(ref):
                self.progress(f"building image {ref} (cached afterwards) …")
                started = time.monotonic()
                build(ref)
                self.progress(f"built {ref} in {time.monotonic() - started:.0f} s")
            if export:
                partial = archive.with_suffix(".partial")
                partial.unlink(missing_ok=True)
                _run(
                    _buildah("push", ref, f"docker-archive:{partial}:{ref}"),
                    f"exporting {ref}",
                )
                partial.rename(archive)
                _prune(name, keep=archive)
        return Image(name, ref, archive)

    def _exists(self, ref: str) -> bool:
        probe = subprocess.run(
            _buildah("inspect", "--type", "image", ref),
            capture_output=True,
            check=False,
            env={**os.environ, "TMPDIR": str(_tmp_dir())},
        )
        return probe.returncode == 0

    def all(self) -> list[Image]:
        """Every image the node imports."""
        return [self.pause(), self.runtime(), self.operator()]

    def builds(self) -> dict[str, Callable[[], Image]]:
        """Every image of the project by name, in build order (`make images`)."""
        return {
            "base": self.base,
            "uv": self._uv,
            "pause": self.pause,
            "serving-runtime": self.runtime,
            "serving-runtime-gpu": self.runtime_gpu,
            "operator": self.operator,
            "api": self.facade,
        }

    def size(self, ref: str) -> str:
        """The image's size as the store reports it (e.g. `651 MB`)."""
        result = subprocess.run(
            _buildah("images", "--json", ref),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "TMPDIR": str(_tmp_dir())},
        )
        if result.returncode != 0:
            raise PlatformError(f"buildah images {ref} failed: {result.stderr.strip()}")
        listed: list[dict[str, Any]] = json.loads(result.stdout)
        return str(listed[0]["size"]) if listed else "?"


def build_report(
    names: Iterable[str] | None = None, progress: Progress | None = None
) -> Iterator[str]:
    """Build the named images (all by default) in order; yield one line per image: its name,
    reference, size and how long this run spent on it (~0 s when it was cached)."""
    builder = ImageBuilder(progress)
    builds = builder.builds()
    wanted = list(builds) if names is None else list(names)
    unknown = [n for n in wanted if n not in builds]
    if unknown:
        raise KeyError(f"unknown image(s) {', '.join(unknown)}; known: {', '.join(builds)}")
    yield f"{'image':<20} {'reference':<56} {'size':>9} {'time':>7}"
    for name in builds:
        if name not in wanted:
            continue
        started = time.monotonic()
        image = builds[name]()
        took = time.monotonic() - started
        yield f"{name:<20} {image.ref:<56} {builder.size(image.ref):>9} {took:>6.0f}s"


def _prune(name: str, keep: Path, now: float | None = None) -> None:
    """Remove the image's other archives unused for ARCHIVE_KEEP_SECONDS. Checkouts of other
    branches share this cache and may be using theirs (a tag is a digest of one tree's inputs),
    so a newer build does not delete an older one that is still in use."""
    cutoff = (time.time() if now is None else now) - ARCHIVE_KEEP_SECONDS
    for old in _archives(name):
        if old != keep and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)


def _archives(name: str) -> list[Path]:
    """The cached archives of one image (`<name>-<tag>.tar`; not `<name>-gpu-<tag>.tar`)."""
    pattern = re.compile(re.escape(name) + r"-[0-9a-f]{12}\.tar")
    return [p for p in images_dir().glob(f"{name}-*.tar") if pattern.fullmatch(p.name)]


def _debian_sources() -> list[str]:
    """The Debian mirror the host's apt uses (reachable here), as mmdebstrap source lines."""
    mirror, security = "http://deb.debian.org/debian", "http://deb.debian.org/debian-security"
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] or words[:1] == ["deb"]:
                uri = next((w for w in words[1:] if w.startswith("http")), None)
                if uri and uri.rstrip("/").endswith("-security"):
                    security = uri
                elif uri:
                    mirror = uri
    return [
        f"deb {mirror} {DEBIAN_SUITE} main",
        f"deb {mirror} {DEBIAN_SUITE}-updates main",
        f"deb {security} {DEBIAN_SUITE}-security main",
    ]
