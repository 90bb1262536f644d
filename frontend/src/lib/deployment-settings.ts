/** A deployment's settings (environment, scaling, runtime, payload logging) as a form edits them:
 * read from the ModelDeployment's spec into text fields, checked against the CRD's limits, and
 * turned back into the facade's `PATCH` body with only the blocks that changed (a given block
 * replaces the whole block, so each is sent whole). */

import type { Schemas } from "./api/client";

export type Environment = "staging" | "production";
type Update = Schemas["DeploymentUpdate"];

export interface SettingsDraft {
  environment: Environment;
  scalingMode: "fixed" | "autoscale";
  replicas: string;
  minReplicas: string;
  maxReplicas: string;
  targetCpu: string;
  intraOpThreads: string;
  image: string;
  batching: boolean;
  maxBatchSize: string;
  maxLatencyMs: string;
  logging: boolean;
  /** Percent of requests logged. */
  samplePercent: string;
  logUri: string;
  /** Whether the spec has a payload logging block: the PATCH cannot remove one, so turning
   * logging off sends a sample rate of 0. */
  loggingDeclared: boolean;
}

export type SettingsField = Exclude<keyof SettingsDraft, "scalingMode" | "batching" | "logging" | "loggingDeclared">;
export type SettingsErrors = Partial<Record<SettingsField, string>>;

function block(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function field(value: unknown): string {
  return typeof value === "number" || typeof value === "string" ? String(value) : "";
}

/** The percent of a sample rate, without float noise (0.1 → "10"). */
function percentOf(rate: number): string {
  return String(Math.round(rate * 1e6) / 1e4);
}

/** The form's fields for a deployment's spec (omitted blocks as the CRD defaults them). */
export function draftFromSpec(spec: Record<string, unknown>, environment: string): SettingsDraft {
  const scaling = block(spec.scaling);
  const runtime = block(spec.runtime);
  const batching = spec.runtime !== undefined ? block(runtime.batching) : {};
  const logging = spec.payloadLogging ? block(spec.payloadLogging) : null;
  const rate = typeof logging?.sampleRate === "number" ? logging.sampleRate : logging ? 1 : 0;
  const autoscale = scaling.maxReplicas !== undefined && scaling.maxReplicas !== null;
  return {
    environment: environment === "production" ? "production" : "staging",
    scalingMode: autoscale ? "autoscale" : "fixed",
    replicas: autoscale ? "1" : field(scaling.replicas ?? 1),
    minReplicas: field(scaling.minReplicas),
    maxReplicas: field(scaling.maxReplicas),
    targetCpu: field(scaling.targetCPUUtilizationPercent),
    intraOpThreads: field(runtime.intraOpThreads),
    image: field(runtime.image),
    batching: runtime.batching !== undefined && runtime.batching !== null,
    maxBatchSize: field(batching.maxBatchSize ?? 1),
    maxLatencyMs: field(batching.maxLatencyMs ?? 5),
    logging: logging !== null && rate > 0,
    samplePercent: rate > 0 ? percentOf(rate) : "10",
    logUri: field(logging?.uri),
    loggingDeclared: logging !== null,
  };
}

/** A whole number in [min, max] from a field; `optional` fields may be blank (undefined). */
function integer(
  text: string,
  min: number,
  max: number,
  errors: SettingsErrors,
  name: SettingsField,
  optional = false,
): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "") {
    if (!optional) errors[name] = "Required.";
    return undefined;
  }
  const value = Number(trimmed);
  if (!Number.isInteger(value) || value < min || value > max) {
    errors[name] = `A whole number from ${min} to ${max}.`;
    return undefined;
  }
  return value;
}

function decimal(text: string, min: number, max: number, errors: SettingsErrors, name: SettingsField): number | undefined {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    errors[name] = `A number from ${min} to ${max}.`;
    return undefined;
  }
  return value;
}

