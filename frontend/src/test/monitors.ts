import type { Evaluation, Monitor, Quality } from "@/lib/monitors";

/** A DriftMonitor as the facade answers it before the operator saw it; `status` overrides. */
export function monitor(name: string, status: Partial<Monitor> = {}): Monitor {
  return {
    name,
    namespace: "mp-acme",
    deployment: "fraud-staging",
    spec: { deploymentRef: { name: "fraud-staging" }, schedule: "*/15 * * * *" },
    generation: 1,
    state: "pending",
    reason: null,
    message: "the operator has not reconciled it yet",
    conditions: [],
    last_evaluation: null,
    last_schedule_time: null,
    last_quality: null,
    candidate_evaluation: null,
    evaluated_version: null,
    recent_evaluations: [],
    last_failure: null,
    alerts: [],
    ...status,
  };
}

/** A drift evaluation of the 03:00–04:00 window (the shape of `status.lastEvaluation`). */
export function driftEvaluation(overrides: Partial<Evaluation> = {}): Evaluation & Record<string, unknown> {
  return { windowStart: "2026-12-04T03:00:00Z", windowEnd: "2026-12-04T04:00:00Z", samples: 0, features: [], ...overrides };
}

/** An evaluated monitor: two of four features drifted (the dataset did at 50 %), one output
 * tested, a failed webhook alert, and a later run that could not read the logs. Its spec names
 * an explicit reference dataset and two sinks (a signed webhook, an Alertmanager). */
export const evaluated = monitor("fraud-drift", {
  spec: {
    deploymentRef: { name: "fraud-staging" },
    schedule: "*/15 * * * *",
    reference: { uri: "s3://reference/fraud.parquet", sha256: "ab".repeat(32), format: "parquet" },
    alerts: [
      { webhook: { urlSecretRef: { name: "fraud-hooks", key: "url" }, signingSecretRef: { name: "fraud-signing", key: "key" } }, severity: "critical" },
      { alertmanager: { url: "http://alertmanager.monitoring:9093" }, severity: "warning" },
    ],
  },
  state: "ready",
  reason: "Scheduled",
  message: "runs */15 * * * *",
  conditions: [
    { type: "Ready", status: "True", reason: "Scheduled", message: "runs */15 * * * *" },
    { type: "DriftDetected", status: "True", reason: "DatasetDrift", message: "2 of 4 features drifted" },
  ],
  last_evaluation: driftEvaluation({
    samples: 812,
    features: [
      { feature: "amount", test: "ks", statistic: 0.31, pValue: 0.00001, threshold: 0.05, drifted: true, samples: 812 },
      { feature: "country", test: "psi", statistic: 0.05, threshold: 0.2, drifted: false, samples: 800 },
    ],
    dataset: { share: 0.5, threshold: 0.5, drifted: true },
    predictionDrift: [{ feature: "score", test: "wasserstein", statistic: 0.4, threshold: 0.1, drifted: true, samples: 812 }],
  }),
  last_schedule_time: "2026-12-04T04:15:00Z",
  evaluated_version: "fraud-v2",
  recent_evaluations: [
    { window_end: "2026-12-04T04:00:00Z", model_version: "fraud-v2", role: "stable", samples: 812, share: 0.5, drifted: true, insufficient_data: false },
    { window_end: "2026-12-04T04:00:00Z", model_version: "fraud-v3", role: "candidate", samples: 95, share: 0.75, drifted: true, insufficient_data: false },
    { window_end: "2026-12-04T03:00:00Z", model_version: "fraud-v2", role: "stable", samples: 790, share: 0.25, drifted: false, insufficient_data: false },
    { window_end: "2026-12-04T02:00:00Z", model_version: "fraud-v1", role: "stable", samples: 12, share: null, drifted: false, insufficient_data: true },
  ],
  last_failure: { time: "2026-12-04T04:15:00Z", reason: "DataUnavailable", message: "the payload log bucket did not answer" },
  alerts: [
    { sink: 0, type: "webhook", alert: "drift", state: "firing", outcome: "Failed", reason: "HTTPError", message: "503 from the receiver", attempts: 3, time: "2026-12-04T04:01:00Z" },
    { sink: 1, type: "alertmanager", alert: "drift", state: "firing", outcome: "Delivered", reason: "Accepted", message: "", attempts: 1, time: "2026-12-04T04:01:00Z" },
    { sink: 1, type: "alertmanager", alert: "quality", state: "resolved", outcome: "Delivered", reason: "Accepted", message: "", attempts: 1, time: "2026-12-04T04:01:01Z" },
  ],
});

