"use client";

/** Drift monitors as the dashboard shows them: the facade's `/monitors` routes (the DriftMonitor
 * in the cluster is the record, its status the results), and the pure shaping the pages draw —
 * conditions said in words, the last evaluation's rows, the share of drifted features over the
 * recent evaluations, live quality from ground truth and the candidate beside the stable during a
 * rollout, and the create and edit forms turned into a `DriftMonitorSpec`. The last evaluation, the live
 * quality, the candidate's results and the conditions come through the facade as the operator
 * wrote them (camelCase), so their shapes are declared here from `modelplane_crds.drift_results`
 * and `modelplane_crds.quality`. */

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, expectOk, unwrap, type Schemas } from "./api/client";
import { useAuth } from "./auth";
import { withSections } from "./monitor-sections";

export type Monitor = Schemas["MonitorPublic"];
export type MonitorCreate = Schemas["MonitorCreate"];
export type EvaluationSummary = Schemas["EvaluationSummaryPublic"];
export type AlertDelivery = Schemas["AlertDeliveryPublic"];
export type DriftTest = NonNullable<Schemas["FeatureTests"]["defaultTest"]>;

export const DRIFT_TESTS: { value: DriftTest; label: string }[] = [
  { value: "auto", label: "auto (KS for numbers, chi-squared for categories)" },
  { value: "psi", label: "PSI (population stability index)" },
  { value: "ks", label: "KS (Kolmogorov-Smirnov)" },
  { value: "chi2", label: "chi-squared" },
  { value: "jsd", label: "Jensen-Shannon distance" },
  { value: "wasserstein", label: "Wasserstein distance" },
];

/** One test on one feature or model output (`FeatureDriftResult`). */
export interface FeatureResult {
  feature: string;
  test: string;
  statistic: number;
  pValue?: number | null;
  threshold: number;
  drifted: boolean;
  samples: number;
}

/** The last evaluation of a window (`DriftEvaluation`). */
export interface Evaluation {
  windowStart: string;
  windowEnd: string;
  samples: number;
  features?: FeatureResult[];
  dataset?: { share: number; threshold: number; drifted: boolean } | null;
  predictionDrift?: FeatureResult[];
  insufficientData?: boolean;
}

/** A condition as the operator wrote it. */
export interface MonitorCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export type QualityMetricName = "accuracy" | "precision" | "recall" | "f1" | "auc" | "logLoss" | "mae" | "rmse";

/** One metric of one scored window (`QualityMetricResult`). */
export interface QualityMetric {
  metric: QualityMetricName;
  value?: number | null;
  min?: number | null;
  max?: number | null;
  passed?: boolean | null;
  rows: number;
}

/** One version's predictions scored against ground truth over a window (`QualityEvaluation`). */
export interface Quality {
  windowStart: string;
  windowEnd: string;
  labelsUntil: string;
  modelVersion?: string | null;
  predictions: number;
  labelledRows: number;
  ambiguousRows: number;
  unmatchedFeedback: number;
  metrics?: QualityMetric[];
  degraded?: boolean;
  insufficientData?: boolean;
}

/** The candidate's traffic during a rollout, over the stable's window (`CandidateEvaluation`). */
export interface CandidateEvaluation {
  modelVersion: string;
  evaluation?: Evaluation | null;
  message?: string | null;
  quality?: Quality | null;
}

/** What the spec's `quality` section asks for, as far as the page needs it. */
export interface QualityAsked {
  task: string;
  minLabelledRows: number;
  labelDelay: string;
}

export function evaluationOf(monitor: Monitor): Evaluation | null {
  return (monitor.last_evaluation as Evaluation | null) ?? null;
}

export function qualityOf(monitor: Monitor): Quality | null {
  return (monitor.last_quality as Quality | null) ?? null;
}

export function candidateOf(monitor: Monitor): CandidateEvaluation | null {
  return (monitor.candidate_evaluation as CandidateEvaluation | null) ?? null;
}

/** The spec's `quality` section with the CRD's defaults, or null without one. */
export function qualityAskedOf(monitor: Monitor): QualityAsked | null {
  const quality = monitor.spec.quality;
  if (typeof quality !== "object" || quality === null) return null;
  const asked = quality as { task?: unknown; minLabelledRows?: unknown; labelDelay?: unknown };
  return {
    task: typeof asked.task === "string" ? asked.task : "",
    minLabelledRows: typeof asked.minLabelledRows === "number" ? asked.minLabelledRows : 100,
    labelDelay: typeof asked.labelDelay === "string" ? asked.labelDelay : "0s",
  };
}

