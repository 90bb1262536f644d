"""Whose is the real node: a claim stays alive while its run, or the process that took it, runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modelplane_cli.local import node
from modelplane_cli.local.processes import Supervisor


def test_a_dev_run_before_its_first_process_keeps_its_claim_while_its_taker_runs(
    tmp_path: Path,
) -> None:
    run = tmp_path / "dev"
    Supervisor(run, owner_pid=None)  # `dev up`'s state between its claim and its first process
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert node._claim_alive(node.Claim(str(run), pid=os.getpid()))
    assert not node._claim_alive(node.Claim(str(run), pid=int(gone)))
    assert not node._claim_alive(node.Claim(str(run)))  # a claim written before the pid was kept
