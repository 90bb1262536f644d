/** MLflow experiments and runs as the facade's dashboard endpoints answer them, for unit tests. */

import type { Schemas } from "@/lib/api/client";

export function experiment(id: string, name: string): Schemas["ExperimentPublic"] {
  return {
    id,
    name,
    lifecycle_stage: "active",
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-02T10:00:00Z",
    tags: {},
  };
}

export const fraudExperiment = experiment("7", "fraud");

/** A run id (32 hex digits) ending in `n`. */
export function runId(n: number): string {
  return n.toString(16).padStart(32, "0");
}

/** A finished run of the fraud experiment. */
export function run(
  n: number,
  name: string,
  params: Record<string, string>,
  metrics: Record<string, number>,
  overrides: Partial<Schemas["RunSummary"]> = {},
): Schemas["RunSummary"] {
  return {
    id: runId(n),
    name,
    experiment_id: fraudExperiment.id,
    status: "FINISHED",
    lifecycle_stage: "active",
    started_at: "2026-12-03T10:00:00Z",
    ended_at: "2026-12-03T10:02:05Z",
    metrics,
    params,
    tags: {},
    ...overrides,
  };
}

export const depth4 = run(1, "depth-4", { depth: "4", lr: "0.1" }, { auc: 0.8, loss: 0.05 });
export const depth8 = run(2, "depth-8", { depth: "8", lr: "0.1" }, { auc: 0.9, loss: 0.048 });

/** A metric's history as the facade answers it: `values` at steps 0, 1, 2 … */
export function history(runId: string, key: string, values: number[]): Schemas["MetricHistory"] {
  return { run_id: runId, key, points: values.map((value, step) => ({ step, value, timestamp: null })) };
}
