import { describe, expect, it } from "vitest";

import { MAX_CHARTED_CLASSES, noTraffic, parseRange, predictionCharts, rolloutMarks, type DeploymentMetrics, type VersionMetrics } from "./monitoring";
import type { Rollout } from "./queries";

const at = (iso: string) => Date.parse(iso) / 1000;

/** A version with every series empty but those given. */
function versionOf(version: string, role: VersionMetrics["role"], given: Partial<VersionMetrics> = {}): VersionMetrics {
  return {
    version,
    role,
    requests_per_second: [],
    errors_4xx_ratio: [],
    errors_5xx_ratio: [],
    latency_p50_seconds: [],
    latency_p95_seconds: [],
    latency_p99_seconds: [],
    schema_violations_per_second: [],
    batch_size_mean: [],
    predictions: [],
    ...given,
  };
}

describe("monitoring", () => {
  it.each([
    ["6h", "6h"],
    ["7d", "7d"],
    [null, "1h"],
    ["30d", "1h"],
    ["", "1h"],
  ])("reads the range %s from the URL as %s", (value, range) => {
    expect(parseRange(value)).toBe(range);
  });

  it("marks rollouts and the operator's events inside the range, oldest first", () => {
    const rollout = (to: string, started: string, ended: string | null, outcome: Rollout["outcome"]): Rollout => ({
      id: to,
      deployment: "fraud",
      from_version: "fraud-v1",
      to_version: to,
      strategy: {},
      outcome,
      reason: "",
      started_by: null,
      started_at: started,
      ended_by: null,
      ended_at: ended,
    });
    const marks = rolloutMarks(
      [rollout("fraud-v3", "2026-12-03T10:40:00Z", null, "in_progress"), rollout("fraud-v2", "2026-12-03T09:00:00Z", "2026-12-03T10:20:00Z", "rolled_back")],
      [
        { type: "Warning", reason: "AnalysisFailed", message: "errorRate 0.2 > 0.01", count: 1, last_timestamp: "2026-12-03T10:19:00Z" },
        { type: "Normal", reason: null, message: null, count: 1, last_timestamp: "2026-12-03T10:30:00Z" },
        { type: "Normal", reason: "Scaled", message: null, count: 1, last_timestamp: null },
      ],
      at("2026-12-03T10:00:00Z"),
      at("2026-12-03T11:00:00Z"),
    );
    expect(marks).toEqual([
      { at: at("2026-12-03T10:19:00Z"), text: "AnalysisFailed: errorRate 0.2 > 0.01" },
      { at: at("2026-12-03T10:20:00Z"), text: "Rollout of fraud-v2 rolled back" },
      { at: at("2026-12-03T10:40:00Z"), text: "Rollout of fraud-v3 started" },
    ]);
  });

  it("sees no traffic only when every series of every version is empty", () => {
    const empty = versionOf("fraud-v1", "stable");
    const metrics = (versions: DeploymentMetrics["versions"]): DeploymentMetrics => ({
      deployment: "fraud",
      start: "2026-12-03T10:00:00Z",
      end: "2026-12-03T11:00:00Z",
      step_seconds: 30,
      window_seconds: 60,
      versions,
    });
    expect(noTraffic(metrics([]))).toBe(true);
    expect(noTraffic(metrics([empty]))).toBe(true);
    expect(noTraffic(metrics([empty, { ...empty, version: "fraud-v2", role: "candidate", batch_size_mean: [{ t: 1, v: 1 }] }]))).toBe(false);
  });

  it("charts each output's prediction distribution, a version's lines in its colour, the most predicted classes only", () => {
    const points = (...values: number[]) => values.map((v, i) => ({ t: 60 * i, v }));
    const none = { mean: [], p50: [], p90: [] };
    const version = (name: string, role: VersionMetrics["role"], predictions: VersionMetrics["predictions"]) =>
      versionOf(name, role, { requests_per_second: points(1), predictions });
    const labels = ["a", "b", "c", "d", "e", "f"];
    const classes = (shares: number[]) => ({
      output: "label",
      kind: "categorical" as const,
      rows_per_second: points(5),
      ...none,
      classes: shares.map((share, i) => ({ label: labels[i]!, share: points(share) })),
    });
    const score = (mean: number) => ({
      output: "score",
      kind: "numerical" as const,
      rows_per_second: points(5),
      mean: points(mean),
      p50: points(mean - 0.1),
      p90: points(mean + 0.2),
      classes: [],
    });
    const charts = predictionCharts([
      version("fraud-v2", "candidate", [score(0.6), classes([0.1, 0.5, 0.05, 0.05, 0.2, 0.1])]),
      version("fraud-v1", "stable", [classes([0.6, 0.3, 0.04, 0.03, 0.02, 0.01]), score(0.3)]),
    ]);
    expect(charts.map((c) => c.title)).toEqual(["Predictions: label (% of rows per class)", "Predictions: score (value)"]);
    const [label, value] = charts;
    // Stable first in indigo, the candidate in amber, as on every other chart.
    expect(value!.series.map((s) => [s.label, s.stroke, s.dash, s.points[0]!.value])).toEqual([
      ["fraud-v1 (stable) mean", "stroke-indigo-600", undefined, 0.3],
      ["fraud-v1 (stable) p50", "stroke-indigo-600", "6 3", expect.closeTo(0.2)],
      ["fraud-v1 (stable) p90", "stroke-indigo-600", "2 3", 0.5],
      ["fraud-v2 (candidate) mean", "stroke-amber-600", undefined, 0.6],
      ["fraud-v2 (candidate) p50", "stroke-amber-600", "6 3", 0.5],
      ["fraud-v2 (candidate) p90", "stroke-amber-600", "2 3", expect.closeTo(0.8)],
    ]);
    // Classes ranked by their share over both versions: a 0.7, b 0.8, e 0.22, f 0.11, c 0.09, d 0.08.
    expect(MAX_CHARTED_CLASSES).toBe(4);
    expect(label!.hiddenClasses).toBe(2);
    expect(label!.series.filter((s) => s.stroke === "stroke-indigo-600").map((s) => [s.label, s.points[0]!.value])).toEqual([
      ["fraud-v1 (stable) b", 30],
      ["fraud-v1 (stable) a", 60],
      ["fraud-v1 (stable) e", 2],
      ["fraud-v1 (stable) f", 1],
    ]);
    expect(label!.series.filter((s) => s.stroke === "stroke-amber-600").map((s) => s.dash)).toEqual([undefined, "6 3", "2 3", "8 3 2 3"]);
  });
});