/** The monitor's live-quality verdict in a word or two, for the list: null before any scored window. */
export function qualityVerdict(quality: Quality | null): "degraded" | "within thresholds" | "too few labels" | null {
  if (!quality) return null;
  if (quality.insufficientData) return "too few labels";
  return quality.degraded ? "degraded" : "within thresholds";
}

/** A metric's thresholds as a rule: `≥ 0.9`, `≤ 0.2`, `0.1 – 0.9`, or `none`. */
export function thresholdText(metric: Pick<QualityMetric, "min" | "max">): string {
  const min = metric.min ?? null;
  const max = metric.max ?? null;
  if (min !== null && max !== null) return `${formatNumber(min)} – ${formatNumber(max)}`;
  if (min !== null) return `≥ ${formatNumber(min)}`;
  if (max !== null) return `≤ ${formatNumber(max)}`;
  return "none";
}

/** A metric's verdict in words (never colour only). */
export function metricVerdict(metric: QualityMetric): string {
  if (metric.value === null || metric.value === undefined) return "undefined in this window";
  if (metric.passed === true) return "passed";
  if (metric.passed === false) return "failed";
  return "no threshold";
}

/** Metrics where a smaller value is better; the others (accuracy … auc) are better larger. */
const LOWER_IS_BETTER: ReadonlySet<string> = new Set(["logLoss", "mae", "rmse"]);

export type Comparison = "fails its threshold" | "worse" | "better" | "same" | "–";

/** One metric of the candidate beside the stable's. */
export interface MetricPair {
  metric: string;
  stable?: QualityMetric;
  candidate?: QualityMetric;
  comparison: Comparison;
}

/** How the candidate's metric compares with the stable's, by the metric's direction (`mae`
 * is better smaller, `auc` larger); a candidate outside its thresholds is said so unless it
 * still beats the stable. */
export function compareMetric(stable: QualityMetric | undefined, candidate: QualityMetric | undefined): Comparison {
  const c = candidate?.value;
  if (candidate === undefined || c === null || c === undefined) return "–";
  const s = stable?.value;
  const direction: Comparison =
    s === null || s === undefined
      ? "–"
      : Number(c.toPrecision(6)) === Number(s.toPrecision(6))
        ? "same"
        : (LOWER_IS_BETTER.has(candidate.metric) ? c > s : c < s)
          ? "worse"
          : "better";
  return candidate.passed === false && direction !== "better" ? "fails its threshold" : direction;
}

/** The stable's and the candidate's metrics side by side, in the stable's order. */
export function pairMetrics(stable: Quality | null | undefined, candidate: Quality | null | undefined): MetricPair[] {
  const stableMetrics = stable?.metrics ?? [];
  const candidateMetrics = candidate?.metrics ?? [];
  const names = [...new Set([...stableMetrics, ...candidateMetrics].map((m) => m.metric))];
  return names.map((metric) => {
    const s = stableMetrics.find((m) => m.metric === metric);
    const c = candidateMetrics.find((m) => m.metric === metric);
    return { metric, stable: s, candidate: c, comparison: compareMetric(s, c) };
  });
}

export function conditionsOf(monitor: Monitor): MonitorCondition[] {
  return monitor.conditions.filter((c): c is MonitorCondition & Record<string, unknown> => typeof c.type === "string");
}

const WORDS: Record<string, Record<string, string>> = {
  Ready: { True: "Scheduled: the drift job runs on its schedule", False: "Not running" },
  Stalled: { True: "Stalled: it will not run until this is fixed" },
  Reconciling: { True: "Being set up by the operator" },
  DriftDetected: { True: "Drift detected in the last window", False: "No drift in the last window" },
  InsufficientData: { True: "Too few samples in the last window to decide", False: "Enough samples in the last window" },
  QualityDegraded: {
    True: "Live quality below its thresholds",
    False: "Live quality within its thresholds",
    Unknown: "Too few labels in the last scored window to judge live quality",
  },
  RolloutsPaused: { True: "Rollout paused by this monitor", False: "No rollout paused by this monitor" },
};

