import { describe, expect, it } from "vitest";

import { checkSections, InvalidSections, NEW_SECTIONS, sectionProblems, sectionsDraftOf, withSections } from "./monitor-sections";

const quality = { task: "regression", prediction: "output.score.0", metrics: [{ metric: "mae", max: 0.2 }], labelDelay: "6h" };
const spec = {
  deploymentRef: { name: "fraud-staging" },
  window: { type: "sliding", size: "1h" },
  features: { defaultTest: "ks", alpha: 0.01, thresholds: { psi: 0.3 }, overrides: [{ name: "amount", test: "wasserstein", threshold: 0.2 }] },
  predictionDrift: { enabled: true, test: "psi" },
  quality,
};

/** The sections' fields as the form renders them from `sectionsDraftOf(spec)`, then `changes`. */
function formOf(from: Record<string, unknown>, changes: Record<string, string | null> = {}): FormData {
  const draft = sectionsDraftOf(from);
  const form = new FormData();
  form.set("sections", "1");
  form.set("windowType", draft.windowType);
  form.set("alpha", String(draft.alpha));
  for (const [test, value] of Object.entries(draft.thresholds)) form.set(`threshold-${test}`, String(value));
  draft.overrides.forEach((o, id) => {
    form.append("override", String(id));
    form.set(`override-${id}-name`, o.name);
    form.set(`override-${id}-test`, o.test ?? "");
    form.set(`override-${id}-threshold`, o.threshold === undefined || o.threshold === null ? "" : String(o.threshold));
    form.set(`override-${id}-alpha`, o.alpha === undefined || o.alpha === null ? "" : String(o.alpha));
  });
  if (draft.predictionDrift.enabled) form.set("predictionDrift", "on");
  form.set("predictionTest", draft.predictionDrift.test);
  if (draft.quality) {
    const q = draft.quality;
    form.set("quality", "on");
    form.set("qualityTask", q.task);
    form.set("qualityPrediction", q.prediction);
    form.set("qualityScore", q.score ?? "");
    form.set("qualityLabelColumn", q.labelColumn ?? "");
    form.set("qualityPositiveLabel", q.positiveLabel ?? "");
    form.set("qualityAverage", q.average ?? "");
    form.set("qualityMinLabelledRows", String(q.minLabelledRows ?? 100));
    form.set("qualityLabelDelay", q.labelDelay ?? "0s");
    q.metrics.forEach((m, id) => {
      form.append("metric", String(id));
      form.set(`metric-${id}-name`, m.metric);
      form.set(`metric-${id}-min`, m.min === undefined || m.min === null ? "" : String(m.min));
      form.set(`metric-${id}-max`, m.max === undefined || m.max === null ? "" : String(m.max));
    });
  }
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) form.delete(key);
    else form.set(key, value);
  }
  return form;
}

describe("the monitor form's optional sections", () => {
  it("give back the spec they were read from when nothing was changed, without adding defaults", () => {
    expect(withSections(spec, formOf(spec))).toEqual(spec);
    const bare = { deploymentRef: { name: "d" } };
    expect(sectionsDraftOf(bare)).toEqual(NEW_SECTIONS);
    expect(withSections(bare, formOf(bare))).toEqual(bare);
  });

  it("leave the spec alone in a form that does not show them", () => {
    expect(withSections(spec, new FormData())).toBe(spec);
  });

  it("write a changed value and keep the untouched ones beside it", () => {
    const changed = withSections(spec, formOf(spec, { windowType: "tumbling", "threshold-jsd": "0.15", "metric-0-max": "0.25", predictionDrift: null }));
    expect(changed).toEqual({
      ...spec,
      window: { type: "tumbling", size: "1h" },
      features: { ...spec.features, thresholds: { psi: 0.3, jsd: 0.15 } },
      predictionDrift: { enabled: false, test: "psi" },
      quality: { ...quality, metrics: [{ metric: "mae", max: 0.25 }] },
    });
  });

  it("add a quality section and prediction drift to a spec without them, and remove a quality section unticked", () => {
    const bare = { deploymentRef: { name: "d" } };
    const form = formOf(bare, {
      predictionDrift: "on",
      predictionTest: "jsd",
      quality: "on",
      qualityTask: "classification",
      qualityPrediction: "output.label.0",
      qualityScore: "output.probability.1",
      qualityMinLabelledRows: "100",
      qualityLabelDelay: "0s",
      metric: "0",
      "metric-0-name": "auc",
      "metric-0-min": "0.8",
    });
    expect(withSections(bare, form)).toEqual({
      ...bare,
      predictionDrift: { enabled: true, test: "jsd" },
      quality: { task: "classification", prediction: "output.label.0", score: "output.probability.1", metrics: [{ metric: "auc", min: 0.8 }] },
    });
    const without: Record<string, unknown> = { ...spec };
    delete without.quality;
    expect(withSections(spec, formOf(spec, { quality: null }))).toEqual(without);
  });

  it.each([
    [{ ...quality, metrics: [{ metric: "accuracy", min: 0.8 }] }, "quality.metrics: classification takes accuracy, precision, recall, f1, auc and logLoss; regression takes mae and rmse"],
    [{ ...quality, task: "classification", metrics: [{ metric: "auc", min: 0.8 }] }, "quality.score: auc and logLoss need a score column"],
    [{ ...quality, score: "output.probability.1" }, "quality.task: score, positiveLabel and average apply only to classification"],
    [{ ...quality, labelColumn: "label" }, "quality.labelColumn: regression compares with the feedback's numeric value column"],
    [{ ...quality, metrics: [{ metric: "mae", min: 0.5, max: 0.2 }] }, "quality.metrics[0].max: min must not exceed max"],
    [{ ...quality, metrics: [] }, "quality.metrics: add at least one metric"],
  ])("names what the facade would refuse in quality %o", (section, problem) => {
    expect(sectionProblems({ ...spec, quality: section })).toEqual([problem]);
  });

  it("names a per-feature override's threshold or alpha its test does not take", () => {
    const overrides = [
      { name: "amount", test: "ks", threshold: 0.2 },
      { name: "country", test: "psi", alpha: 0.01 },
      { name: "age", test: "auto", alpha: 0.01 },
    ];
    expect(sectionProblems({ features: { overrides } })).toEqual([
      "features.overrides[0].threshold: threshold applies only to the distance tests psi, jsd and wasserstein",
      "features.overrides[1].alpha: alpha applies only to the p-value tests ks and chi2",
    ]);
    expect(() => checkSections({ features: { overrides } })).toThrow(InvalidSections);
    expect(checkSections(spec)).toBe(spec);
  });
});
