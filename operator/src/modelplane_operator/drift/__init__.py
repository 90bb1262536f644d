"""The drift engine: statistically sound, vectorized drift tests over windows of logged traffic.

Pure and importable without Kubernetes. The operator runs `python -m modelplane_operator.drift`
in a CronJob; other code calls `load_or_build_profile` and `evaluate_window` (or, on data it
already holds, `build_profile`, `WindowAccumulator` and `evaluate`) and gets the shared
`DriftEvaluation` that goes into the DriftMonitor's status.
"""

from modelplane_operator.drift.cli import main
from modelplane_operator.drift.config import DriftConfig, FeatureSpec, ProfileParams
from modelplane_operator.drift.engine import WindowAccumulator, evaluate, plan_tests
from modelplane_operator.drift.job import evaluate_window, load_or_build_profile
from modelplane_operator.drift.profile import ReferenceProfile, build_profile

__all__ = [
    "DriftConfig",
    "FeatureSpec",
    "ProfileParams",
    "ReferenceProfile",
    "WindowAccumulator",
    "build_profile",
    "evaluate",
    "evaluate_window",
    "load_or_build_profile",
    "main",
    "plan_tests",
]
