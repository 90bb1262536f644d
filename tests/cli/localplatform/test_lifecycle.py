"""Lifecycle rules of the local platform: nothing survives its owner, nothing blocks a re-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modelplane_cli.local.binaries import GoBuild
from modelplane_cli.local.pki import CertificateAuthority
from modelplane_cli.local.processes import (
    RunState,
    Supervisor,
    pid_alive,
    port_open,
    sweep_stale_runs,
    wait_until,
)

OWNER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from modelplane_cli.local.platform import LocalPlatform
    platform = LocalPlatform(Path(sys.argv[1]), owner_pid=os.getpid())
    platform.ensure_postgres()
    platform.ensure_redis()
    print("ready", flush=True)
    time.sleep(600)
""")


def _start_owner(run_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _records(run_dir: Path) -> list[tuple[int, int]]:
    state = RunState.load(run_dir / "state.json")
    assert state is not None
    ports = [int(url.rsplit(":", 1)[1].split("/")[0]) for url in state.endpoints.values()]
    return [(r.pid, port) for r, port in zip(state.processes[-2:], ports, strict=True)]


@pytest.mark.integration
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_a_killed_owner_leaves_no_process_or_bound_port_behind(
    tmp_path: Path, sig: signal.Signals
) -> None:
    run_dir = tmp_path / "runs" / "owner"
    proc = _start_owner(run_dir)
    servers = _records(run_dir)
    assert all(pid_alive(pid) and port_open(port) for pid, port in servers)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    # The kernel stops direct children with their owner, PostgreSQL run as `postgres` too...
    wait_until(
        lambda: not any(pid_alive(pid) for pid, _ in servers),
        timeout=30,
        what="direct children to die with their owner",
    )
    # ...and the sweep of the next run handles anything further down.
    sweep_stale_runs(tmp_path / "runs")
    wait_until(
        lambda: not any(pid_alive(pid) or port_open(port) for pid, port in servers),
        timeout=30,
        what="leftover processes to exit",
    )


@pytest.mark.integration
def test_sweep_stops_the_processes_of_a_run_whose_owner_died(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    sup = Supervisor(runs / "orphaned", owner_pid=None)  # children would not die with us
    sup.state.owner_pid = owner.pid
    sup.start("sleeper", ["sleep", "600"])
    sleeper = sup.state.processes[0].pid
    assert sweep_stale_runs(runs) == []  # owner still alive: nothing to do
    owner.kill()
    owner.wait()
    assert sweep_stale_runs(runs) == ["orphaned/sleeper"]
    wait_until(lambda: not pid_alive(sleeper), timeout=10, what="sleeper to exit")


def test_stop_terminates_the_whole_process_group(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run", owner_pid=os.getpid())
    sup.start("tree", ["bash", "-c", "sleep 600 & sleep 600 & wait"])
    time.sleep(0.3)
    group = sup.state.processes[0].pid
    members = [p for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == group]
    assert len(members) >= 3
    sup.stop()
    assert not any(pid_alive(int(p)) for p in members)
    assert json.loads((tmp_path / "run" / "state.json").read_text())["processes"] == []


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return -1


def test_build_stamp_changes_when_the_wrapper_module_changes(tmp_path: Path) -> None:
    module = tmp_path / "mod"
    module.mkdir()
    (module / "go.mod").write_text("module example\n")
    build = GoBuild("x", "v1", ("x",), module, ("./...",))
    before = build.stamp()
    assert build.stamp() == before
    (module / "go.mod").write_text("module example\n\nrequire other v1.0.0\n")
    assert build.stamp() != before


def test_api_server_certificate_names_every_address_clients_use(tmp_path: Path) -> None:
    from cryptography import x509

    ca = CertificateAuthority(tmp_path)
    pair = ca.issue("apiserver", "kube-apiserver", server_hosts=("127.0.0.1", "localhost"))
    cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert cert.issuer == ca.cert.subject
    assert oct(pair.key.stat().st_mode & 0o777) == "0o600"
