"use client";

/** A deployment's serving metrics as the Monitoring tab charts them: the facade's
 * `get_deployment_metrics` (Prometheus behind it, one entry per ModelVersion that served), the
 * range kept in the URL, and the rollout's moments marked on the time axis. The shaping is pure,
 * so the components only draw. */

import { useQuery } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./api/client";
import { useAuth } from "./auth";

export type DeploymentMetrics = Schemas["DeploymentMetrics"];
export type VersionMetrics = Schemas["VersionMetrics"];
export type MetricPoint = VersionMetrics["requests_per_second"][number];
export type OutputPredictions = VersionMetrics["predictions"][number];

/** The ranges offered (Prometheus durations); the facade takes up to 7d. */
export const RANGES = ["15m", "1h", "6h", "1d", "7d"] as const;
export type Range = (typeof RANGES)[number];
export const DEFAULT_RANGE: Range = "1h";

/** Monitoring refreshes this often, whatever the rollout does. */
export const METRICS_POLL_MS = 30_000;

const RANGE_NAMES: Record<Range, string> = {
  "15m": "Last 15 minutes",
  "1h": "Last hour",
  "6h": "Last 6 hours",
  "1d": "Last day",
  "7d": "Last 7 days",
};

export function rangeName(range: Range): string {
  return RANGE_NAMES[range];
}

/** The range a URL asks for; the default for a missing or unknown one. */
export function parseRange(value: string | null): Range {
  return RANGES.find((range) => range === value) ?? DEFAULT_RANGE;
}

/** A deployment's metrics over the last `range` (the facade picks the step: range/120), read
 * again every 30 s. */
export function useDeploymentMetrics(orgId: string, name: string, range: Range) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "deployments", name, "metrics", { range }],
    refetchInterval: METRICS_POLL_MS,
    placeholderData: (previous) => previous,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments/{name}/metrics", {
          params: { path: { org_id: orgId, name }, query: { range } },
        }),
      ).data,
  });
}

type SeriesKey = Exclude<keyof VersionMetrics, "version" | "role" | "predictions">;

/** One line of a panel: a series of each version; the panel's lines differ by dash. */
interface PanelLine {
  key: SeriesKey;
  label: string | null;
  dash: string | undefined;
}

export interface Panel {
  title: string;
  /** What the y axis counts, in the unit the values are shown in. */
  unit: string;
  /** From the facade's unit (fractions, seconds) to the shown one (%, ms). */
  scale: number;
  lines: PanelLine[];
}

const DASHES = [undefined, "6 3", "2 3", "8 3 2 3"];

function panel(title: string, unit: string, scale: number, lines: [SeriesKey, string | null][]): Panel {
  return { title, unit, scale, lines: lines.map(([key, label], index) => ({ key, label, dash: DASHES[index % DASHES.length] })) };
}

export const PANELS: Panel[] = [
  panel("Request rate", "requests/s", 1, [["requests_per_second", null]]),
  panel("Errors", "% of requests", 100, [
    ["errors_4xx_ratio", "4xx"],
    ["errors_5xx_ratio", "5xx"],
  ]),
  panel("Latency", "ms", 1000, [
    ["latency_p50_seconds", "p50"],
    ["latency_p95_seconds", "p95"],
    ["latency_p99_seconds", "p99"],
  ]),
  panel("Schema violations", "violations/s", 1, [["schema_violations_per_second", null]]),
  panel("Mean batch size", "requests", 1, [["batch_size_mean", null]]),
];

/** Each version keeps its colour on every chart: the stable one first, then the candidate, then
 * versions that served earlier in the range. */
const COLOURS = ["stroke-indigo-600", "stroke-amber-600", "stroke-slate-500", "stroke-teal-700", "stroke-rose-600"] as const;

export interface TimeSeries {
  id: string;
  label: string;
  stroke: string;
  dash: string | undefined;
  points: { step: number; value: number }[];
}

const ROLE_ORDER = { stable: 0, candidate: 1 } as const;

/** The versions in drawing order: stable, candidate, then the others by name. */
export function orderVersions(versions: VersionMetrics[]): VersionMetrics[] {
  const rank = (v: VersionMetrics) => (v.role ? ROLE_ORDER[v.role] : 2);
  return [...versions].sort((a, b) => rank(a) - rank(b) || a.version.localeCompare(b.version));
}

function versionLabel(version: VersionMetrics): string {
  return version.role ? `${version.version} (${version.role})` : version.version;
}

