"use client";

import { useId, useState } from "react";

import { extent, linearScale, linePath, niceTicks } from "@/lib/chart";
import { formatMetric } from "@/lib/experiments";

export interface Series {
  id: string;
  label: string;
  /** `step` is the x value: a step, or unix seconds on a time axis. */
  points: { step: number; value: number }[];
  /** A stroke class and dash of its own (else the chart's next look): a version keeps its
   * colour across charts. */
  stroke?: string;
  dash?: string;
}

/** What the x axis counts: its name, its ticks for a domain, and how a value reads. */
export interface XAxis {
  label: string;
  ticks: (min: number, max: number) => number[];
  format: (value: number) => string;
}

/** A moment marked on the x axis (a vertical line), numbered in the order given. */
export interface ChartMark {
  x: number;
  text: string;
}

const STEP_AXIS: XAxis = {
  label: "step",
  ticks: (min, max) => niceTicks(min, max, 6).filter((t) => Number.isInteger(t)),
  format: String,
};

// Colour and dash both tell the lines apart, for people who do not see the colours.
const LOOKS = [
  { stroke: "stroke-indigo-600", dash: undefined },
  { stroke: "stroke-emerald-600", dash: "6 3" },
  { stroke: "stroke-amber-600", dash: "2 3" },
  { stroke: "stroke-rose-600", dash: "8 3 2 3" },
  { stroke: "stroke-sky-600", dash: "12 4" },
  { stroke: "stroke-violet-600", dash: "1 2" },
  { stroke: "stroke-teal-700", dash: "4 4" },
  { stroke: "stroke-slate-700", dash: "10 2 2 2 2 2" },
] as const;

const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { top: 12, right: 16, bottom: 40, left: 64 };

function look(series: Series, index: number): { stroke: string; dash: string | undefined } {
  return series.stroke ? { stroke: series.stroke, dash: series.dash } : LOOKS[index % LOOKS.length]!;
}

/** One sentence a series, for screen readers: where it starts and ends, and its range. */
export function describeSeries(series: Series, xAxis: XAxis = STEP_AXIS): string {
  const finite = series.points.filter((p) => Number.isFinite(p.value));
  if (finite.length === 0) return `${series.label}: no values.`;
  const [low, high] = extent(finite.map((p) => p.value)) ?? [0, 0];
  const first = finite[0]!;
  const last = finite[finite.length - 1]!;
  return (
    `${series.label}: ${finite.length} point${finite.length === 1 ? "" : "s"}, ${xAxis.label} ${xAxis.format(first.step)} to ${xAxis.format(last.step)}, ` +
    `from ${formatMetric(first.value)} to ${formatMetric(last.value)} (lowest ${formatMetric(low)}, highest ${formatMetric(high)}).`
  );
}

/** A line chart of `series` over steps (or another x axis), drawn as inline SVG: a title and a
 * description for screen readers, a legend, and the numbers as a table for those who want them.
 * `xDomain` fixes the x axis (a time range) rather than fitting the points; `marks` are
 * numbered vertical lines. */
