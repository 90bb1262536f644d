import { describe, expect, it } from "vitest";

import { noTraffic, parseRange, rolloutMarks, type DeploymentMetrics } from "./monitoring";
import type { Rollout } from "./queries";

const at = (iso: string) => Date.parse(iso) / 1000;

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
    const empty = {
      version: "fraud-v1",
      role: "stable" as const,
      requests_per_second: [],
      errors_4xx_ratio: [],
      errors_5xx_ratio: [],
      latency_p50_seconds: [],
      latency_p95_seconds: [],
      latency_p99_seconds: [],
      schema_violations_per_second: [],
      batch_size_mean: [],
    };
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
});
