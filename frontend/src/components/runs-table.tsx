"use client";

import Link from "next/link";
import type { ReactNode } from "react";

import { dataColumns, formatDuration, formatMetric, sortDirection, toggleSort, type Run } from "@/lib/experiments";

import { CheckboxField, RunStatusBadge, formatDate } from "./ui";

const cell = "whitespace-nowrap px-3 py-2";

/** A column header that sorts the runs by `field` when clicked (`aria-sort` says how it does). */
function SortHeader({
  field,
  sort,
  onSort,
  kind,
  children,
}: {
  field: string;
  sort: string;
  onSort: (sort: string) => void;
  kind?: string;
  children: ReactNode;
}) {
  const direction = sortDirection(sort, field);
  return (
    <th scope="col" aria-sort={direction ?? "none"} className="px-3 py-2 font-medium">
      <button
        type="button"
        onClick={() => onSort(toggleSort(sort, field))}
        className="inline-flex items-center gap-1 rounded text-left hover:text-indigo-700 focus-visible:outline-2 focus-visible:outline-indigo-600"
      >
        <span>
          {kind ? <span className="block text-xs font-normal text-slate-500">{kind}</span> : null}
          {children}
        </span>
        <span aria-hidden="true" className="text-xs text-slate-500">
          {direction === "ascending" ? "▲" : direction === "descending" ? "▼" : "↕"}
        </span>
      </button>
    </th>
  );
}

export function runHref(runId: string): string {
  return `/experiments/run/?run=${encodeURIComponent(runId)}`;
}

/** The runs of an experiment as MLflow's UI shows them: a row a run, its params and latest
 * metrics as columns (those in `hidden` left out), every header sorting, a checkbox a row. */
export function RunsTable({
  caption,
  runs,
  hidden,
  sort,
  onSort,
  selected,
  onSelect,
  busy,
}: {
  caption: string;
  runs: Run[];
  hidden: ReadonlySet<string>;
  sort: string;
  onSort: (sort: string) => void;
  selected: ReadonlySet<string>;
  onSelect: (runId: string, selected: boolean) => void;
  busy?: boolean;
}) {
  const columns = dataColumns(runs);
  const params = columns.params.filter((key) => !hidden.has(`params.${key}`));
  const metrics = columns.metrics.filter((key) => !hidden.has(`metrics.${key}`));
  const header = { sort, onSort };
  return (
    <div className="relative overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      <table className="min-w-full text-left text-sm" aria-busy={busy || undefined}>
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50 align-bottom text-slate-600">
          <tr>
            <th scope="col" className="px-3 py-2">
              <span className="sr-only">Selected</span>
            </th>
            <SortHeader field="name" {...header}>
              Run
            </SortHeader>
            <SortHeader field="status" {...header}>
              Status
            </SortHeader>
            <SortHeader field="started_at" {...header}>
              Started
            </SortHeader>
            <th scope="col" className="px-3 py-2 font-medium">
              Duration
            </th>
            {params.map((key) => (
              <SortHeader key={`p-${key}`} field={`params.${key}`} kind="param" {...header}>
                {key}
              </SortHeader>
            ))}
            {metrics.map((key) => (
              <SortHeader key={`m-${key}`} field={`metrics.${key}`} kind="metric" {...header}>
                {key}
              </SortHeader>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 align-middle">
          {runs.map((run) => (
            <tr key={run.id} className={selected.has(run.id) ? "bg-indigo-50" : undefined}>
              <td className="px-3 py-2">
                <CheckboxField
                  label={`Select ${run.name || run.id}`}
                  labelClassName="sr-only"
                  checked={selected.has(run.id)}
                  onChange={(event) => onSelect(run.id, event.target.checked)}
                />
              </td>
              <td className={cell}>
                <Link className="font-medium text-indigo-700 underline" href={runHref(run.id)}>
                  {run.name || run.id}
                </Link>
              </td>
              <td className={cell}>
                <RunStatusBadge status={run.status} />
              </td>
              <td className={`${cell} text-slate-600`}>{run.started_at ? formatDate(run.started_at) : ""}</td>
              <td className={`${cell} text-slate-600`}>{formatDuration(run.started_at, run.ended_at)}</td>
              {params.map((key) => (
                <td key={`p-${key}`} className={cell}>
                  {run.params[key] ?? ""}
                </td>
              ))}
              {metrics.map((key) => (
                <td key={`m-${key}`} className={`${cell} tabular-nums`}>
                  {formatMetric(run.metrics[key])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Checkboxes that show or hide the runs table's param and metric columns. */
export function ColumnChooser({
  runs,
  hidden,
  onToggle,
}: {
  runs: Run[];
  hidden: ReadonlySet<string>;
  onToggle: (field: string, shown: boolean) => void;
}) {
  const { params, metrics } = dataColumns(runs);
  const fields = [...params.map((key) => `params.${key}`), ...metrics.map((key) => `metrics.${key}`)];
  if (fields.length === 0) return null;
  const shown = fields.filter((field) => !hidden.has(field)).length;
  return (
    <details className="relative">
      <summary className="cursor-pointer rounded-md px-3 py-2 text-sm font-medium text-indigo-700 ring-1 ring-slate-300">
        Columns ({shown} of {fields.length} shown)
      </summary>
      <fieldset className="absolute right-0 z-10 mt-1 max-h-80 w-64 overflow-y-auto rounded-md bg-white p-3 shadow-lg ring-1 ring-slate-200">
        <legend className="sr-only">Columns shown</legend>
        {fields.map((field) => (
          <CheckboxField
            key={field}
            label={field}
            checked={!hidden.has(field)}
            onChange={(event) => onToggle(field, event.target.checked)}
            className="py-0.5"
          />
        ))}
      </fieldset>
    </details>
  );
}
