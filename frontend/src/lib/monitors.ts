"use client";

/** Drift monitors as the dashboard shows them: the facade's `/monitors` routes (the DriftMonitor
 * in the cluster is the record, its status the results), and the pure shaping the pages draw —
 * conditions said in words, the last evaluation's rows, the share of drifted features over the
 * recent evaluations, and the create form turned into a `DriftMonitorSpec`. The last evaluation
 * and the conditions come through the facade as the operator wrote them (camelCase), so their
 * shapes are declared here from `modelplane_crds.drift_results`. */

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { expectOk, unwrap, type Schemas } from "./api/client";
import { useAuth } from "./auth";

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

export function evaluationOf(monitor: Monitor): Evaluation | null {
  return (monitor.last_evaluation as Evaluation | null) ?? null;
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
    .filter((e) => e.share !== null && e.share !== undefined && !e.insufficient_data)
    .map((e) => ({ step: Date.parse(e.window_end) / 1000, value: (e.share ?? 0) * 100 }))
    .sort((a, b) => a.step - b.step);
}

/** The create form's fields as a monitor: what is not asked takes the CRD's defaults. */
export function monitorFromForm(form: FormData): MonitorCreate {
  const text = (key: string) => String(form.get(key) ?? "").trim();
  return {
    name: text("name"),
    spec: {
      deploymentRef: { name: text("deployment") },
      schedule: text("schedule"),
      window: { type: "tumbling", size: text("window") },
      minSamples: Number(text("minSamples")),
      features: { defaultTest: text("defaultTest") as DriftTest, alpha: 0.05 },
      correction: "bh-fdr",
      datasetDrift: { driftShare: Number(text("driftShare")) / 100 },
      suspend: false,
    },
  };
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