/** A panel's lines: one a version and line, the version's colour, the line's dash. */
export function panelSeries(panel: Panel, versions: VersionMetrics[]): TimeSeries[] {
  return orderVersions(versions).flatMap((version, index) =>
    panel.lines.map((line) => ({
      id: `${version.version}/${line.key}`,
      label: line.label ? `${versionLabel(version)} ${line.label}` : versionLabel(version),
      stroke: COLOURS[index % COLOURS.length]!,
      dash: line.dash,
      points: version[line.key].map((p: MetricPoint) => ({ step: p.t, value: p.v * panel.scale })),
    })),
  );
}

/** Classes charted per label output: the most predicted over the range, across versions. */
export const MAX_CHARTED_CLASSES = 4;

/** A chart of one model output's prediction distribution. */
export interface PredictionChart {
  output: string;
  title: string;
  unit: string;
  series: TimeSeries[];
  /** Label outputs: classes predicted in the range but not charted (beyond MAX_CHARTED_CLASSES). */
  hiddenClasses: number;
}

function line(version: VersionMetrics, colour: string, name: string, dash: string | undefined, points: MetricPoint[], scale: number): TimeSeries {
  return {
    id: `${version.version}/${name}`,
    label: `${versionLabel(version)} ${name}`,
    stroke: colour,
    dash,
    points: points.map((p) => ({ step: p.t, value: p.v * scale })),
  };
}

/** One chart per tracked output, by name: a numerical output's mean, p50 and p90, a label
 * output's share of rows per class (its most predicted classes); a version's lines in its colour
 * (as on the other charts), the statistics or classes told apart by dash. */
export function predictionCharts(versions: VersionMetrics[]): PredictionChart[] {
  const ordered = orderVersions(versions);
  const names = [...new Set(ordered.flatMap((v) => v.predictions.map((p) => p.output)))].sort();
  return names.map((output) => {
    const found = ordered.flatMap((version, index) => {
      const predictions = version.predictions.find((p) => p.output === output);
      return predictions ? [{ version, colour: COLOURS[index % COLOURS.length]!, predictions }] : [];
    });
    if (found[0]!.predictions.kind === "numerical") {
      return {
        output,
        title: `Predictions: ${output} (value)`,
        unit: "value",
        hiddenClasses: 0,
        series: found.flatMap(({ version, colour, predictions }) =>
          (["mean", "p50", "p90"] as const).map((stat, i) => line(version, colour, stat, DASHES[i], predictions[stat], 1)),
        ),
      };
    }
    const volume = new Map<string, number>();
    for (const { predictions } of found) {
      for (const share of predictions.classes) {
        volume.set(share.label, (volume.get(share.label) ?? 0) + share.share.reduce((sum, p) => sum + p.v, 0));
      }
    }
    const ranked = [...volume.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([label]) => label);
    const charted = ranked.slice(0, MAX_CHARTED_CLASSES);
    return {
      output,
      title: `Predictions: ${output} (% of rows per class)`,
      unit: "% of rows",
      hiddenClasses: ranked.length - charted.length,
      series: found.flatMap(({ version, colour, predictions }) =>
        charted.flatMap((label, i) => {
          const share = predictions.classes.find((c) => c.label === label);
          return share ? [line(version, colour, label, DASHES[i % DASHES.length], share.share, 100)] : [];
        }),
      ),
    };
  });
}

/** Whether no version has a single point in any series: nothing served in the range. */
export function noTraffic(metrics: DeploymentMetrics): boolean {
  return metrics.versions.every((version) => PANELS.every((panel) => panel.lines.every((line) => version[line.key].length === 0)));
}

export interface Mark {
  /** Unix seconds. */
  at: number;
  text: string;
}

type Rollout = Schemas["RolloutPublic"];
type ClusterEvent = Schemas["ClusterEvent"];

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** The rollout's moments inside [start, end] (unix seconds), oldest first: rollouts starting
 * and ending (from the rollout history) and the operator's events (steps, decisions). */
export function rolloutMarks(rollouts: Rollout[], events: ClusterEvent[], start: number, end: number): Mark[] {
  const marks: Mark[] = [];
  for (const rollout of rollouts) {
    marks.push({ at: seconds(rollout.started_at), text: `Rollout of ${rollout.to_version} started` });
    if (rollout.ended_at) marks.push({ at: seconds(rollout.ended_at), text: `Rollout of ${rollout.to_version} ${rollout.outcome.replace("_", " ")}` });
  }
  for (const event of events) {
    if (!event.last_timestamp) continue;
    const what = [event.reason, event.message].filter(Boolean).join(": ");
    if (what) marks.push({ at: seconds(event.last_timestamp), text: what });
  }
  return marks.filter((m) => Number.isFinite(m.at) && m.at >= start && m.at <= end).sort((a, b) => a.at - b.at);
}
