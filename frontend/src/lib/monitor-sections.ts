/** The optional sections of the drift-monitor forms, beyond the basic fields: the window's type
 * (tumbling or sliding), the drift tests' alpha, distance thresholds and per-feature overrides,
 * prediction drift, and live quality from feedback (`spec.quality`). Pure: a spec's sections as
 * the form's starting values (`sectionsDraftOf`), the form's fields written over a spec
 * (`withSections`: a field left as it was read leaves the spec as it was, defaults included),
 * and the rules the facade's 422 would name, in its words (`sectionProblems`, from the CEL
 * rules of `modelplane_crds.drift_monitor` and `modelplane_crds.quality`). */

import type { Schemas } from "./api/client";

type Spec = Record<string, unknown>;
export type DriftTest = NonNullable<Schemas["FeatureTests"]["defaultTest"]>;
export type QualitySpec = Schemas["QualitySpec"];
export type QualityMetricName = Schemas["QualityThreshold"]["metric"];
export type QualityThreshold = Schemas["QualityThreshold"];
export type FeatureOverride = Schemas["FeatureOverride"];
export type DistanceTest = "psi" | "jsd" | "wasserstein";

export const DISTANCE_TESTS: DistanceTest[] = ["psi", "jsd", "wasserstein"];
/** The CRD's default distance thresholds (`DistanceThresholds`). */
export const DEFAULT_THRESHOLDS: Record<DistanceTest, number> = { psi: 0.2, jsd: 0.1, wasserstein: 0.1 };
export const DEFAULT_ALPHA = 0.05;
export const CLASSIFICATION_METRICS: QualityMetricName[] = ["accuracy", "precision", "recall", "f1", "auc", "logLoss"];
export const REGRESSION_METRICS: QualityMetricName[] = ["mae", "rmse"];
const SCORE_METRICS: ReadonlySet<string> = new Set(["auc", "logLoss"]);
const P_VALUE_TESTS: ReadonlySet<string> = new Set(["ks", "chi2"]);
/** `OUTPUT_COLUMN` and `DURATION` of the CRDs, as HTML patterns. */
export const OUTPUT_COLUMN_PATTERN = "output\\.[A-Za-z0-9_.:/\\-]+";
export const DURATION_PATTERN = "([0-9]+(\\.[0-9]+)?(ms|s|m|h))+";

export interface SectionsDraft {
  windowType: "tumbling" | "sliding";
  alpha: number;
  thresholds: Record<DistanceTest, number>;
  overrides: FeatureOverride[];
  /** Off when the spec has no `predictionDrift` or it is disabled. */
  predictionDrift: { enabled: boolean; test: DriftTest };
  /** Null without a `quality` section. */
  quality: QualitySpec | null;
}

export const NEW_SECTIONS: SectionsDraft = {
  windowType: "tumbling",
  alpha: DEFAULT_ALPHA,
  thresholds: DEFAULT_THRESHOLDS,
  overrides: [],
  predictionDrift: { enabled: false, test: "auto" },
  quality: null,
};

function objectAt(value: unknown, key: string): Spec {
  const found = typeof value === "object" && value !== null ? (value as Spec)[key] : undefined;
  return typeof found === "object" && found !== null && !Array.isArray(found) ? (found as Spec) : {};
}

/** A spec's sections as the form's starting values, the CRD's defaults where it says nothing. */
export function sectionsDraftOf(spec: Spec): SectionsDraft {
  const features = objectAt(spec, "features");
  const thresholds = objectAt(features, "thresholds");
  const prediction = objectAt(spec, "predictionDrift");
  const quality = spec.quality;
  return {
    windowType: objectAt(spec, "window").type === "sliding" ? "sliding" : "tumbling",
    alpha: typeof features.alpha === "number" ? features.alpha : DEFAULT_ALPHA,
    thresholds: {
      psi: typeof thresholds.psi === "number" ? thresholds.psi : DEFAULT_THRESHOLDS.psi,
      jsd: typeof thresholds.jsd === "number" ? thresholds.jsd : DEFAULT_THRESHOLDS.jsd,
      wasserstein: typeof thresholds.wasserstein === "number" ? thresholds.wasserstein : DEFAULT_THRESHOLDS.wasserstein,
    },
    overrides: Array.isArray(features.overrides) ? (features.overrides as FeatureOverride[]) : [],
    predictionDrift: {
      enabled: typeof spec.predictionDrift === "object" && spec.predictionDrift !== null && prediction.enabled !== false,
      test: typeof prediction.test === "string" ? (prediction.test as DriftTest) : "auto",
    },
    quality: typeof quality === "object" && quality !== null ? (quality as QualitySpec) : null,
  };
}

