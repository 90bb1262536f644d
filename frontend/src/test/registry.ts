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
