"""The candidate's evaluation during a rollout: its payload logs over the stable's window,
against the stable's reference profile (the same object, built or loaded once per run).

Called by the job's command line after the stable's evaluation. It never fails the run: too few
rows is an evaluation with `insufficientData`, and logs that cannot be read are reported in the
result's `message`, because the stable's evaluation (which drives conditions and alerts) stands
on its own.
"""

from __future__ import annotations

import logging
from datetime import datetime

from modelplane_crds.drift_monitor import CandidateEvaluation
from modelplane_operator.drift.config import DriftConfig
from modelplane_operator.drift.job import evaluate_window
from modelplane_operator.drift.profile import ReferenceProfile

log = logging.getLogger(__name__)


def evaluate_candidate(
    profile: ReferenceProfile,
    window_uri: str,
    version: str,
    config: DriftConfig,
    start: datetime,
    end: datetime,
) -> CandidateEvaluation:
    """Evaluate the candidate's window; a read failure becomes the result's message."""
    try:
        evaluation = evaluate_window(profile, window_uri, config, start, end)
    except (OSError, ValueError) as exc:
        log.warning("candidate %s not evaluated: %s", version, exc)
        message = f"cannot read the candidate's payload logs: {exc}"[:1024]
        return CandidateEvaluation(model_version=version, message=message)
    log.info("candidate %s: %s", version, evaluation.model_dump_json(by_alias=True))
    return CandidateEvaluation(model_version=version, evaluation=evaluation)
