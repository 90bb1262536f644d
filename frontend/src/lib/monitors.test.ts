import { describe, expect, it } from "vitest";

import {
  compareMetric,
  describeCondition,
  draftFromSpec,
  formatNumber,
  formatShare,
  monitorFromForm,
  NEW_MONITOR,
  referenceText,
  shareOverTime,
  sinksText,
  specFromEdit,
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

  /** A spec with everything the edit form does not show, as the cluster answers it (defaults filled in). */
  const full = {
    deploymentRef: { name: "fraud-staging" },
    reference: { uri: "s3://ref/a.parquet", sha256: "ab".repeat(32), format: "parquet" },
    window: { type: "sliding", size: "1h" },
    schedule: "*/15 * * * *",
    minSamples: 500,
    features: { defaultTest: "auto", alpha: 0.01, thresholds: { psi: 0.3 }, overrides: [{ name: "amount", test: "wasserstein", threshold: 0.2 }] },
    correction: "bonferroni",
    datasetDrift: { driftShare: 0.333 },
    predictionDrift: { enabled: true, test: "psi" },
    alerts: [{ webhook: { urlSecretRef: { name: "hooks", key: "url" } }, severity: "critical" }],
    actions: { onDrift: "none", onQualityDegraded: "pauseRollouts" },
    quality: { task: "regression", prediction: "output.score.0", metrics: [{ metric: "mae", max: 0.2 }], minLabelledRows: 50, labelDelay: "6h" },
    suspend: true,
  };

  /** The edit form as it starts from `spec`, with `changes` typed over it. */
  function editForm(spec: Record<string, unknown>, changes: Record<string, string> = {}, sinks: [string, string][] | null = null): FormData {
    const draft = draftFromSpec(spec);
    const form = new FormData();
    const fields: Record<string, string> = {
      deployment: draft.deployment,
      schedule: draft.schedule,
      window: draft.window,
      minSamples: String(draft.minSamples),
      defaultTest: draft.defaultTest,
      driftShare: String(draft.driftShare),
      reference: draft.reference ? "dataset" : "stable",
      referenceUri: draft.reference?.uri ?? "",
      referenceSha256: draft.reference?.sha256 ?? "",
      referenceFormat: draft.reference?.format ?? "parquet",
      ...changes,
    };
    for (const [key, value] of Object.entries(fields)) form.set(key, value);
    const asDrafted: [string, string][] = draft.alerts.flatMap((sink, id): [string, string][] =>
      sink.alertmanager
        ? [["sink", `${id}:alertmanager`], [`sink-${id}-url`, sink.alertmanager.url], [`sink-${id}-severity`, sink.severity]]
        : [
            ["sink", `${id}:webhook`],
            [`sink-${id}-urlSecret`, sink.webhook?.urlSecretRef.name ?? ""],
            [`sink-${id}-urlKey`, sink.webhook?.urlSecretRef.key ?? ""],
            [`sink-${id}-signingSecret`, sink.webhook?.signingSecretRef?.name ?? ""],
            [`sink-${id}-signingKey`, sink.webhook?.signingSecretRef?.key ?? "key"],
            [`sink-${id}-severity`, sink.severity],
          ],
    );
    for (const [key, value] of sinks ?? asDrafted) form.append(key, value);
    return form;
  }

  it("starts the edit form from a spec, with the CRD's defaults for what it leaves out", () => {
    expect(draftFromSpec(full)).toEqual({
      deployment: "fraud-staging",
      schedule: "*/15 * * * *",
      window: "1h",
      minSamples: 500,
      defaultTest: "auto",
      driftShare: 33.3,
      reference: { uri: "s3://ref/a.parquet", sha256: "ab".repeat(32), format: "parquet" },
      alerts: full.alerts,
    });
    // The create form's starting values are the CRD's defaults too.
    expect(draftFromSpec({ deploymentRef: { name: "d" }, reference: { fromStableVersion: true } })).toEqual({ ...NEW_MONITOR, deployment: "d" });
  });

  it("gives back the same spec when nothing in the edit form changed", () => {
    expect(specFromEdit(full, editForm(full))).toEqual(full);
  });

  it("overwrites only what the edit form shows: quality, predictionDrift, actions, per-feature tests and the rest stay", () => {
    const spec = specFromEdit(
      full,
      editForm(full, { schedule: "0 * * * *", window: "30m", minSamples: "50", defaultTest: "psi", driftShare: "25", deployment: "churn" }),
    );
    expect(spec).toEqual({
      ...full,
      deploymentRef: { name: "churn" },
      schedule: "0 * * * *",
      window: { type: "sliding", size: "30m" },
      minSamples: 50,
      features: { ...full.features, defaultTest: "psi" },
      datasetDrift: { driftShare: 0.25 },
    });
    expect(spec.quality).toEqual(full.quality);
    expect(spec.predictionDrift).toEqual(full.predictionDrift);
    expect(spec.actions).toEqual(full.actions);
    expect(spec.features?.overrides).toEqual(full.features.overrides);
    expect(spec.suspend).toBe(true);
  });

  it("drops the explicit reference and the sinks the edit form removed, and keeps a stable reference as it was", () => {
    const toStable = specFromEdit(full, editForm(full, { reference: "stable" }, []));
    expect(toStable).not.toHaveProperty("reference");
    expect(toStable).not.toHaveProperty("alerts");
    expect(toStable.quality).toEqual(full.quality);

    const stable = { ...full, reference: { fromStableVersion: true, format: "parquet" } };
    expect(specFromEdit(stable, editForm(stable)).reference).toEqual({ fromStableVersion: true, format: "parquet" });
    const toDataset = specFromEdit(stable, editForm(stable, { reference: "dataset", referenceUri: "s3://ref/b.csv", referenceSha256: "CD".repeat(32), referenceFormat: "csv" }));
    expect(toDataset.reference).toEqual({ uri: "s3://ref/b.csv", sha256: "cd".repeat(32), format: "csv" });

    const added = specFromEdit(full, editForm(full, {}, [["sink", "4:alertmanager"], ["sink-4-url", "http://am:9093"], ["sink-4-severity", "info"]]));
    expect(added.alerts).toEqual([{ alertmanager: { url: "http://am:9093" }, severity: "info" }]);
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
