"""Start, watch and stop the local platform's processes without leaving anything behind.

Every process runs in its own session (so its whole group can be signalled) with its output in a
log file of the run directory, and is recorded in the run directory's `state.json`. When the
owner (a test session) dies, the kernel kills the direct children (PR_SET_PDEATHSIG) and the next
run's sweep kills whatever group is left, so a Ctrl-C or a kill never blocks the next run.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class PlatformError(RuntimeError):
    """A local-platform component could not be started or reached; the message says which."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    """Whether `url` (a loopback URL the platform built) answers 2xx."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
        return 200 <= int(response.status) < 300


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    interval: float = 0.2,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `check` until true; fail with the log's tail on time-out or when the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        if alive is not None and not alive():
            raise PlatformError(f"{what}: the process exited during start-up\n{tail(log)}")
        time.sleep(interval)
    raise PlatformError(f"{what}: not ready after {timeout:.0f} s\n{tail(log)}")


def tail(log: Path | None, lines: int = 25) -> str:
    """The last lines of a log file, for error messages."""
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last lines of {log} ---\n" + "\n".join(text)


def _child_setup(die_with_parent: bool, uid: int | None, gid: int | None) -> Callable[[], None]:
    def setup() -> None:
        os.setsid()
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
        if die_with_parent:
            # Only after the identity change: the kernel clears the death signal when the uid
            # or gid changes (prctl(2)), so PostgreSQL, run as `postgres`, would outlive us.
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return setup


@dataclass
class ProcessRecord:
    """What the state file remembers of one started process."""

    name: str
    pid: int
    argv0: str
    log: str


@dataclass
class RunState:
    """The run directory's `state.json`: who owns the run and which processes belong to it."""

    owner_pid: int | None
    processes: list[ProcessRecord] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)
    scratch: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> RunState | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return cls(
            owner_pid=data.get("owner_pid"),
            processes=[ProcessRecord(**p) for p in data.get("processes", [])],
            endpoints=dict(data.get("endpoints", {})),
            scratch=list(data.get("scratch", [])),
        )

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def kill_group(pid: int, argv0: str, *, grace: float = 10.0) -> None:
    """SIGTERM a process group, then SIGKILL whatever is left after `grace` seconds.

    The recorded argv0 guards against killing an unrelated process that reused the pid."""
    if pid_alive(pid) and argv0 and Path(argv0).name not in _cmdline(pid):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(pid):
                return
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process remains in the group; reaps our own zombies."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-pgid, os.WNOHANG)[0]:
            pass
    return any(
        _pgid(int(p.name)) == pgid and pid_alive(int(p.name))
        for p in Path("/proc").iterdir()
        if p.name.isdigit()
    )


def group_rss_mib(pgid: int) -> float:
    """Resident memory of every process in a process group (a server and its workers), MiB."""
    total_kib = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _pgid(int(entry.name)) != pgid:
            continue
        with contextlib.suppress(OSError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return -1


class Supervisor:
    """Starts processes for one run directory and stops them in reverse order."""

    def __init__(self, run_dir: Path, owner_pid: int | None) -> None:
        self.run_dir = run_dir
        self.state_path = run_dir / "state.json"
        self.owner_pid = owner_pid
        self._popen: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.RLock()  # components may start from several threads
        run_dir.mkdir(parents=True, exist_ok=True)
        self.state = RunState.load(self.state_path) or RunState(owner_pid=owner_pid)
        self.state.owner_pid = owner_pid
        self.state.save(self.state_path)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        uid: int | None = None,
        gid: int | None = None,
    ) -> Path:
        """Start `argv` as `name`; returns its log file."""
        log = self.run_dir / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, log.open("ab") as out:
            # preexec_fn is safe here: it only calls setsid/prctl/setuid before exec, and
            # starts are serialised by the lock.
            proc = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                preexec_fn=_child_setup(self.owner_pid is not None, uid, gid),  # noqa: PLW1509
            )
            self._popen[name] = proc
            self.state.processes = [p for p in self.state.processes if p.name != name]
            self.state.processes.append(ProcessRecord(name, proc.pid, argv[0], str(log)))
            self.state.save(self.state_path)
        return log

    def alive(self, name: str) -> bool:
        proc = self._popen.get(name)
        if proc is not None:
            return proc.poll() is None
        record = next((p for p in self.state.processes if p.name == name), None)
        return record is not None and pid_alive(record.pid)

    def forget(self, name: str) -> None:
        """Drop a finished one-shot process (initdb, say) from the state."""
        with self._lock:
            self._popen.pop(name, None)
            self.state.processes = [p for p in self.state.processes if p.name != name]
            self.state.save(self.state_path)

    def set_endpoint(self, key: str, value: str) -> None:
        with self._lock:
            self.state.endpoints[key] = value
            self.state.save(self.state_path)

    def scratch_dir(self, name: str) -> Path:
        """A directory outside the run directory that other system accounts can reach (the run
        directory may sit under a private temporary folder); removed when the run stops."""
        path = Path(tempfile.mkdtemp(prefix=f"modelplane-{name}-"))
        path.chmod(0o755)
        with self._lock:
            self.state.scratch.append(str(path))
            self.state.save(self.state_path)
        return path

    def stop(self, name: str | None = None) -> None:
        """Stop one process, or all of them in reverse start order."""
        for record in reversed(list(self.state.processes)):
            if name is not None and record.name != name:
                continue
            kill_group(record.pid, record.argv0)
            proc = self._popen.pop(record.name, None)
            if proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=1)
            self.state.processes.remove(record)
        if name is None:
            self.state.endpoints.clear()
            _remove_scratch(self.state)
        self.state.save(self.state_path)


def _remove_scratch(state: RunState) -> None:
    for path in state.scratch:
        shutil.rmtree(path, ignore_errors=True)
    state.scratch.clear()


def sweep_stale_runs(runs_root: Path, keep: Path | None = None) -> list[str]:
    """Stop processes of run directories whose owner died; returns what was stopped."""
    stopped: list[str] = []
    if not runs_root.is_dir():
        return stopped
    for state_path in runs_root.glob("*/state.json"):
        if keep is not None and state_path.parent == keep:
            continue
        state = RunState.load(state_path)
        if state is None or state.owner_pid is None or pid_alive(state.owner_pid):
            continue
        for record in reversed(state.processes):
            kill_group(record.pid, record.argv0, grace=3.0)
            stopped.append(f"{state_path.parent.name}/{record.name}")
        state.processes.clear()
        _remove_scratch(state)
        state.save(state_path)
    return stopped
