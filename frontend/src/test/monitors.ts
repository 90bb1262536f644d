import type { Monitor } from "@/lib/monitors";

/** A DriftMonitor as the facade answers it before the operator saw it; `status` overrides. */
export function monitor(name: string, status: Partial<Monitor> = {}): Monitor {
  return {
    name,
    namespace: "mp-acme",
    deployment: "fraud-staging",
    spec: { deploymentRef: { name: "fraud-staging" }, schedule: "*/15 * * * *" },
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

/** An evaluated monitor: two of four features drifted (the dataset did at 50 %), one output
 * tested, a failed webhook alert, and a later run that could not read the logs. */
export const evaluated = monitor("fraud-drift", {
  state: "ready",
  reason: "Scheduled",
  message: "runs */15 * * * *",
  conditions: [
    { type: "Ready", status: "True", reason: "Scheduled", message: "runs */15 * * * *" },
    { type: "DriftDetected", status: "True", reason: "DatasetDrift", message: "2 of 4 features drifted" },
  ],
  last_evaluation: {
    windowStart: "2026-12-04T03:00:00Z",
    windowEnd: "2026-12-04T04:00:00Z",
    samples: 812,
    features: [
      { feature: "amount", test: "ks", statistic: 0.31, pValue: 0.00001, threshold: 0.05, drifted: true, samples: 812 },
      { feature: "country", test: "psi", statistic: 0.05, threshold: 0.2, drifted: false, samples: 800 },
    ],
    dataset: { share: 0.5, threshold: 0.5, drifted: true },
    predictionDrift: [{ feature: "score", test: "wasserstein", statistic: 0.4, threshold: 0.1, drifted: true, samples: 812 }],
  },
  last_schedule_time: "2026-12-04T04:15:00Z",
  evaluated_version: "fraud-v2",
  recent_evaluations: [
    { window_end: "2026-12-04T04:00:00Z", model_version: "fraud-v2", samples: 812, share: 0.5, drifted: true, insufficient_data: false },
    { window_end: "2026-12-04T03:00:00Z", model_version: "fraud-v2", samples: 790, share: 0.25, drifted: false, insufficient_data: false },
    { window_end: "2026-12-04T02:00:00Z", model_version: "fraud-v1", samples: 12, share: null, drifted: false, insufficient_data: true },
  ],
  last_failure: { time: "2026-12-04T04:15:00Z", reason: "DataUnavailable", message: "the payload log bucket did not answer" },
  alerts: [
    { sink: 0, type: "webhook", alert: "drift", state: "firing", outcome: "Failed", reason: "HTTPError", message: "503 from the receiver", attempts: 3, time: "2026-12-04T04:01:00Z" },
    { sink: 1, type: "alertmanager", alert: "drift", state: "firing", outcome: "Delivered", reason: "Accepted", message: "", attempts: 1, time: "2026-12-04T04:01:00Z" },
    { sink: 1, type: "alertmanager", alert: "quality", state: "resolved", outcome: "Delivered", reason: "Accepted", message: "", attempts: 1, time: "2026-12-04T04:01:01Z" },
  ],
});
