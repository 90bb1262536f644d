import { describe, expect, it } from "vitest";

import { depth4, depth8, run } from "@/test/experiments";

import { dataColumns, formatDuration, formatMetric, parseRunIds, sortDirection, toggleSort, trackingUri } from "./experiments";

describe("experiments helpers", () => {
  it("points the mlflow client at the organization's workspace behind this origin", () => {
    expect(trackingUri("https://mp.example.com/", "risk")).toBe("https://mp.example.com/api/v1/organizations/risk/mlflow");
  });

  it("takes the union of the runs' param and metric keys as columns, sorted", () => {
    const other = run(3, "other", { seed: "1" }, { f1: 0.7 });
    expect(dataColumns([depth8, depth4, other])).toEqual({ params: ["depth", "lr", "seed"], metrics: ["auc", "f1", "loss"] });
  });

  it.each([
    ["-started_at", "started_at", "started_at"],
    ["started_at", "started_at", "-started_at"],
    ["-started_at", "metrics.auc", "-metrics.auc"],
    ["-metrics.auc", "metrics.auc", "metrics.auc"],
    ["-started_at", "params.depth", "params.depth"],
    ["-started_at", "name", "name"],
  ])("from sort %s a click on %s sorts by %s", (sort, field, next) => {
    expect(toggleSort(sort, field)).toBe(next);
  });

  it("says how a sort orders a column, for aria-sort", () => {
    expect(sortDirection("-metrics.auc", "metrics.auc")).toBe("descending");
    expect(sortDirection("metrics.auc", "metrics.auc")).toBe("ascending");
    expect(sortDirection("metrics.auc", "metrics.auc_2")).toBeUndefined();
  });

  it.each([
    [0.123456, "0.1235"],
    [42, "42"],
    [0.00001234, "1.234e-5"],
    [12345678.9, "1.235e+7"],
    [Number.NaN, "NaN"],
    [null, ""],
  ])("formats the metric %s as %s", (value, text) => {
    expect(formatMetric(value)).toBe(text);
  });

  it("says how long a run took, or has run so far", () => {
    expect(formatDuration("2026-12-03T10:00:00Z", "2026-12-03T10:02:05Z")).toBe("2 min 5 s");
    expect(formatDuration("2026-12-03T10:00:00Z", "2026-12-03T10:00:09Z")).toBe("9 s");
    expect(formatDuration("2026-12-03T10:00:00Z", null, Date.parse("2026-12-03T12:30:00Z"))).toBe("2 h 30 min");
    expect(formatDuration(null, null)).toBe("");
  });

  it("reads run ids from a runs= parameter, in order, once each", () => {
    expect(parseRunIds(" a,b,,a ,c")).toEqual(["a", "b", "c"]);
  });
});
