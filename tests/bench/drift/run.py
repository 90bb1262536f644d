"""Drift benchmark driver: same data, three implementations, time and peak memory of each.

Each implementation runs in its own subprocess so that peak RSS (from `os.wait4`) is its own:
- engine (cold): `python -m modelplane_operator.drift` building the reference profile, then
  evaluating the window;
- engine (cached profile): the same command again, profile read from the cache, as every
  scheduled evaluation after the first runs;
- scipy loop: per-column scipy on the full arrays (`scipy_loop.py`);
- Evidently: `DataDriftPreset` in a separate venv (`.run/bench-drift-venv`, created with
  `uv venv` + `uv pip install evidently "pandas<3"` — Evidently 0.7 does not import under
  pandas 3). By default it runs on the full window beside the others (about 8 minutes of the
  run's 10 at 1,000,000 rows). `--evidently-rows N` below the window size runs it on a smaller
  window instead, where the engine and scipy run again for a like-for-like ratio; its time at
  the full size is then extrapolated linearly in rows and labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.bench.drift.data import PARTS, START, Shape, expected_drift, generate

ROOT = Path(__file__).resolve().parents[3]
RUN_DIR = ROOT / ".run" / "bench-drift"
VENV = ROOT / ".run" / "bench-drift-venv"
VENV_PYTHON = VENV / "bin" / "python"


def _measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one subprocess."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed with exit status {process.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _ensure_evidently() -> None:
    if VENV_PYTHON.exists():
        check = subprocess.run(
            [str(VENV_PYTHON), "-c", "import evidently"], check=False, capture_output=True
        )
        if check.returncode == 0:
            return
    subprocess.run(["uv", "venv", "-q", "--python", "3.11", str(VENV)], check=True)
    subprocess.run(
        [
            "uv",
            "pip",
            "install",
            "-q",
            "--python",
            str(VENV_PYTHON),
            "evidently",
            "pandas<3",
            "pyarrow",
        ],
        check=True,
    )


Result = dict[str, Any]
"""One implementation's run: seconds (wall), cpu (user + system s), rss_mib, drifted."""


def _engine(data: Path, parts: int, cache: Path, out: Path) -> Result:
    command = [sys.executable, "-m", "modelplane_operator.drift",
               "--reference", str(data / "reference.parquet"), "--window", str(data / "window"),
               "--start", START.isoformat(),
               "--end", (START + timedelta(hours=parts)).isoformat(),
               "--profile-cache", str(cache), "--output", str(out)]  # fmt: skip
    seconds, cpu, rss = _measure(command)
    report = json.loads(out.read_text())
    drifted = {r["feature"]: r["drifted"] for r in report["features"]}
    return {"seconds": seconds, "cpu": cpu, "rss_mib": rss, "drifted": drifted}


def _script(python: str, program: list[str], data: Path, parts: int, out: Path) -> Result:
    seconds, cpu, rss = _measure([python, *program, str(data), str(parts), str(out)])
    result = json.loads(out.read_text())
    return {"seconds": seconds, "cpu": cpu, "rss_mib": rss, "drifted": result["drifted"],
            "inner_seconds": result["seconds"]}  # fmt: skip


def _ratios(slow: Result, fast: Result) -> str:
    return f"wall {slow['seconds'] / fast['seconds']:.1f}×, CPU {slow['cpu'] / fast['cpu']:.1f}×"


def _agreement(a: dict[str, bool], b: dict[str, bool]) -> str:
    same = sum(a.get(k) == v for k, v in b.items())
    return f"{same}/{len(b)}"


def run_size(data: Path, shape: Shape, parts: int, evidently: bool, work: Path) -> dict[str, Any]:
    """All implementations on the first `parts` tenths of the window."""
    rows = shape.rows // PARTS * parts
    print(f"\n== window {rows:,} rows × {shape.features} features, "
          f"reference {shape.reference_rows:,} rows ==", flush=True)  # fmt: skip
    cache = work / f"profiles-{parts}"
    results: dict[str, Result] = {}
    results["engine (cold: profile + window)"] = _engine(data, parts, cache, work / "cold.json")
    results["engine (cached profile)"] = _engine(data, parts, cache, work / "warm.json")
    results["scipy per-column loop"] = _script(
        sys.executable, ["-m", "tests.bench.drift.scipy_loop"], data, parts, work / "scipy.json"
    )
    if evidently:
        program = [str(Path(__file__).with_name("evidently_run.py"))]
        results["Evidently DataDriftPreset"] = _script(
            str(VENV_PYTHON), program, data, parts, work / "evidently.json"
        )
    truth = expected_drift(shape)
    print(f"{'implementation':34} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}  decisions = truth")
    for name, r in results.items():
        print(f"{name:34} {r['seconds']:8.2f} {r['cpu']:8.2f} {r['rss_mib']:9.0f}  "
              f"{_agreement(r['drifted'], truth)}")  # fmt: skip
    warm = results["engine (cached profile)"]
    cold = results["engine (cold: profile + window)"]
    for name in ("scipy per-column loop", "Evidently DataDriftPreset"):
        if name in results:
            r = results[name]
            print(
                f"  {name} / engine, cached profile: {_ratios(r, warm)}; cold: {_ratios(r, cold)}"
            )
    return {"rows": rows, "results": results}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints a table and writes .run/bench-drift/results.json."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.drift")
    parser.add_argument("--rows", type=int, default=1_000_000, help="window rows")
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument(
        "--evidently-rows",
        type=int,
        default=None,
        help="window rows for the Evidently comparison (default: the whole window; 0: skip)",
    )
    args = parser.parse_args(argv)
    if args.evidently_rows is None:
        args.evidently_rows = args.rows
    if args.rows % PARTS or args.evidently_rows % (args.rows // PARTS):
        parser.error(
            f"--rows must split into {PARTS} parts and --evidently-rows be a multiple of a part"
        )
    shape = Shape(args.rows, args.reference_rows, args.features)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    data = RUN_DIR / f"data-{shape.rows}-{shape.reference_rows}-{shape.features}"
    started = time.perf_counter()
    generate(shape, data)
    print(f"data ready in {time.perf_counter() - started:.0f} s: {data}", flush=True)
    evidently = args.evidently_rows > 0
    if evidently:
        _ensure_evidently()
    summary: dict[str, object] = {"shape": vars(args)}
    with tempfile.TemporaryDirectory(dir=RUN_DIR) as tmp:
        work = Path(tmp)
        full_with_evidently = evidently and args.evidently_rows == args.rows
        summary["full"] = run_size(data, shape, PARTS, full_with_evidently, work)
        if evidently and not full_with_evidently:
            parts = args.evidently_rows // (args.rows // PARTS)
            small = run_size(data, shape, parts, True, work)
            summary["evidently_size"] = small
            ev = small["results"]["Evidently DataDriftPreset"]
            full = summary["full"]["results"]["engine (cached profile)"]  # type: ignore[index]
            wall, cpu = ev["seconds"] * PARTS / parts, ev["cpu"] * PARTS / parts
            estimate = {"seconds": wall, "cpu": cpu}
            print(f"\nEvidently extrapolated to {shape.rows:,} rows (linear in rows, NOT "
                  f"measured): ≈{wall:.0f} s wall, ≈{cpu:.0f} s CPU; / engine, cached profile: "
                  f"{_ratios(estimate, full)}")  # fmt: skip
            summary["evidently_extrapolated"] = estimate
    (RUN_DIR / "results.json").write_text(json.dumps(summary, indent=2))
    return 0
