/** The arithmetic of the dashboard's SVG line charts: round ticks, linear scales and paths. Pure,
 * so the chart component only draws. */

export interface Point {
  x: number;
  y: number;
}

/** About `count` round tick values (1, 2 or 5 × 10ⁿ apart) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) / 10;
    return niceTicks(min - pad, max + pad, count);
  }
  const [low, high] = min < max ? [min, max] : [max, min];
  const raw = (high - low) / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const first = Math.floor(low / step);
  const last = Math.ceil(high / step);
  // Rounded to the step's precision, so that 0.1 + 0.2 shows as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toFixed(decimals)));
}

/** A linear map of [d0, d1] onto [r0, r1] (a flat domain maps to the middle). */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (value: number) => number {
  if (d0 === d1) return () => (r0 + r1) / 2;
  return (value) => r0 + ((value - d0) / (d1 - d0)) * (r1 - r0);
}

/** An SVG path through the points, in order ("M x y L x y …"); empty for no points. */
export function linePath(points: Point[]): string {
  return points.map((p, i) => `${i === 0 ? "M" : "L"}${round(p.x)} ${round(p.y)}`).join(" ");
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The smallest and largest of the values (finite ones only); null when there are none. */
export function extent(values: number[]): [number, number] | null {
  let found: [number, number] | null = null;
  // A loop, not Math.min(...values): a chart may hold 250,000 points.
  for (const value of values) {
    if (!Number.isFinite(value)) continue;
    found = found ? [Math.min(found[0], value), Math.max(found[1], value)] : [value, value];
  }
  return found;
}

const TIME_STEPS = [60, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400];

/** About `count` ticks on a time axis of unix seconds, at round minutes, hours or days (UTC). */
export function timeTicks(min: number, max: number, count = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return Number.isFinite(min) ? [min] : [];
  const raw = (max - min) / Math.max(1, count);
  const step = TIME_STEPS.find((s) => s >= raw) ?? Math.ceil(raw / 86400) * 86400;
  const first = Math.ceil(min / step) * step;
  return Array.from({ length: Math.floor((max - first) / step) + 1 }, (_, i) => first + i * step);
}