export function LineChart({
  title,
  yLabel,
  series,
  xAxis = STEP_AXIS,
  xDomain,
  marks = [],
}: {
  title: string;
  yLabel: string;
  series: Series[];
  xAxis?: XAxis;
  xDomain?: [number, number];
  marks?: ChartMark[];
}) {
  const id = useId();
  const [numbersShown, setNumbersShown] = useState(false);
  const drawn = series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.value)) }));
  const steps = xDomain ?? extent(drawn.flatMap((s) => s.points.map((p) => p.step)));
  const values = extent(drawn.flatMap((s) => s.points.map((p) => p.value)));
  if (!steps || !values) return <p className="text-sm text-slate-600">No values of {yLabel} to draw.</p>;

  const xTicks = xAxis.ticks(steps[0], steps[1]);
  const yTicks = niceTicks(values[0], values[1], 5);
  const x = xDomain
    ? linearScale(xDomain[0], xDomain[1], MARGIN.left, WIDTH - MARGIN.right)
    : linearScale(xTicks[0] ?? steps[0], xTicks.at(-1) ?? steps[1], MARGIN.left, WIDTH - MARGIN.right);
  const y = linearScale(yTicks[0] ?? values[0], yTicks.at(-1) ?? values[1], HEIGHT - MARGIN.bottom, MARGIN.top);
  const description = drawn.map((s) => describeSeries(s, xAxis)).join(" ");
  const shownMarks = marks.map((mark, index) => ({ ...mark, n: index + 1 })).filter((m) => m.x >= steps[0] && m.x <= steps[1]);

  return (
    <figure aria-labelledby={`${id}-caption`} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <figcaption id={`${id}-caption`} className="mb-2 font-medium">
        {title}
      </figcaption>
      <svg
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="h-auto w-full text-slate-500"
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        <g className="text-[11px]" fill="currentColor">
          {yTicks.map((tick) => (
            <g key={`y${tick}`}>
              <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(tick)} y2={y(tick)} className="stroke-slate-200" />
              <text x={MARGIN.left - 6} y={y(tick)} textAnchor="end" dominantBaseline="middle">
                {formatMetric(tick)}
              </text>
            </g>
          ))}
          {xTicks.map((tick) => (
            <text key={`x${tick}`} x={x(tick)} y={HEIGHT - MARGIN.bottom + 16} textAnchor="middle">
              {xAxis.format(tick)}
            </text>
          ))}
          <text x={(MARGIN.left + WIDTH - MARGIN.right) / 2} y={HEIGHT - 6} textAnchor="middle">
            {xAxis.label}
          </text>
        </g>
        <line
          x1={MARGIN.left}
          x2={MARGIN.left}
          y1={MARGIN.top}
          y2={HEIGHT - MARGIN.bottom}
          className="stroke-slate-400"
        />
        {shownMarks.map((mark) => (
          <g key={`mark${mark.n}`} className="text-[11px] text-slate-700" fill="currentColor">
            <title>{`${mark.n}. ${mark.text}`}</title>
            <line x1={x(mark.x)} x2={x(mark.x)} y1={MARGIN.top} y2={HEIGHT - MARGIN.bottom} strokeDasharray="3 3" className="stroke-slate-500" />
            <text x={x(mark.x) + 3} y={MARGIN.top + 8}>
              {mark.n}
            </text>
          </g>
        ))}
        {drawn.map((s, index) => {
          const points = s.points.map((p) => ({ x: x(p.step), y: y(p.value) }));
          const { stroke, dash } = look(s, index);
          return points.length === 1 ? (
            <circle key={s.id} cx={points[0]!.x} cy={points[0]!.y} r={3} className={`fill-current ${stroke}`} />
          ) : (
            <path
              key={s.id}
              d={linePath(points)}
              fill="none"
              strokeWidth={2}
              strokeDasharray={dash}
              strokeLinejoin="round"
              className={stroke}
            />
          );
        })}
      </svg>
      <ul aria-label="Legend" className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-sm">
        {drawn.map((s, index) => {
          const { stroke, dash } = look(s, index);
          const last = s.points.at(-1);
          return (
            <li key={s.id} className="flex items-center gap-2">
              <svg aria-hidden="true" width="28" height="8" className="shrink-0">
                <line x1="0" x2="28" y1="4" y2="4" strokeWidth={2} strokeDasharray={dash} className={stroke} />
              </svg>
              <span>
                {s.label}
                {last ? <span className="text-slate-500"> · last {formatMetric(last.value)}</span> : null}
              </span>
            </li>
          );
        })}
      </ul>
      <details className="mt-2 text-sm" onToggle={(event) => setNumbersShown(event.currentTarget.open)}>
        <summary className="cursor-pointer text-indigo-700">Show the numbers</summary>
        {numbersShown ? <NumbersTable caption={`${title}, as a table`} series={drawn} xAxis={xAxis} /> : null}
      </details>
    </figure>
  );
}

/** The chart's values as a table: a row a step, a column a series (built only when asked for:
 * a chart may hold 100 runs of 2,500 steps). */
function NumbersTable({ caption, series, xAxis }: { caption: string; series: Series[]; xAxis: XAxis }) {
  const byStep = series.map((s) => new Map(s.points.map((p) => [p.step, p.value])));
  const steps = [...new Set(series.flatMap((s) => s.points.map((p) => p.step)))].sort((a, b) => a - b);
  return (
    <div className="mt-2 max-h-72 overflow-auto">
      <table className="min-w-full text-left">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            <th scope="col" className="px-3 py-1 font-medium">
              {xAxis.label}
            </th>
            {series.map((s) => (
              <th key={s.id} scope="col" className="px-3 py-1 font-medium">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 tabular-nums">
          {steps.map((step) => (
            <tr key={step}>
              <th scope="row" className="px-3 py-1 font-normal">
                {xAxis.format(step)}
              </th>
              {byStep.map((values, i) => (
                <td key={series[i]!.id} className="px-3 py-1">
                  {formatMetric(values.get(step))}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