/** One version's scored window (the shape of `status.lastQuality`); `overrides` change it. */
export function quality(overrides: Partial<Quality> = {}): Quality & Record<string, unknown> {
  return {
    windowStart: "2026-12-04T03:00:00Z",
    windowEnd: "2026-12-04T04:00:00Z",
    labelsUntil: "2026-12-04T04:15:00Z",
    modelVersion: "fraud-v2",
    predictions: 5120,
    labelledRows: 812,
    ambiguousRows: 3,
    unmatchedFeedback: 37,
    metrics: [],
    degraded: false,
    insufficientData: false,
    ...overrides,
  };
}

const classification = {
  task: "classification",
  prediction: "output.label.0",
  score: "output.probability.1",
  metrics: [{ metric: "accuracy", min: 0.9 }, { metric: "auc", min: 0.8 }, { metric: "f1" }],
  minLabelledRows: 200,
};

/** The stable's accuracy below its minimum (auc passes, f1 has no threshold). */
export const degraded = monitor("fraud-quality", {
  ...evaluated,
  name: "fraud-quality",
  spec: { ...evaluated.spec, quality: classification },
  conditions: [
    ...evaluated.conditions,
    { type: "QualityDegraded", status: "True", reason: "BelowThreshold", message: "fraud-v2: accuracy 0.87 < min 0.9 (812 labelled)" },
  ],
  last_failure: null,
  last_quality: quality({
    degraded: true,
    metrics: [
      { metric: "accuracy", value: 0.87, min: 0.9, passed: false, rows: 812 },
      { metric: "auc", value: 0.93, min: 0.8, passed: true, rows: 790 },
      { metric: "f1", value: 0.71, rows: 812 },
    ],
  }),
});

/** Fewer labelled predictions than `minLabelledRows`: no metric, no decision. */
export const tooFewLabels = monitor("fraud-quality", {
  ...degraded,
  conditions: [
    { type: "QualityDegraded", status: "Unknown", reason: "TooFewLabels", message: "37 labelled predictions of fraud-v2 in the last scored window: too few to decide" },
  ],
  last_quality: quality({ labelledRows: 37, insufficientData: true, metrics: [] }),
});

const regression = { task: "regression", prediction: "output.score.0", metrics: [{ metric: "mae", max: 0.2 }, { metric: "rmse", max: 0.3 }] };

/** A canary whose candidate (fraud-v3) drifts and has a far worse mae than the stable, paused
 * by the monitor's `onQualityDegraded: pauseRollouts`. */
export const pausedCandidate = monitor("fraud-quality", {
  ...evaluated,
  name: "fraud-quality",
  spec: { ...evaluated.spec, quality: regression, actions: { onQualityDegraded: "pauseRollouts" } },
  conditions: [
    { type: "Ready", status: "True", reason: "Scheduled", message: "runs */15 * * * *" },
    { type: "QualityDegraded", status: "False", reason: "WithinThresholds", message: "fraud-v2: every metric within its thresholds (812 labelled)" },
    {
      type: "RolloutsPaused",
      status: "True",
      reason: "QualityDegraded",
      message:
        "paused the rollout of fraud-v3 on ModelDeployment fraud-staging: live quality mae 0.51 > max 0.2 in the window ending 2026-12-04T04:00:00Z; resuming is a person's decision (Resume in the dashboard, or annotate modelplane.io/resume)",
    },
  ],
  last_failure: null,
  last_quality: quality({
    metrics: [
      { metric: "mae", value: 0.03, max: 0.2, passed: true, rows: 812 },
      { metric: "rmse", value: 0.05, max: 0.3, passed: true, rows: 812 },
    ],
  }),
  candidate_evaluation: {
    modelVersion: "fraud-v3",
    evaluation: driftEvaluation({
      samples: 260,
      features: [
        { feature: "amount", test: "ks", statistic: 0.5, pValue: 0.000001, threshold: 0.05, drifted: true, samples: 260 },
        { feature: "country", test: "psi", statistic: 0.4, threshold: 0.2, drifted: true, samples: 260 },
      ],
      dataset: { share: 1, threshold: 0.5, drifted: true },
    }),
    quality: quality({
      modelVersion: "fraud-v3",
      predictions: 1300,
      labelledRows: 240,
      degraded: true,
      metrics: [
        { metric: "mae", value: 0.51, max: 0.2, passed: false, rows: 240 },
        { metric: "rmse", value: 0.04, max: 0.3, passed: true, rows: 240 },
      ],
    }),
  },
});

/** A canary whose candidate's logs could not be read: the stable's results stand. */
export const unreadCandidate = monitor("fraud-quality", {
  ...pausedCandidate,
  conditions: [
    ...pausedCandidate.conditions.filter((c) => c.type !== "RolloutsPaused"),
    { type: "RolloutsPaused", status: "False", reason: "NothingPaused", message: "no rollout of ModelDeployment fraud-staging paused for the last evaluation" },
  ],
  candidate_evaluation: { modelVersion: "fraud-v3", evaluation: null, quality: null, message: "no payload logs of fraud-v3 in the window" },
});
