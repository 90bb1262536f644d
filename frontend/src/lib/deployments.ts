/** Readers of a deployment's status blocks (traffic, analysis, rollback, the canary steps), which
 * the facade passes through as the ModelDeployment has them (camelCase, typed loosely in the
 * OpenAPI document), and the rules for when a rollout is running. */

import type { Schemas } from "./api/client";

type Deployment = Schemas["DeploymentPublic"];

export interface Traffic {
  stable: number;
  candidate: number;
  mirror: number;
}

export interface Measurement {
  at: string;
  check: string;
  value: number;
  threshold: number;
  /** null: too few samples in the interval to decide. */
  passed: boolean | null;
  samples: number;
}

export interface AnalysisState {
  measurements: Measurement[];
  failedIntervals: number;
  passedIntervals: number;
  lastRunAt: string | null;
}

export interface RollbackRecord {
  reason: string;
  message: string;
  at: string | null;
  rejectedVersion: string;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function percent(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** The split the operator reports; null before it has reported one. */
export function traffic(deployment: Deployment): Traffic | null {
  if (!deployment.traffic) return null;
  const raw = record(deployment.traffic);
  return { stable: percent(raw.stable), candidate: percent(raw.candidate), mirror: percent(raw.mirror) };
}

export function analysis(deployment: Deployment): AnalysisState | null {
  if (!deployment.analysis) return null;
  const raw = record(deployment.analysis);
  const measurements = Array.isArray(raw.measurements) ? raw.measurements.map(record) : [];
  return {
    measurements: measurements.map((m) => ({
      at: text(m.at) ?? "",
      check: text(m.check) ?? "",
      value: Number(m.value ?? Number.NaN),
      threshold: Number(m.threshold ?? Number.NaN),
      passed: typeof m.passed === "boolean" ? m.passed : null,
      samples: typeof m.samples === "number" ? m.samples : 0,
    })),
    failedIntervals: typeof raw.failedIntervals === "number" ? raw.failedIntervals : 0,
    passedIntervals: typeof raw.passedIntervals === "number" ? raw.passedIntervals : 0,
    lastRunAt: text(raw.lastRunAt),
  };
}

/** The newest measurement of each check (the operator appends, newest last), by check name. */
export function latestMeasurements(state: AnalysisState): Measurement[] {
  const byCheck = new Map<string, Measurement>();
  for (const measurement of state.measurements) byCheck.set(measurement.check, measurement);
  return [...byCheck.values()].sort((a, b) => a.check.localeCompare(b.check));
}

export function rollback(deployment: Deployment): RollbackRecord | null {
  if (!deployment.rollback) return null;
  const raw = record(deployment.rollback);
  return {
    reason: text(raw.reason) ?? "",
    message: text(raw.message) ?? "",
    at: text(raw.at),
    rejectedVersion: text(raw.rejectedVersion) ?? "",
  };
}

/** The canary steps of the spec, as words: "set weight 10 %", "pause 5m", "analysis (2 intervals)". */
export function canarySteps(spec: Record<string, unknown>): string[] {
  const steps = record(record(spec.strategy).canary).steps;
  if (!Array.isArray(steps)) return [];
  return steps.map((item) => {
    const step = record(item);
    if (typeof step.setWeight === "number") return `set weight ${step.setWeight} %`;
    if (step.pause !== undefined && step.pause !== null) {
      const duration = text(record(step.pause).duration);
      return duration ? `pause ${duration}` : "pause until resumed";
    }
    if (step.analysis !== undefined && step.analysis !== null) {
      const intervals = Number(record(step.analysis).intervals ?? 1);
      return `analysis (${intervals} passing interval${intervals === 1 ? "" : "s"})`;
    }
    return "unknown step";
  });
}

/** "Step 2 of 5: set weight 50 %", or null when no step is in progress. */
export function describeStep(deployment: Deployment): string | null {
  if (deployment.current_step === null || !deployment.candidate_version) return null;
  const steps = canarySteps(deployment.spec);
  const index = deployment.current_step;
  if (steps.length === 0) return `Step ${index + 1}`;
  const what = steps[index];
  return `Step ${Math.min(index + 1, steps.length)} of ${steps.length}${what ? `: ${what}` : " (all done)"}`;
}

/** Whether a rollout is under way (a candidate the operator has not rolled back, or the
 * deployment still converging): the page polls while it is. */
export function rolloutRunning(deployment: Deployment | undefined): boolean {
  if (!deployment) return false;
  if (deployment.phase === "Progressing") return true;
  return deployment.candidate_version !== null && deployment.rollout_state !== "RolledBack";
}

/** How often the detail page re-reads a deployment whose rollout is running. */
export const ROLLOUT_POLL_MS = 5_000;

export const PRESETS = {
  canary: "Canary: 10 % → 50 % → 100 %, analysis at each step",
  "all-at-once": "All at once, as soon as the candidate's pods are Ready",
} as const satisfies Record<Schemas["RolloutCreate"]["preset"], string>;

/** A check's value for people: rates in percent, latency in milliseconds, drift as is. */
export function formatMeasure(check: string, value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (check.toLowerCase().includes("latency")) return `${value.toFixed(0)} ms`;
  if (check.toLowerCase().endsWith("rate") || check.toLowerCase().includes("agreement")) return `${(value * 100).toFixed(2)} %`;
  return value.toFixed(3);
}

/** The detail page of a deployment (a query parameter: a static export has no dynamic paths). */
export function deploymentHref(name: string): string {
  return `/deployments/deployment/?name=${encodeURIComponent(name)}`;
}
