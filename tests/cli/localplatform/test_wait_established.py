"""`wait_established` asks again while kubectl reports a CRD's status as not yet observed (the
race `modelplane dev up` once failed on), and fails on anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane_cli.local import controlplane
from modelplane_cli.local.processes import PlatformError

RACE = (
    "error: .status.conditions accessor error: <nil> is of the type <nil>, expected []interface{}"
)


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: str | None) -> list[tuple[str, ...]]:
    """kubectl answering in turn: None succeeds, a text fails with it."""
    calls: list[tuple[str, ...]] = []
    pending = list(answers)

    def run(kubeconfig: Path, *args: str, **_: object) -> str:
        calls.append(args)
        answer = pending.pop(0)
        if answer is not None:
            raise PlatformError(f"kubectl {' '.join(args)}: {answer}")
        return ""

    monkeypatch.setattr(controlplane, "run_kubectl", run)
    monkeypatch.setattr("modelplane_cli.local.controlplane.time.sleep", lambda _: None)
    return calls


def test_an_empty_status_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, RACE, RACE, None)
    controlplane.wait_established(Path("k"), "crd/a.modelplane.io", "crd/b.modelplane.io")
    assert len(calls) == 3
    assert calls[-1][-2:] == ("crd/a.modelplane.io", "crd/b.modelplane.io")


def test_any_other_failure_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, 'Error from server (NotFound): "x" not found', None)
    with pytest.raises(PlatformError, match="NotFound"):
        controlplane.wait_established(Path("k"), "crd/x.modelplane.io")
    assert len(calls) == 1


def test_the_race_past_the_deadline_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, *([RACE] * 50))
    with pytest.raises(PlatformError, match="accessor error"):
        controlplane.wait_established(Path("k"), "crd/a.modelplane.io", timeout=0)
    assert len(calls) == 1
