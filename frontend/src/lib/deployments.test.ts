import { describe, expect, it } from "vitest";

import { canarying, deployment } from "@/test/registry";

import {
  analysis,
  canarySteps,
  deploymentHref,
  describeStep,
  formatMeasure,
  latestMeasurements,
  rollback,
  rolloutRunning,
  traffic,
} from "./deployments";

describe("deployment status readers", () => {
  it("read nothing before the operator has reported", () => {
    const fresh = deployment("fraud-staging");
    expect(traffic(fresh)).toBeNull();
    expect(analysis(fresh)).toBeNull();
    expect(rollback(fresh)).toBeNull();
    expect(describeStep(fresh)).toBeNull();
  });

  it("read the traffic split, clamped to percentages", () => {
    expect(traffic(canarying)).toEqual({ stable: 50, candidate: 50, mirror: 0 });
    expect(traffic(deployment("x", { traffic: { stable: 140, candidate: "?" } }))).toEqual({ stable: 100, candidate: 0, mirror: 0 });
  });

  it("keep the newest measurement of each check", () => {
    const state = analysis(canarying);
    expect(state?.failedIntervals).toBe(1);
    expect(latestMeasurements(state!).map((m) => [m.check, m.value, m.passed])).toEqual([
      ["errorRate", 0.004, true],
      ["latencyP99", 87, true],
    ]);
  });

  it("read the rollback record", () => {
    const rolledBack = deployment("x", {
      rollback: { reason: "AnalysisFailed", message: "errorRate 0.2 > 0.01", at: "2026-12-03T10:09:00Z", rejectedVersion: "fraud-v2" },
    });
    expect(rollback(rolledBack)).toEqual({
      reason: "AnalysisFailed",
      message: "errorRate 0.2 > 0.01",
      at: "2026-12-03T10:09:00Z",
      rejectedVersion: "fraud-v2",
    });
  });

  it("say the canary steps and the current one in words", () => {
    expect(canarySteps(canarying.spec)).toEqual([
      "set weight 10 %",
      "analysis (1 passing interval)",
      "set weight 50 %",
      "pause until resumed",
      "set weight 100 %",
    ]);
    expect(describeStep(canarying)).toBe("Step 3 of 5: set weight 50 %");
    expect(canarySteps({ strategy: { canary: { steps: [{ pause: { duration: "5m" } }, { analysis: { intervals: 2 } }] } } })).toEqual([
      "pause 5m",
      "analysis (2 passing intervals)",
    ]);
  });

  it("poll while a candidate is rolled out or the deployment converges, not after a rollback", () => {
    expect(rolloutRunning(undefined)).toBe(false);
    expect(rolloutRunning(deployment("x"))).toBe(false);
    expect(rolloutRunning(canarying)).toBe(true);
    expect(rolloutRunning(deployment("x", { candidate_version: "fraud-v2" }))).toBe(true);
    expect(rolloutRunning(deployment("x", { candidate_version: "fraud-v2", rollout_state: "RolledBack", phase: "Ready" }))).toBe(false);
    expect(rolloutRunning(deployment("x", { phase: "Progressing" }))).toBe(true);
  });

  it("format rates in percent and latency in milliseconds", () => {
    expect(formatMeasure("errorRate", 0.004)).toBe("0.40 %");
    expect(formatMeasure("latencyP99", 87.4)).toBe("87 ms");
    expect(formatMeasure("predictionDrift", 0.05)).toBe("0.050");
    expect(formatMeasure("errorRate", Number.NaN)).toBe("–");
  });

  it("address a deployment's page by query parameter", () => {
    expect(deploymentHref("fraud staging")).toBe("/deployments/deployment/?name=fraud%20staging");
  });
});
