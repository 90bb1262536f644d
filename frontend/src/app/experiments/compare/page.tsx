"use client";

import Link from "next/link";
import { useState } from "react";

import { Section } from "@/components/details";
import { MetricChart } from "@/components/metric-chart";
import { ModelPage } from "@/components/org-gate";
import { runHref } from "@/components/runs-table";
import { CheckboxField, EmptyState, ErrorState, PageHeader, Skeleton } from "@/components/ui";
import {
  COMPARE_MAX,
  COMPARE_MIN,
  formatMetric,
  parseRunIds,
  useRunComparison,
  type ComparedValue,
  type Run,
  type RunComparison,
} from "@/lib/experiments";
import type { Organization } from "@/lib/queries";

const CHOOSE_RUNS = { href: "/experiments/", label: "Choose an experiment, then its runs", what: "runs" };

/** Values side by side, a column a run; rows whose values differ are marked (colour and words). */
function CompareTable({
  caption,
  runs,
  rows,
  format,
}: {
  caption: string;
  runs: Run[];
  rows: ComparedValue[];
  format: (value: string | number | null) => string;
}) {
  return (
    <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      <table className="min-w-full text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            <th scope="col" className="px-4 py-2 font-medium">
              Key
            </th>
            {runs.map((run) => (
              <th key={run.id} scope="col" className="px-4 py-2 font-medium">
                <Link className="text-indigo-700 underline" href={runHref(run.id)}>
                  {run.name || run.id}
                </Link>
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {rows.map((row) => (
            <tr key={row.key} className={row.differs ? "bg-amber-50" : undefined}>
              <th scope="row" className="whitespace-nowrap px-4 py-2 font-medium">
                {row.key}
                {row.differs ? <span className="ml-2 rounded bg-amber-200 px-1.5 text-xs font-normal text-amber-900">differs</span> : null}
              </th>
              {runs.map((run) => {
                const value = row.values[run.id] ?? null;
                return (
                  <td key={run.id} className="px-4 py-2 tabular-nums">
                    {value === null ? <span className="text-slate-400">not logged</span> : format(value)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Differences({ org, comparison }: { org: Organization; comparison: RunComparison }) {
  const [onlyDifferences, setOnlyDifferences] = useState(false);
  const { runs, params, metrics } = comparison;
  const differing = params.filter((p) => p.differs).length;
  const shownParams = onlyDifferences ? params.filter((p) => p.differs) : params;
  return (
    <>
      <Section title="Parameters">
        <div className="mb-3 flex flex-wrap items-center gap-4 text-sm">
          <p aria-live="polite">
            {differing} of {params.length} parameter{params.length === 1 ? "" : "s"} differ{differing === 1 ? "s" : ""}.
          </p>
          <CheckboxField
            label="Only differences"
            checked={onlyDifferences}
            onChange={(event) => setOnlyDifferences(event.target.checked)}
          />
        </div>
        {shownParams.length ? (
          <CompareTable caption="Parameters side by side" runs={runs} rows={shownParams} format={String} />
        ) : (
          <EmptyState title={params.length ? "The runs share every parameter" : "No parameters logged"} />
        )}
      </Section>
      <Section title="Metrics">
        {metrics.length ? (
          <>
            <CompareTable
              caption="Latest metrics side by side"
              runs={runs}
              rows={metrics}
              format={(value) => formatMetric(typeof value === "number" ? value : Number(value))}
            />
            <div className="mt-4">
              <MetricChart orgId={org.id} runs={runs} metricKeys={metrics.map((m) => m.key)} />
            </div>
          </>
        ) : (
          <EmptyState title="No metrics logged" />
        )}
      </Section>
    </>
  );
}

function Comparison({ org, runIds }: { org: Organization; runIds: string[] }) {
  const comparison = useRunComparison(org.id, runIds);
  const experimentId = comparison.data?.runs[0]?.experiment_id;
  return (
    <>
      <PageHeader title={`Compare ${runIds.length} runs`}>
        {experimentId ? (
          <Link className="text-sm font-medium text-indigo-700 underline" href={`/experiments/runs/?experiment=${encodeURIComponent(experimentId)}`}>
            Back to the runs
          </Link>
        ) : null}
      </PageHeader>
      {comparison.isLoading ? (
        <Skeleton label="Comparing the runs" rows={4} />
      ) : comparison.error || !comparison.data ? (
        <ErrorState error={comparison.error} onRetry={() => void comparison.refetch()} />
      ) : (
        <Differences org={org} comparison={comparison.data} />
      )}
    </>
  );
}

function CompareView({ org, runsParam }: { org: Organization; runsParam: string }) {
  const runIds = parseRunIds(runsParam);
  if (runIds.length >= COMPARE_MIN && runIds.length <= COMPARE_MAX) return <Comparison org={org} runIds={runIds} />;
  return (
    <>
      <PageHeader title="Compare runs" />
      <EmptyState title={`Compare ${COMPARE_MIN} to ${COMPARE_MAX} runs`}>
        {runIds.length} chosen.{" "}
        <Link className="font-medium text-indigo-700 underline" href={CHOOSE_RUNS.href}>
          {CHOOSE_RUNS.label}
        </Link>
      </EmptyState>
    </>
  );
}

export default function ComparePage() {
  return (
    <ModelPage names={["runs"]} missing="No runs chosen" choose={CHOOSE_RUNS}>
      {([runsParam], org) => <CompareView key={`${org.id}/${runsParam}`} org={org} runsParam={runsParam ?? ""} />}
    </ModelPage>
  );
}