/** A condition in one sentence: what it means, then the operator's reason and message. */
export function describeCondition(condition: MonitorCondition): string {
  const said = WORDS[condition.type]?.[condition.status] ?? `${condition.type} is ${condition.status}`;
  const reason = condition.reason ? ` (${condition.reason})` : "";
  const message = condition.message ? `: ${condition.message}` : "";
  return `${said}${reason}${message}.`;
}

/** A test's verdict rule: p-value below alpha for ks and chi2, statistic at or above the
 * threshold for the distances. */
export function decidesOnPValue(result: FeatureResult): boolean {
  return result.pValue !== undefined && result.pValue !== null;
}

export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (value !== 0 && Math.abs(value) < 10 ** -digits) return value.toExponential(1);
  return String(Number(value.toFixed(digits)));
}

export function formatShare(share: number | null | undefined): string {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)} %`;
}

/** The share of drifted features over the recent evaluations, oldest first (unix seconds);
 * windows without a decision are left out. */
export function shareOverTime(recent: EvaluationSummary[]): { step: number; value: number }[] {
  return recent
    .filter((e) => e.role === "stable" && e.share !== null && e.share !== undefined && !e.insufficient_data)
    .map((e) => ({ step: Date.parse(e.window_end) / 1000, value: (e.share ?? 0) * 100 }))
    .sort((a, b) => a.step - b.step);
}

export type AlertSink = Schemas["AlertSink"];
export type Severity = AlertSink["severity"];
export type SinkKind = "webhook" | "alertmanager";
export const SEVERITIES: Severity[] = ["info", "warning", "critical"];

/** The alert sinks of the form, in order: each sink's fields are named `sink-<id>-<field>`,
 * and one `sink` input per sink holds `<id>:<kind>` (ids stay put when a sink is removed). */
function sinksFromForm(form: FormData, text: (key: string) => string): AlertSink[] {
  return form.getAll("sink").map((entry) => {
    const [id, kind] = String(entry).split(":");
    const field = (name: string) => text(`sink-${id}-${name}`);
    const severity = field("severity") as Severity;
    if (kind === "alertmanager") return { alertmanager: { url: field("url") }, severity };
    const signing = field("signingSecret");
    return {
      webhook: {
        urlSecretRef: { name: field("urlSecret"), key: field("urlKey") },
        ...(signing ? { signingSecretRef: { name: signing, key: field("signingKey") } } : {}),
      },
      severity,
    };
  });
}

export type MonitorSpec = Schemas["DriftMonitorSpec"];
export type ReferenceDataset = { uri: string; sha256: string; format: "parquet" | "csv" };

/** What the monitor form's fields start from: the create form's defaults, or a monitor's spec. */
export interface MonitorDraft {
  deployment: string;
  schedule: string;
  window: string;
  minSamples: number;
  defaultTest: DriftTest;
  /** In percent, as the form asks for it. */
  driftShare: number;
  /** An explicit reference dataset; null for the stable version's. */
  reference: ReferenceDataset | null;
  alerts: AlertSink[];
}

/** The create form's starting values: the CRD's defaults. */
export const NEW_MONITOR: MonitorDraft = {
  deployment: "",
  schedule: "*/15 * * * *",
  window: "1h",
  minSamples: 500,
  defaultTest: "auto",
  driftShare: 50,
  reference: null,
  alerts: [],
};

function objectAt(spec: Monitor["spec"], key: string): Record<string, unknown> {
  const value = spec[key];
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A monitor's spec as the form's starting values; what the spec leaves out takes the CRD's
 * defaults, as the operator reads it. */
export function draftFromSpec(spec: Monitor["spec"]): MonitorDraft {
  const window = objectAt(spec, "window");
  const features = objectAt(spec, "features");
  const datasetDrift = objectAt(spec, "datasetDrift");
  const reference = objectAt(spec, "reference");
  const test = DRIFT_TESTS.find((t) => t.value === features.defaultTest)?.value;
  return {
    deployment: String(objectAt(spec, "deploymentRef").name ?? ""),
    schedule: typeof spec.schedule === "string" ? spec.schedule : NEW_MONITOR.schedule,
    window: typeof window.size === "string" ? window.size : NEW_MONITOR.window,
    minSamples: typeof spec.minSamples === "number" ? spec.minSamples : NEW_MONITOR.minSamples,
    defaultTest: test ?? NEW_MONITOR.defaultTest,
    driftShare: typeof datasetDrift.driftShare === "number" ? Number((datasetDrift.driftShare * 100).toPrecision(12)) : NEW_MONITOR.driftShare,
    reference:
      typeof reference.uri === "string"
        ? { uri: reference.uri, sha256: String(reference.sha256 ?? ""), format: reference.format === "csv" ? "csv" : "parquet" }
        : null,
    alerts: Array.isArray(spec.alerts) ? (spec.alerts as AlertSink[]) : [],
  };
}

/** The explicit reference dataset the form names, or null for the stable version's. */
function referenceFromForm(text: (key: string) => string): ReferenceDataset | null {
  if (text("reference") !== "dataset") return null;
  return { uri: text("referenceUri"), sha256: text("referenceSha256").toLowerCase(), format: text("referenceFormat") === "csv" ? "csv" : "parquet" };
}

/** A percentage typed in the form as the fraction the CRD takes, without float noise (33.3 →
 * 0.333, not 0.33299999999999996), so an unchanged edit sends back what it read. */
function fractionOf(percent: string): number {
  return Number((Number(percent) / 100).toPrecision(12));
}

function formText(form: FormData): (key: string) => string {
  return (key) => String(form.get(key) ?? "").trim();
}

/** The create form's fields as a monitor: what is not asked takes the CRD's defaults (the
 * reference is the stable version's dataset unless `reference` is `dataset`); the optional
 * sections as `withSections` reads them. */
export function monitorFromForm(form: FormData): MonitorCreate {
  const text = formText(form);
  const alerts = sinksFromForm(form, text);
  const reference = referenceFromForm(text);
  const spec: MonitorSpec = {
    deploymentRef: { name: text("deployment") },
    ...(reference ? { reference } : {}),
    schedule: text("schedule"),
    window: { type: "tumbling", size: text("window") },
    minSamples: Number(text("minSamples")),
    features: { defaultTest: text("defaultTest") as DriftTest, alpha: 0.05 },
    correction: "bh-fdr",
    datasetDrift: { driftShare: fractionOf(text("driftShare")) },
    ...(alerts.length ? { alerts } : {}),
    suspend: false,
  };
  return { name: text("name"), spec: withSections(spec, form) as MonitorSpec };
}

/** The edit form's fields over the monitor's current spec: the PUT replaces the spec whole, so
 * it starts from the current one and overwrites only what the form shows (the deployment,
 * schedule, window size, minimum samples, default test, dataset drift share, reference data,
 * alert sinks, and the optional sections of `withSections`: the window's type, alpha, distance
 * thresholds, per-feature overrides, prediction drift and live quality), and of those only what
 * was changed. The rest — `actions`, the correction, `suspend` — stays as it was. */
export function specFromEdit(current: Monitor["spec"], form: FormData): MonitorSpec {
  return withSections(basicsFromEdit(current, form), form) as MonitorSpec;
}

function basicsFromEdit(current: Monitor["spec"], form: FormData): MonitorSpec {
  const text = formText(form);
  const alerts = sinksFromForm(form, text);
  const explicit = referenceFromForm(text);
  // The form owns the reference and the sinks whole: those it leaves out are dropped.
  const kept: Monitor["spec"] = { ...current };
  delete kept.reference;
  delete kept.alerts;
  // Choosing the stable version's dataset keeps a reference section that already says so.
  const reference = explicit ?? (typeof objectAt(current, "reference").uri === "string" ? undefined : current.reference);
  return {
    ...kept,
    deploymentRef: { ...objectAt(current, "deploymentRef"), name: text("deployment") },
    ...(reference !== undefined ? { reference } : {}),
    schedule: text("schedule"),
    window: { ...objectAt(current, "window"), size: text("window") },
    minSamples: Number(text("minSamples")),
    features: { ...objectAt(current, "features"), defaultTest: text("defaultTest") as DriftTest },
    datasetDrift: { ...objectAt(current, "datasetDrift"), driftShare: fractionOf(text("driftShare")) },
    ...(alerts.length ? { alerts } : {}),
  } as MonitorSpec;
}

/** Where the monitor's reference data comes from, in words. */
export function referenceText(spec: Monitor["spec"]): string {
  const reference = spec.reference as { uri?: unknown; sha256?: unknown; format?: unknown } | undefined;
  if (typeof reference?.uri !== "string") return "the stable version's reference dataset";
  const format = typeof reference.format === "string" ? reference.format : "parquet";
  const digest = typeof reference.sha256 === "string" ? `, sha256 ${reference.sha256.slice(0, 12)}…` : "";
  return `${reference.uri} (${format}${digest})`;
}

/** The spec's alert sinks, one sentence each, in the order their deliveries are numbered. */
export function sinksText(spec: Monitor["spec"]): string[] {
  const sinks = Array.isArray(spec.alerts) ? (spec.alerts as Partial<AlertSink>[]) : [];
  return sinks.map((sink, index) => {
    const severity = sink.severity ?? "warning";
    if (sink.alertmanager) return `#${index} Alertmanager at ${sink.alertmanager.url} (${severity})`;
    const url = sink.webhook?.urlSecretRef;
    const signing = sink.webhook?.signingSecretRef;
    const signed = signing ? `signed with Secret ${signing.name}, key ${signing.key}` : "unsigned";
    return `#${index} webhook, URL in Secret ${url?.name ?? "?"}, key ${url?.key ?? "?"}; ${signed} (${severity})`;
  });
}

