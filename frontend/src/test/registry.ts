/** Registry data of the facade, as the unit tests' handlers answer it. */

import { org } from "./server";

export const acme = org("acme");

export function model(name: string, latest: number | null) {
  return {
    id: `00000000-0000-4000-a000-${name.padStart(12, "0")}`,
    organization_id: acme.id,
    project_id: null,
    name,
    description: "",
    task_type: "classification",
    tags: {},
    latest_version: latest,
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-02T10:00:00Z",
    created_by: null,
  };
}

export const fraud = model("fraud", 2);

export function version(n: number, state: "ready" | "stalled", reason: string | null) {
  return {
    id: `00000000-0000-4000-b000-00000000000${n}`,
    organization_id: acme.id,
    model_id: fraud.id,
    version: n,
    resource_name: `fraud-v${n}`,
    namespace: "mp-acme",
    description: "",
    source: "upload",
    mlflow_run_id: null,
    mlflow_version: null,
    mlflow_error: null,
    artifact_uri: `s3://models/mp-acme/fraud/${n}/model.onnx`,
    sha256: `${n}`.repeat(64),
    size_bytes: 2048,
    signature: {},
    features: [],
    reference_dataset: null,
    state,
    reason,
    message: null,
    conditions: [
      { type: "Ready", status: state === "ready" ? "True" : "False", reason: reason ?? "Verified", message: null },
      { type: "ArtifactVerified", status: state === "ready" ? "True" : "False", reason: reason ?? "DigestMatches", message: "sha256 checked" },
    ],
    used_by: [],
    created_at: "2026-12-01T11:00:00Z",
    created_by: null,
  };
}

/** A staging deployment of fraud-v1 as the facade reads it, before the operator has reported. */
export function deployment(name: string, overrides: Record<string, unknown> = {}) {
  return {
    name,
    namespace: "mp-acme",
    model: "fraud",
    environment: "staging",
    phase: "Pending" as const,
    reason: null,
    message: "the operator has not reconciled it yet",
    stable_version: "fraud-v1",
    candidate_version: null,
    serving_version: null,
    rollout_state: null,
    traffic: null,
    current_step: null,
    analysis: null,
    rollback: null,
    url: null,
    spec: { stable: { modelVersionRef: { name: "fraud-v1" } }, environment: "staging" },
    conditions: [],
    created_at: "2026-12-03T10:00:00Z",
    ...overrides,
  };
}

/** fraud-staging halfway through a canary of fraud-v2: step 3 of 5 at 50 %, analysis passing. */
export const canarying = deployment("fraud-staging", {
  phase: "Progressing",
  reason: "CanaryProgressing",
  message: "step 3 of 5",
  candidate_version: "fraud-v2",
  serving_version: "fraud-v1",
  rollout_state: "Progressing",
  traffic: { stable: 50, candidate: 50, mirror: 0 },
  current_step: 2,
  analysis: {
    measurements: [
      { at: "2026-12-03T10:05:00Z", check: "errorRate", value: 0.02, threshold: 0.01, passed: false, samples: 120 },
      { at: "2026-12-03T10:06:00Z", check: "errorRate", value: 0.004, threshold: 0.01, passed: true, samples: 130 },
      { at: "2026-12-03T10:06:00Z", check: "latencyP99", value: 87, threshold: 250, passed: true, samples: 130 },
    ],
    failedIntervals: 1,
    passedIntervals: 1,
    lastRunAt: "2026-12-03T10:06:00Z",
  },
  url: "http://fraud-staging.mp-acme.svc",
  spec: {
    stable: { modelVersionRef: { name: "fraud-v1" } },
    candidate: { modelVersionRef: { name: "fraud-v2" } },
    strategy: { canary: { steps: [{ setWeight: 10 }, { analysis: { intervals: 1 } }, { setWeight: 50 }, { pause: {} }, { setWeight: 100 }] } },
  },
});
