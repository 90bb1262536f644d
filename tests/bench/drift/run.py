"""Drift benchmark driver: same data, three implementations, time and peak memory of each.

Each implementation runs in its own subprocess so that peak RSS (from `os.wait4`) is its own:
- engine (cold): `python -m modelplane_operator.drift` building the reference profile, then
  evaluating the window;
- engine (cached profile): the same command again, profile read from the cache, as every
  scheduled evaluation after the first runs;
- scipy loop: per-column scipy on the full arrays (`scipy_loop.py`);
- Evidently: `DataDriftPreset` in a separate venv (`.run/bench-drift-venv`, created with
  `uv venv` + `uv pip install evidently "pandas<3"` — Evidently 0.7 does not import under
  pandas 3). Evidently is slow enough that by default it runs on a smaller window
  (`--evidently-rows`), where the engine and scipy run again for a like-for-like ratio; its time
  at the full size is then extrapolated linearly in rows and labelled as such.
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


def _measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one subprocess."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed with exit status {process.returncode}")
    return seconds, usage.ru_maxrss / 1024


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


def _engine(data: Path, parts: int, cache: Path, out: Path) -> tuple[float, float, dict[str, bool]]:
    command = [
        sys.executable,
        "-m",
        "modelplane_operator.drift",
        "--reference",
        str(data / "reference.parquet"),
        "--window",
        str(data / "window"),
        "--start",
        START.isoformat(),
        "--end",
        (START + timedelta(hours=parts)).isoformat(),
        "--profile-cache",
        str(cache),
        "--output",
        str(out),
    ]
    seconds, rss = _measure(command)
    report = json.loads(out.read_text())
    return seconds, rss, {r["feature"]: r["drifted"] for r in report["features"]}


def _script(
    python: str, module_or_path: list[str], data: Path, parts: int, out: Path
) -> tuple[float, float, dict[str, bool], float]:
    seconds, rss = _measure([python, *module_or_path, str(data), str(parts), str(out)])
    result = json.loads(out.read_text())
    return seconds, rss, result["drifted"], result["seconds"]


def _agreement(a: dict[str, bool], b: dict[str, bool]) -> str:
    same = sum(a.get(k) == v for k, v in b.items())
    return f"{same}/{len(b)}"


def run_size(data: Path, shape: Shape, parts: int, evidently: bool, work: Path) -> dict[str, Any]:
    """All implementations on the first `parts` tenths of the window."""
    rows = shape.rows // PARTS * parts
    print(
        f"\n== window {rows:,} rows × {shape.features} features, "
        f"reference {shape.reference_rows:,} rows ==",
        flush=True,
    )
    cache = work / f"profiles-{parts}"
    results: dict[str, dict[str, Any]] = {}
    s, m, d = _engine(data, parts, cache, work / "cold.json")
    results["engine (cold: profile + window)"] = {"seconds": s, "rss_mib": m, "drifted": d}
    s, m, d = _engine(data, parts, cache, work / "warm.json")
    results["engine (cached profile)"] = {"seconds": s, "rss_mib": m, "drifted": d}
    s, m, d, inner = _script(
        sys.executable, ["-m", "tests.bench.drift.scipy_loop"], data, parts, work / "scipy.json"
    )
    results["scipy per-column loop"] = {"seconds": s, "rss_mib": m, "drifted": d, "inner": inner}
    if evidently:
        s, m, d, inner = _script(
            str(VENV_PYTHON),
            [str(Path(__file__).with_name("evidently_run.py"))],
            data,
            parts,
            work / "evidently.json",
        )
        results["Evidently DataDriftPreset"] = {
            "seconds": s,
            "rss_mib": m,
            "drifted": d,
            "inner": inner,
        }
    truth = expected_drift(shape)
    print(f"{'implementation':36} {'seconds':>9} {'peak MiB':>9}  decisions = truth")
    for name, r in results.items():
        print(
            f"{name:36} {r['seconds']:9.2f} {r['rss_mib']:9.0f}  {_agreement(r['drifted'], truth)}"
        )
    warm = results["engine (cached profile)"]["seconds"]
    cold = results["engine (cold: profile + window)"]["seconds"]
    for name in ("scipy per-column loop", "Evidently DataDriftPreset"):
        if name in results:
            print(
                f"  {name} / engine: {results[name]['seconds'] / warm:.1f}× (cached profile), "
                f"{results[name]['seconds'] / cold:.1f}× (cold)"
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
        default=100_000,
        help="window rows for the Evidently comparison (0: skip Evidently)",
    )
    args = parser.parse_args(argv)
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
        summary["full"] = run_size(data, shape, PARTS, False, work)
        if evidently:
            parts = args.evidently_rows // (args.rows // PARTS)
            small = run_size(data, shape, parts, True, work)
            summary["evidently_size"] = small
            ev = small["results"]["Evidently DataDriftPreset"]["seconds"]
            extrapolated = ev * PARTS / parts
            full_warm = summary["full"]["results"]["engine (cached profile)"]["seconds"]  # type: ignore[index]
            print(
                f"\nEvidently extrapolated to {shape.rows:,} rows (linear in rows, NOT "
                f"measured): ≈{extrapolated:.0f} s → ≈{extrapolated / full_warm:.0f}× the "
                "engine with a cached profile"
            )
            summary["evidently_extrapolated_seconds"] = extrapolated
    (RUN_DIR / "results.json").write_text(json.dumps(summary, indent=2))
    return 0
