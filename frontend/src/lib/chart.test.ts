import { describe, expect, it } from "vitest";

import { extent, linearScale, linePath, niceTicks, timeTicks } from "./chart";

describe("chart arithmetic", () => {
  it.each([
    [0, 1, 5, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0.048, 1, 5, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0, 19, 6, [0, 5, 10, 15, 20]],
    [3, 3, 5, [2.6, 2.8, 3, 3.2, 3.4]],
    [0, 0, 4, [-1, -0.5, 0, 0.5, 1]],
    [-12, 130, 5, [-50, 0, 50, 100, 150]],
  ])("niceTicks(%d, %d, %d) gives round values covering the range", (min, max, count, ticks) => {
    expect(niceTicks(min, max, count)).toEqual(ticks);
  });

  it("has no ticks for a range that is not finite", () => {
    expect(niceTicks(0, Number.NaN)).toEqual([]);
  });

  it("maps a domain linearly onto a range, a flat domain to the middle", () => {
    const y = linearScale(0, 1, 260, 10);
    expect([y(0), y(0.5), y(1)]).toEqual([260, 135, 10]);
    expect(linearScale(2, 2, 0, 100)(2)).toBe(50);
  });

  it("draws a path through the points in order", () => {
    expect(linePath([{ x: 0, y: 10.04 }, { x: 5.55, y: 2 }, { x: 10, y: 0 }])).toBe("M0 10 L5.6 2 L10 0");
    expect(linePath([])).toBe("");
  });

  it("finds the extent of the finite values only, without spreading them", () => {
    expect(extent([3, Number.NaN, -1, Number.POSITIVE_INFINITY, 7])).toEqual([-1, 7]);
    expect(extent([Number.NaN])).toBeNull();
    expect(extent(Array.from({ length: 300_000 }, (_, i) => i))).toEqual([0, 299_999]);
  });

  it.each([
    // an hour from 10:00:10 UTC: every 10 minutes, on the minute
    [1796292010, 1796295610, [1796292600, 1796293200, 1796293800, 1796294400, 1796295000, 1796295600]],
    // a week: every 2 days, at midnight UTC
    [1796256000, 1796860800, [1796256000, 1796428800, 1796601600, 1796774400]],
    [5, 5, [5]],
  ])("puts time ticks from %d to %d at round times", (min, max, ticks) => {
    expect(timeTicks(min, max, 6)).toEqual(ticks);
  });
});