/** The facade's 409 for an edit made over a spec someone changed since it was read. */
export function changedSinceRead(error: unknown): boolean {
  if (!(error instanceof ApiError) || error.status !== 409) return false;
  const details = error.details as { reason?: unknown } | null;
  return details?.reason === "MonitorChanged";
}

export function monitorHref(name: string): string {
  return `/monitors/monitor/?name=${encodeURIComponent(name)}`;
}

const monitorKeys = {
  all: (orgId: string) => ["organizations", orgId, "monitors"] as const,
  one: (orgId: string, name: string) => ["organizations", orgId, "monitors", name] as const,
};

/** Refreshed every minute: the operator writes results on the monitor's schedule. */
export const MONITOR_POLL_MS = 60_000;

export function useMonitors(orgId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: monitorKeys.all(orgId),
    refetchInterval: MONITOR_POLL_MS,
    queryFn: async () =>
      unwrap(await client.GET("/api/v1/organizations/{org_id}/monitors", { params: { path: { org_id: orgId } } })).data,
  });
}

export function useMonitor(orgId: string, name: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: monitorKeys.one(orgId, name),
    refetchInterval: MONITOR_POLL_MS,
    queryFn: async () =>
      unwrap(await client.GET("/api/v1/organizations/{org_id}/monitors/{name}", { params: { path: { org_id: orgId, name } } }))
        .data,
  });
}

