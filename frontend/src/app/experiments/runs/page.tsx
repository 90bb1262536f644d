"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";

import { Section } from "@/components/details";
import { MetricChart } from "@/components/metric-chart";
import { ModelPage } from "@/components/org-gate";
import { ColumnChooser, RunsTable } from "@/components/runs-table";
import { Button, EmptyState, ErrorState, LoadMore, PageHeader, SelectField, Skeleton, TextField } from "@/components/ui";
import { ApiError, describeError } from "@/lib/api/client";
import {
  CHART_MAX,
  COMPARE_MAX,
  COMPARE_MIN,
  DEFAULT_RUN_FILTERS,
  RUN_STATUSES,
  dataColumns,
  useExperiment,
  useRuns,
  type Run,
  type RunFilters,
  type RunStatus,
} from "@/lib/experiments";
import type { Organization } from "@/lib/queries";

const CHOOSE_AN_EXPERIMENT = { href: "/experiments/", label: "Choose an experiment", what: "experiments" };

/** A refused search is MLflow's parser speaking: its words say what to fix (and trying the
 * same search again would not help). */
function refusedSearch(error: unknown): boolean {
  return error instanceof ApiError && error.status === 400;
}

function explainSearch(error: unknown): string {
  return refusedSearch(error) && error instanceof Error ? `The search was refused: ${error.message}` : describeError(error);
}

function SearchForm({ filters, onSearch }: { filters: RunFilters; onSearch: (filters: RunFilters) => void }) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const status = String(form.get("status") ?? "");
    onSearch({
      ...filters,
      query: String(form.get("query") ?? "").trim(),
      status: RUN_STATUSES.includes(status as RunStatus) ? (status as RunStatus) : "",
    });
  }
  return (
    <form onSubmit={submit} aria-label="Search runs" className="mb-4 flex flex-wrap items-start gap-3">
      <TextField
        label="Search runs"
        name="query"
        type="search"
        defaultValue={filters.query}
        placeholder="metrics.auc > 0.9 and params.depth = '4'"
        hint="MLflow's search syntax: metrics.<key>, params.<key>, tags.<key>, attributes.run_name; join conditions with and."
        className="min-w-72 flex-1"
      />
      <SelectField label="Status" name="status" defaultValue={filters.status} className="w-40">
        <option value="">Any</option>
        {RUN_STATUSES.map((status) => (
          <option key={status} value={status}>
            {status.toLowerCase()}
          </option>
        ))}
      </SelectField>
      <Button type="submit" className="mt-6">
        Search
      </Button>
    </form>
  );
}

/** What to do with the selected runs: compare 2–20 of them. */
function SelectionBar({ selected, onClear }: { selected: string[]; onClear: () => void }) {
  const count = selected.length;
  const canCompare = count >= COMPARE_MIN && count <= COMPARE_MAX;
  const reason =
    count < COMPARE_MIN ? `Select at least ${COMPARE_MIN} runs to compare them.` : `Compare at most ${COMPARE_MAX} runs at once.`;
  return (
    <div role="group" aria-label="Selected runs" className="mb-3 flex flex-wrap items-center gap-3 text-sm">
      <span aria-live="polite">
        {count} run{count === 1 ? "" : "s"} selected
      </span>
      {canCompare ? (
        <Link
          className="rounded-md bg-indigo-600 px-3 py-2 font-medium text-white hover:bg-indigo-500"
          href={`/experiments/compare/?runs=${selected.join(",")}`}
        >
          Compare {count} runs
        </Link>
      ) : (
        <span className="text-slate-500">{reason}</span>
      )}
      {count > 0 ? (
        <Button variant="secondary" onClick={onClear}>
          Clear selection
        </Button>
      ) : null}
    </div>
  );
}

/** One metric's history for the selected runs (the facade draws up to 100 at once). */
function SelectedChart({ orgId, runs }: { orgId: string; runs: Run[] }) {
  if (runs.length === 0) return null;
  return (
    <Section title="Metrics of the selected runs">
      {runs.length > CHART_MAX ? (
        <p className="text-sm text-slate-600">Select at most {CHART_MAX} runs to chart them together.</p>
      ) : (
        <MetricChart orgId={orgId} runs={runs} metricKeys={dataColumns(runs).metrics} />
      )}
    </Section>
  );
}

function ExperimentRuns({ org, experimentId }: { org: Organization; experimentId: string }) {
  const experiment = useExperiment(org.id, experimentId);
  const [filters, setFilters] = useState<RunFilters>(DEFAULT_RUN_FILTERS);
  const [selected, setSelected] = useState<string[]>([]);
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const runs = useRuns(org.id, experimentId, filters);
  const rows = runs.data?.pages.flatMap((page) => page.data) ?? [];
  const name = experiment.data?.name ?? `Experiment ${experimentId}`;

  if (experiment.error) return <ErrorState error={experiment.error} onRetry={() => void experiment.refetch()} />;
  const filtered = filters.query !== "" || filters.status !== "";
  return (
    <>
      <PageHeader title={name}>
        <Link className="text-sm font-medium text-indigo-700 underline" href="/experiments/">
          All experiments
        </Link>
      </PageHeader>
      <SearchForm filters={filters} onSearch={setFilters} />
      {runs.isLoading ? (
        <Skeleton label="Loading runs" />
      ) : runs.error ? (
        <ErrorState
          error={runs.error}
          explain={explainSearch}
          onRetry={refusedSearch(runs.error) ? undefined : () => void runs.refetch()}
        />
      ) : rows.length === 0 ? (
        <EmptyState title={filtered ? "No run matches this search" : "No runs yet"}>
          {filtered ? null : "Log runs into this experiment with the mlflow client; they appear here."}
        </EmptyState>
      ) : (
        <>
          <div className="flex flex-wrap items-start justify-between gap-3">
            <SelectionBar selected={selected} onClear={() => setSelected([])} />
            <ColumnChooser
              runs={rows}
              hidden={hidden}
              onToggle={(field, shown) =>
                setHidden((before) => {
                  const after = new Set(before);
                  if (shown) after.delete(field);
                  else after.add(field);
                  return after;
                })
              }
            />
          </div>
          <RunsTable
            caption={`Runs of ${name}`}
            runs={rows}
            hidden={hidden}
            sort={filters.sort}
            onSort={(sort) => setFilters({ ...filters, sort })}
            selected={new Set(selected)}
            onSelect={(runId, on) => setSelected((before) => (on ? [...before, runId] : before.filter((id) => id !== runId)))}
            busy={runs.isFetching}
          />
          <LoadMore pages={runs} label="Load more runs" end={`${rows.length} run${rows.length === 1 ? "" : "s"}, all shown.`} />
          <SelectedChart orgId={org.id} runs={rows.filter((run) => selected.includes(run.id))} />
        </>
      )}
    </>
  );
}

export default function ExperimentRunsPage() {
  return (
    <ModelPage names={["experiment"]} missing="No experiment chosen" choose={CHOOSE_AN_EXPERIMENT}>
      {([experimentId], org) => <ExperimentRuns key={`${org.id}/${experimentId}`} org={org} experimentId={experimentId ?? ""} />}
    </ModelPage>
  );
}
