import { describe, expect, it } from "vitest";

import { describeCondition, formatNumber, formatShare, monitorFromForm, shareOverTime } from "./monitors";

describe("drift monitors", () => {
  it.each([
    [{ type: "Ready", status: "True", reason: "Scheduled" }, "Scheduled: the drift job runs on its schedule (Scheduled)."],
    [{ type: "Ready", status: "False", reason: "PayloadLoggingOff", message: "enable it" }, "Not running (PayloadLoggingOff): enable it."],
    [{ type: "InsufficientData", status: "True", reason: "TooFewSamples" }, "Too few samples in the last window to decide (TooFewSamples)."],
    [{ type: "Custom", status: "Unknown" }, "Custom is Unknown."],
  ])("says condition %o as %s", (condition, words) => {
    expect(describeCondition(condition)).toBe(words);
  });

  it("charts the share of decided windows in percent, oldest first", () => {
    const line = { model_version: "v1", samples: 1, drifted: false, insufficient_data: false };
    expect(
      shareOverTime([
        { ...line, window_end: "2026-12-04T02:00:00Z", share: 0.5 },
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
});