/** The names of the organization's deployments (the first 100), for the create form. */
export function useDeploymentNames(orgId: string, enabled: boolean) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "deployments", { names: true }],
    enabled,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments", {
          params: { path: { org_id: orgId }, query: { page: 1, limit: 100 } },
        }),
      ).data.map((d) => d.name),
  });
}

export function useMonitorMutations(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return {
    create: useMutation({
      mutationFn: async (body: MonitorCreate) =>
        unwrap(await client.POST("/api/v1/organizations/{org_id}/monitors", { params: { path: { org_id: orgId } }, body })).data,
      onSuccess: () => queryClient.invalidateQueries({ queryKey: monitorKeys.all(orgId) }),
    }),
    /** Replace the monitor's spec (`PUT`) made over `generation` (the facade answers 409 when
     * the spec changed since, see `changedSinceRead`); the answer is the monitor, shown at once. */
    update: useMutation({
      mutationFn: async ({ name, spec, generation }: { name: string; spec: MonitorSpec; generation: number | null }) =>
        unwrap(
          await client.PUT("/api/v1/organizations/{org_id}/monitors/{name}", {
            params: { path: { org_id: orgId, name } },
            body: { spec, generation },
          }),
        ).data,
      onSuccess: (updated, { name }) => {
        queryClient.setQueryData(monitorKeys.one(orgId, name), updated);
        // A prefix of the monitor's own key too: both are read again from the cluster.
        return queryClient.invalidateQueries({ queryKey: monitorKeys.all(orgId) });
      },
    }),
    remove: useMutation({
      mutationFn: async (name: string) =>
        expectOk(await client.DELETE("/api/v1/organizations/{org_id}/monitors/{name}", { params: { path: { org_id: orgId, name } } })),
      onSuccess: (_, name) => {
        queryClient.removeQueries({ queryKey: monitorKeys.one(orgId, name) });
        return queryClient.invalidateQueries({ queryKey: monitorKeys.all(orgId) });
      },
    }),
  };
}