/** A value with its objects' keys sorted, so two specs compare by content. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, canonical(v)]),
    );
  return value;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** `current` with `key` set to `value` — unless it already holds it, or holds nothing and
 * `fallback` (the CRD's default) is `value`: an untouched field leaves the spec as read.
 * `undefined` removes the key. */
function withField(current: Spec, key: string, value: unknown, fallback?: unknown): Spec {
  if (same(current[key] ?? fallback, value)) return current;
  const rest = { ...current };
  delete rest[key];
  return value === undefined ? rest : { ...current, [key]: value };
}

function reader(form: FormData) {
  const text = (key: string) => String(form.get(key) ?? "").trim();
  const number = (key: string) => (text(key) === "" ? undefined : Number(text(key)));
  const optional = (key: string) => text(key) || undefined;
  return { text, number, optional };
}

/** The per-feature override rows of the form, in order (`override` holds each row's id). */
function overridesFromForm(form: FormData): FeatureOverride[] {
  const { text, number, optional } = reader(form);
  return form.getAll("override").map((id) => {
    const field = (name: string) => `override-${String(id)}-${name}`;
    const test = optional(field("test")) as DriftTest | undefined;
    const threshold = number(field("threshold"));
    const alpha = number(field("alpha"));
    return {
      name: text(field("name")),
      ...(test ? { test } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      ...(alpha !== undefined ? { alpha } : {}),
    };
  });
}

/** The quality metric rows of the form, in order (`metric` holds each row's id). */
function metricsFromForm(form: FormData): QualityThreshold[] {
  const { text, number } = reader(form);
  return form.getAll("metric").map((id) => {
    const field = (name: string) => `metric-${String(id)}-${name}`;
    const min = number(field("min"));
    const max = number(field("max"));
    return { metric: text(field("name")) as QualityMetricName, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  });
}

function featuresFromForm(current: Spec, form: FormData): Spec {
  const { number } = reader(form);
  let features = withField(current, "alpha", number("alpha"), DEFAULT_ALPHA);
  const thresholds = objectAt(features, "thresholds");
  let changed = thresholds;
  for (const test of DISTANCE_TESTS) changed = withField(changed, test, number(`threshold-${test}`), DEFAULT_THRESHOLDS[test]);
  if (changed !== thresholds) features = { ...features, thresholds: changed };
  return withField(features, "overrides", overridesFromForm(form), []);
}

function predictionDriftFromForm(current: unknown, form: FormData): Spec | undefined {
  const on = form.get("predictionDrift") === "on";
  const test = reader(form).text("predictionTest") || "auto";
  if (typeof current !== "object" || current === null) return on ? { enabled: true, test } : undefined;
  return withField(withField(current as Spec, "enabled", on, true), "test", test, "auto");
}

function qualityFromForm(current: unknown, form: FormData): Spec | undefined {
  if (form.get("quality") !== "on") return undefined;
  const { text, number, optional } = reader(form);
  let quality: Spec = typeof current === "object" && current !== null ? (current as Spec) : {};
  const fields: [string, unknown, unknown][] = [
    ["task", text("qualityTask"), undefined],
    ["prediction", text("qualityPrediction"), undefined],
    ["score", optional("qualityScore"), undefined],
    ["labelColumn", optional("qualityLabelColumn"), undefined],
    ["positiveLabel", optional("qualityPositiveLabel"), undefined],
    ["average", optional("qualityAverage"), undefined],
    ["metrics", metricsFromForm(form), undefined],
    ["minLabelledRows", number("qualityMinLabelledRows"), 100],
    ["labelDelay", text("qualityLabelDelay"), "0s"],
  ];
  for (const [key, value, fallback] of fields) quality = withField(quality, key, value, fallback);
  return quality;
}

/** The optional sections' fields written over `spec`: what was left as read stays as it was
 * (a field the spec leaves out and the form shows at its default is not added). */
export function withSections(spec: Spec, form: FormData): Spec {
  if (!form.has("sections")) return spec; // a form without them leaves them alone
  let result = spec;
  const window = objectAt(spec, "window");
  const windowType = withField(window, "type", reader(form).text("windowType") || "tumbling", "tumbling");
  if (windowType !== window) result = { ...result, window: windowType };
  const features = objectAt(spec, "features");
  const changed = featuresFromForm(features, form);
  if (changed !== features) result = { ...result, features: changed };
  result = withField(result, "predictionDrift", predictionDriftFromForm(spec.predictionDrift, form));
  return withField(result, "quality", qualityFromForm(spec.quality, form));
}

function qualityProblems(quality: Spec): string[] {
  const metrics = Array.isArray(quality.metrics) ? (quality.metrics as QualityThreshold[]) : [];
  const classification = quality.task === "classification";
  const problems: string[] = [];
  if (metrics.length === 0) problems.push("quality.metrics: add at least one metric");
  const allowed: readonly string[] = classification ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
  if (!metrics.every((m) => allowed.includes(m.metric)))
    problems.push("quality.metrics: classification takes accuracy, precision, recall, f1, auc and logLoss; regression takes mae and rmse");
  if (new Set(metrics.map((m) => m.metric)).size !== metrics.length) problems.push("quality.metrics: each metric at most once");
  if (quality.score === undefined && metrics.some((m) => SCORE_METRICS.has(m.metric))) problems.push("quality.score: auc and logLoss need a score column");
  if (!classification && (quality.score !== undefined || quality.positiveLabel !== undefined || quality.average !== undefined))
    problems.push("quality.task: score, positiveLabel and average apply only to classification");
  if (!classification && quality.labelColumn !== undefined && quality.labelColumn !== "value")
    problems.push("quality.labelColumn: regression compares with the feedback's numeric value column");
  metrics.forEach((m, i) => {
    if (m.min !== undefined && m.min !== null && m.max !== undefined && m.max !== null && m.min > m.max)
      problems.push(`quality.metrics[${i}].max: min must not exceed max`);
  });
  return problems;
}

function overrideProblems(overrides: FeatureOverride[]): string[] {
  const problems: string[] = [];
  overrides.forEach((o, i) => {
    if (o.alpha !== undefined && o.alpha !== null && o.test && o.test !== "auto" && !P_VALUE_TESTS.has(o.test))
      problems.push(`features.overrides[${i}].alpha: alpha applies only to the p-value tests ks and chi2`);
    if (o.threshold !== undefined && o.threshold !== null && o.test && P_VALUE_TESTS.has(o.test))
      problems.push(`features.overrides[${i}].threshold: threshold applies only to the distance tests psi, jsd and wasserstein`);
  });
  if (new Set(overrides.map((o) => o.name)).size !== overrides.length) problems.push("features.overrides: each feature at most once");
  return problems;
}

/** What the facade would refuse in the sections of `spec` (its CEL rules), one line each in its
 * words and where (`quality.score: auc and logLoss need a score column`); empty when nothing. */
export function sectionProblems(spec: Spec): string[] {
  const features = objectAt(spec, "features");
  const overrides = Array.isArray(features.overrides) ? (features.overrides as FeatureOverride[]) : [];
  const quality = objectAt(spec, "quality");
  return [...overrideProblems(overrides), ...(spec.quality ? qualityProblems(quality) : [])];
}

/** The sections break a rule the facade would refuse: nothing was sent. */
export class InvalidSections extends Error {
  constructor(readonly problems: string[]) {
    super(`Not sent, the facade would refuse it: ${problems.join("; ")}`);
    this.name = "InvalidSections";
  }
}

/** `spec`, or an `InvalidSections` thrown with what the facade would refuse in it. */
export function checkSections<T extends object>(spec: T): T {
  const problems = sectionProblems(spec as Spec);
  if (problems.length) throw new InvalidSections(problems);
  return spec;
}
