import { describe, expect, it } from "vitest";

import {
  compareMetric,
  describeCondition,
  formatNumber,
  formatShare,
  monitorFromForm,
  referenceText,
  shareOverTime,
  sinksText,
  thresholdText,
  type QualityMetric,
} from "./monitors";

describe("drift monitors", () => {
  it.each([
    [{ type: "Ready", status: "True", reason: "Scheduled" }, "Scheduled: the drift job runs on its schedule (Scheduled)."],
    [{ type: "Ready", status: "False", reason: "PayloadLoggingOff", message: "enable it" }, "Not running (PayloadLoggingOff): enable it."],
    [{ type: "InsufficientData", status: "True", reason: "TooFewSamples" }, "Too few samples in the last window to decide (TooFewSamples)."],
    [{ type: "QualityDegraded", status: "Unknown", reason: "TooFewLabels" }, "Too few labels in the last scored window to judge live quality (TooFewLabels)."],
    [{ type: "RolloutsPaused", status: "False", reason: "NothingPaused" }, "No rollout paused by this monitor (NothingPaused)."],
    [{ type: "Custom", status: "Unknown" }, "Custom is Unknown."],
  ])("says condition %o as %s", (condition, words) => {
    expect(describeCondition(condition)).toBe(words);
  });

  it("charts the stable's share of decided windows in percent, oldest first", () => {
    const line = { model_version: "v1", role: "stable" as const, samples: 1, drifted: false, insufficient_data: false };
    expect(
      shareOverTime([
        { ...line, window_end: "2026-12-04T02:00:00Z", share: 0.5 },
        { ...line, window_end: "2026-12-04T02:00:00Z", share: 1.0, model_version: "v2", role: "candidate" },
        { ...line, window_end: "2026-12-04T01:00:00Z", share: null, insufficient_data: true },
        { ...line, window_end: "2026-12-04T00:00:00Z", share: 0.25 },
      ]),
    ).toEqual([
      { step: Date.parse("2026-12-04T00:00:00Z") / 1000, value: 25 },
      { step: Date.parse("2026-12-04T02:00:00Z") / 1000, value: 50 },
    ]);
  });

  it("formats numbers, tiny p-values and shares", () => {
    expect([formatNumber(0.31), formatNumber(0.00001), formatNumber(0), formatNumber(null)]).toEqual(["0.31", "1.0e-5", "0", "–"]);
    expect([formatShare(0.333), formatShare(null)]).toEqual(["33 %", "–"]);
  });

  it("turns the form into a spec with the share as a fraction", () => {
    const form = new FormData();
    for (const [key, value] of Object.entries({ name: " m ", deployment: "d", schedule: "@hourly", window: "1d", minSamples: "10", defaultTest: "psi", driftShare: "40" }))
      form.set(key, value);
    expect(monitorFromForm(form).spec).toMatchObject({ schedule: "@hourly", minSamples: 10, datasetDrift: { driftShare: 0.4 }, features: { defaultTest: "psi" } });
    expect(monitorFromForm(form).name).toBe("m");
  });

  it("reads an explicit reference dataset and the sinks in the form's order, skipping removed ids", () => {
    const form = new FormData();
    const digest = "AB".repeat(32);
    for (const [key, value] of [
      ["name", "m"], ["deployment", "d"], ["schedule", "@hourly"], ["window", "1h"], ["minSamples", "10"], ["defaultTest", "auto"], ["driftShare", "50"],
      ["reference", "dataset"], ["referenceUri", " s3://ref/train.csv "], ["referenceSha256", digest], ["referenceFormat", "csv"],
      ["sink", "3:alertmanager"], ["sink-3-url", "http://am:9093"], ["sink-3-severity", "critical"],
      ["sink", "0:webhook"], ["sink-0-urlSecret", "hooks"], ["sink-0-urlKey", "url"], ["sink-0-signingSecret", ""], ["sink-0-signingKey", "key"], ["sink-0-severity", "warning"],
      ["sink", "5:webhook"], ["sink-5-urlSecret", "hooks"], ["sink-5-urlKey", "slack"], ["sink-5-signingSecret", "signing"], ["sink-5-signingKey", "hmac"], ["sink-5-severity", "info"],
      ["sink-9-url", "http://removed"],
    ])
      form.append(key!, value!);
    const { spec } = monitorFromForm(form);
    expect(spec.reference).toEqual({ uri: "s3://ref/train.csv", sha256: digest.toLowerCase(), format: "csv" });
    expect(spec.alerts).toEqual([
      { alertmanager: { url: "http://am:9093" }, severity: "critical" },
      { webhook: { urlSecretRef: { name: "hooks", key: "url" } }, severity: "warning" },
      { webhook: { urlSecretRef: { name: "hooks", key: "slack" }, signingSecretRef: { name: "signing", key: "hmac" } }, severity: "info" },
    ]);
  });

  it("leaves the reference and alerts to the CRD's defaults when the form asks for none", () => {
    const form = new FormData();
    form.set("reference", "stable");
    const { spec } = monitorFromForm(form);
    expect(spec).not.toHaveProperty("reference");
    expect(spec).not.toHaveProperty("alerts");
  });

  it("says the reference and the sinks of a spec in words", () => {
    expect(referenceText({})).toBe("the stable version's reference dataset");
    expect(referenceText({ reference: { fromStableVersion: true } })).toBe("the stable version's reference dataset");
    expect(referenceText({ reference: { uri: "s3://ref/a.parquet", sha256: "0123456789abcdef", format: "parquet" } })).toBe("s3://ref/a.parquet (parquet, sha256 0123456789ab…)");
    expect(
      sinksText({
        alerts: [
          { webhook: { urlSecretRef: { name: "hooks", key: "url" }, signingSecretRef: { name: "s", key: "k" } }, severity: "critical" },
          { alertmanager: { url: "http://am:9093" } },
          { webhook: { urlSecretRef: { name: "hooks", key: "url" } }, severity: "info" },
        ],
      }),
    ).toEqual([
      "#0 webhook, URL in Secret hooks, key url; signed with Secret s, key k (critical)",
      "#1 Alertmanager at http://am:9093 (warning)",
      "#2 webhook, URL in Secret hooks, key url; unsigned (info)",
    ]);
    expect(sinksText({})).toEqual([]);
  });

  it.each([
    [{}, "none"],
    [{ min: 0.9 }, "≥ 0.9"],
    [{ max: 0.2 }, "≤ 0.2"],
    [{ min: 0.1, max: 0.9 }, "0.1 – 0.9"],
  ])("says thresholds %o as %s", (thresholds, words) => {
    expect(thresholdText(thresholds)).toBe(words);
  });

  const m = (metric: QualityMetric["metric"], value: number | null, passed?: boolean): QualityMetric => ({ metric, value, passed, rows: 10 });
  it.each([
    ["a larger mae that breaks its maximum", m("mae", 0.03, true), m("mae", 0.51, false), "fails its threshold"],
    ["a larger mae within its maximum", m("mae", 0.03, true), m("mae", 0.1, true), "worse"],
    ["a smaller rmse", m("rmse", 0.05, true), m("rmse", 0.04, true), "better"],
    ["a smaller auc", m("auc", 0.93, true), m("auc", 0.85, true), "worse"],
    ["a larger accuracy, both below the minimum", m("accuracy", 0.8, false), m("accuracy", 0.85, false), "better"],
    ["an equal f1 without a threshold", m("f1", 0.7), m("f1", 0.7), "same"],
    ["an undefined candidate auc", m("auc", 0.9, true), m("auc", null), "–"],
  ])("compares %s as %s", (_, stable, candidate, comparison) => {
    expect(compareMetric(stable, candidate)).toBe(comparison);
  });
});
