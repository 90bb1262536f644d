"""Run a built image the way a locked-down pod would, without the node: runc on a buildah mount.

`buildah from` + `buildah mount` give the image's root filesystem; `runc spec` gives a bundle
whose root is **read-only**; the process is the image's own entry point and command, as the
image's own `USER` (numeric, with the group from the image's /etc/passwd), with no capabilities,
`no_new_privs`, a tmpfs at /tmp (an emptyDir in the pods) and the host's network namespace so the
test reaches it on 127.0.0.1. The real node is not started (only one may run per machine).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelplane_cli.local.images import _buildah, _tmp_dir


def buildah(*args: str) -> str:
    """Run buildah on the project's image store; return its stdout."""
    result = subprocess.run(
        _buildah(*args),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TMPDIR": str(_tmp_dir())},
        timeout=300,
    )
    if result.returncode != 0:
        raise AssertionError(f"buildah {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def image_config(ref: str) -> dict[str, Any]:
    """The image's OCI config (`User`, `Entrypoint`, `Cmd`, `Env`, `Labels`, …)."""
    inspected = json.loads(buildah("inspect", "--type", "image", ref))
    config: dict[str, Any] = inspected["OCIv1"]["config"]
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Container:
    """A process of the image under runc, and what it printed."""

    id: str
    rootfs: Path
    state_dir: Path
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    def pid(self) -> int:
        """The container's first process, as the host sees it."""
        state = subprocess.run(
            ["runc", "--root", str(self.state_dir), "state", self.id],
            capture_output=True,
            text=True,
            check=True,
        )
        pid: int = json.loads(state.stdout)["pid"]
        return pid

    def logs(self) -> str:
        """Everything the process wrote so far (stdout and stderr), after it stopped."""
        return "".join(self.output)


def _user(rootfs: Path, user: str) -> tuple[int, int]:
    """The numeric uid and gid of the image's `USER` (a name or a number, `:group` optional)."""
    name, _, group = user.partition(":")
    entries = [line.split(":") for line in (rootfs / "etc/passwd").read_text().splitlines() if line]
    match = next((e for e in entries if name in (e[0], e[2])), None)
    if match is None:
        if not name.isdigit():
            raise AssertionError(f"USER {user!r} is not in the image's /etc/passwd")
        uid, gid = int(name), int(name)
    else:
        uid, gid = int(match[2]), int(match[3])
    return uid, int(group) if group.isdigit() else gid


@contextmanager
def mounted(ref: str) -> Iterator[Path]:
    """The image's root filesystem, mounted from a throw-away working container."""
    name = f"mp-test-{uuid.uuid4().hex[:8]}"
    buildah("from", "--pull=never", "--name", name, ref)
    try:
        yield Path(buildah("mount", name).strip())
    finally:
        buildah("umount", name)
        buildah("rm", name)


@contextmanager
def run_image(
    ref: str,
    workdir: Path,
    *,
    args: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    binds: dict[str, Path] | None = None,
) -> Iterator[Container]:
    """Start the image (its entry point, or `entrypoint`, with `args`, else its command)
    read-only and non-root.

    Stops it on exit; `Container.logs()` then holds its output."""
    config = image_config(ref)
    with mounted(ref) as rootfs:
        bundle = workdir / "bundle"
        bundle.mkdir(parents=True)
        subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True)
        spec = json.loads((bundle / "config.json").read_text())
        uid, gid = _user(rootfs, config.get("User") or "0")
        spec["root"] = {"path": str(rootfs), "readonly": True}
        spec["hostname"] = "image-test"
        spec["process"].update(
            terminal=False,
            user={"uid": uid, "gid": gid},
            args=[
                *(entrypoint or config.get("Entrypoint") or []),
                *(args or ([] if entrypoint else config.get("Cmd")) or []),
            ],
            env=[*config.get("Env", []), *(f"{k}={v}" for k, v in (env or {}).items())],
            cwd=config.get("WorkingDir") or "/",
            noNewPrivileges=True,
            capabilities={k: [] for k in ("bounding", "effective", "permitted", "ambient")},
        )
        spec["linux"]["namespaces"] = [
            ns for ns in spec["linux"]["namespaces"] if ns["type"] != "network"
        ]
        spec["mounts"].append(
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=64m"]}
        )  # fmt: skip
        for destination, source in (binds or {}).items():
            spec["mounts"].append(
                {"destination": destination, "type": "bind", "source": str(source),
                 "options": ["rbind", "ro"]}
            )  # fmt: skip
        (bundle / "config.json").write_text(json.dumps(spec))
        container = Container(f"mp-test-{uuid.uuid4().hex[:8]}", rootfs, workdir / "runc")
        log = workdir / "output.log"
        with log.open("w") as sink:
            container.process = subprocess.Popen(
                ["runc", "--root", str(container.state_dir), "run", "--bundle", str(bundle),
                 container.id],
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        try:
            yield container
        finally:
            if container.process.poll() is None:
                runc = ["runc", "--root", str(container.state_dir)]
                subprocess.run([*runc, "kill", container.id, "TERM"], check=False)
                try:
                    container.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    subprocess.run([*runc, "kill", container.id, "KILL"], check=False)
                    container.process.wait(timeout=15)
            subprocess.run(
                ["runc", "--root", str(container.state_dir), "delete", "--force", container.id],
                capture_output=True,
                check=False,
            )
            container.output.append(log.read_text())


def wait_exit(container: Container, timeout: float = 120) -> int:
    """The container's exit code, once its process ends."""
    assert container.process is not None
    return container.process.wait(timeout=timeout)


def root_is_read_only(pid: int) -> bool:
    """Whether the process's `/` is mounted read-only (its own mount namespace, as it sees it)."""
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == "/":
            return "ro" in fields[5].split(",")
    raise AssertionError(f"no / in /proc/{pid}/mountinfo")


def uid_of(pid: int) -> int:
    """The real uid of a host process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid in /proc/{pid}/status")


def wait_http(url: str, container: Container, timeout: float = 60) -> None:
    """Wait until `url` answers (any status), failing early when the container exits."""
    import httpx

    deadline = time.monotonic() + timeout
    assert container.process is not None
    while time.monotonic() < deadline:
        if container.process.poll() is not None:
            raise AssertionError(f"the container exited ({container.process.returncode})")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout} s")