function buildScaling(draft: SettingsDraft, errors: SettingsErrors): Schemas["Scaling"] {
  if (draft.scalingMode === "fixed") return { replicas: integer(draft.replicas, 0, 1000, errors, "replicas") };
  const min = integer(draft.minReplicas, 1, 1000, errors, "minReplicas", true);
  const max = integer(draft.maxReplicas, 1, 1000, errors, "maxReplicas");
  const target = integer(draft.targetCpu, 1, 100, errors, "targetCpu", true);
  if (min !== undefined && max !== undefined && min > max) errors.minReplicas = "At most the maximum.";
  return { minReplicas: min, maxReplicas: max, targetCPUUtilizationPercent: target };
}

function buildRuntime(draft: SettingsDraft, errors: SettingsErrors): Schemas["RuntimeSettings"] {
  const image = draft.image.trim();
  if (image.length > 1024) errors.image = "At most 1024 characters.";
  return {
    image: image || undefined,
    intraOpThreads: integer(draft.intraOpThreads, 1, 256, errors, "intraOpThreads", true),
    batching: draft.batching
      ? {
          maxBatchSize: integer(draft.maxBatchSize, 1, 1024, errors, "maxBatchSize") ?? 1,
          maxLatencyMs: decimal(draft.maxLatencyMs, 0, 1000, errors, "maxLatencyMs") ?? 0,
        }
      : undefined,
  };
}

function buildLogging(draft: SettingsDraft, errors: SettingsErrors): Schemas["PayloadLogging"] | undefined {
  const uri = draft.logUri.trim();
  if (uri && !/^s3:\/\/\S+$/.test(uri)) errors.logUri = "An s3://bucket/prefix address, or blank for the organization's bucket.";
  if (!draft.logging) return draft.loggingDeclared ? { sampleRate: 0, uri: uri || undefined } : undefined;
  const percent = decimal(draft.samplePercent, 0, 100, errors, "samplePercent");
  return { sampleRate: percent === undefined ? 0 : Number((percent / 100).toFixed(6)), uri: uri || undefined };
}

/** The blocks of a draft as the facade takes them (undefined fields are left out in JSON). */
function build(draft: SettingsDraft, errors: SettingsErrors) {
  return {
    scaling: buildScaling(draft, errors),
    runtime: buildRuntime(draft, errors),
    payload_logging: buildLogging(draft, errors),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The `PATCH` body of what the person changed (blocks equal to the starting ones are left
 * out, so untouched settings are not re-declared), or the errors to show beside the fields. */
export function settingsUpdate(
  initial: SettingsDraft,
  draft: SettingsDraft,
  mayUseProduction: boolean,
): { errors: SettingsErrors; body: Update } {
  const errors: SettingsErrors = {};
  const before = build(initial, {});
  const after = build(draft, errors);
  if (draft.environment !== initial.environment && (draft.environment === "production" || initial.environment === "production") && !mayUseProduction) {
    errors.environment = "Only the organization's admins can move a deployment into or out of production.";
  }
  const body: Update = {};
  if (draft.environment !== initial.environment) body.environment = draft.environment;
  if (!same(before.scaling, after.scaling)) body.scaling = after.scaling;
  if (!same(before.runtime, after.runtime)) body.runtime = after.runtime;
  if (after.payload_logging && !same(before.payload_logging, after.payload_logging)) body.payload_logging = after.payload_logging;
  return { errors, body };
}

/** The settings of a spec in words, for those who may not change them and after a save. */
export function describeSettings(spec: Record<string, unknown>): { scaling: string; runtime: string; logging: string } {
  const draft = draftFromSpec(spec, "staging");
  const pods = (n: string) => `${n} pod${n === "1" ? "" : "s"}`;
  const scaling =
    draft.scalingMode === "fixed"
      ? `${pods(draft.replicas)} per variant`
      : `autoscaled from ${draft.minReplicas || "1"} to ${draft.maxReplicas} pods per variant at ${draft.targetCpu || "70"} % CPU`;
  const runtime = [
    draft.intraOpThreads ? `${draft.intraOpThreads} threads per operator` : "threads: the pod's CPU limit",
    draft.batching ? `batches of up to ${draft.maxBatchSize} within ${draft.maxLatencyMs} ms` : "no batching",
    draft.image ? `image ${draft.image}` : "the platform's serving image",
  ].join(", ");
  const logging = draft.logging
    ? `${draft.samplePercent} % of requests, to ${draft.logUri || "the organization's bucket"}`
    : "off";
  return { scaling, runtime, logging };
}
