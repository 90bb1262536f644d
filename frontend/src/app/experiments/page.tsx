"use client";

import Link from "next/link";
import { useDeferredValue, useState, type FormEvent } from "react";

import { ConfirmAction, Feedback, useFormSubmit } from "@/components/forms";
import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, LoadMore, SelectField, Skeleton, TextField, formatDate } from "@/components/ui";
import { explainConflict } from "@/lib/api/client";
import {
  EXPERIMENT_SORTS,
  trackingUri,
  useExperimentMutations,
  useExperiments,
  type Experiment,
  type ExperimentSort,
} from "@/lib/experiments";
import { can, type Organization } from "@/lib/queries";

const nameTaken = explainConflict("An experiment with this name already exists in this organization.");

/** What to export so that the standard mlflow client logs into this organization. */
function TrackingHelp({ org }: { org: Organization }) {
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  return (
    <details className="mb-6 rounded-lg bg-white p-4 text-sm shadow-sm ring-1 ring-slate-200">
      <summary className="cursor-pointer font-medium text-indigo-700">Log runs with the mlflow client</summary>
      <p className="mt-3 text-slate-700">
        Point the standard <code>mlflow</code> client at {org.display_name}; runs it logs appear here.
      </p>
      <pre aria-label="mlflow client settings" className="mt-2 overflow-x-auto rounded bg-slate-900 p-3 text-slate-100">
        {`export MLFLOW_TRACKING_URI=${trackingUri(origin, org.slug)}\nexport MLFLOW_TRACKING_TOKEN=<an API key of ${org.slug}>`}
      </pre>
      <p className="mt-2 text-slate-600">
        {can.manage(org.role) ? (
          <>
            Create a key on the{" "}
            <Link className="font-medium text-indigo-700 underline" href="/api-keys/">
              API keys
            </Link>{" "}
            page (role developer to log runs, viewer to read them).
          </>
        ) : (
          "Ask an admin of this organization for an API key (role developer to log runs, viewer to read them)."
        )}
      </p>
    </details>
  );
}

function CreateExperiment({ orgId }: { orgId: string }) {
  const { create } = useExperimentMutations(orgId);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const created = await create.mutateAsync({ name: String(form.get("name") ?? "").trim() });
    return `Created ${created.name}.`;
  });
  return (
    <form onSubmit={onSubmit} aria-label="Create an experiment" className="mb-6 flex flex-wrap items-start gap-3">
      <TextField label="Experiment name" name="name" required maxLength={500} className="w-72" />
      <Button type="submit" busy={create.isPending} className="mt-6">
        Create experiment
      </Button>
      <Feedback message={message} error={error} explain={nameTaken} className="w-full" />
    </form>
  );
}

function RenameExperiment({ orgId, experiment, onDone }: { orgId: string; experiment: Experiment; onDone: () => void }) {
  const { rename } = useExperimentMutations(orgId);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name") ?? "").trim();
    if (name === experiment.name) return onDone();
    rename.mutate({ id: experiment.id, name }, { onSuccess: onDone });
  }
  return (
    <form onSubmit={submit} aria-label={`Rename ${experiment.name}`} className="flex flex-wrap items-end gap-2">
      <TextField label="New name" name="name" required maxLength={500} defaultValue={experiment.name} className="w-56" />
      <Button type="submit" busy={rename.isPending}>
        Save
      </Button>
      <Button variant="secondary" onClick={onDone}>
        Cancel
      </Button>
      <Feedback error={rename.error} explain={nameTaken} className="w-full" />
    </form>
  );
}

function ExperimentRow({ org, experiment }: { org: Organization; experiment: Experiment }) {
  const [renaming, setRenaming] = useState(false);
  const { remove } = useExperimentMutations(org.id);
  return (
    <tr>
      <td className="px-4 py-2">
        {renaming ? (
          <RenameExperiment orgId={org.id} experiment={experiment} onDone={() => setRenaming(false)} />
        ) : (
          <Link
            className="font-medium text-indigo-700 underline"
            href={`/experiments/runs/?experiment=${encodeURIComponent(experiment.id)}`}
          >
            {experiment.name}
          </Link>
        )}
        <span className="block text-xs text-slate-500">id {experiment.id}</span>
      </td>
      <td className="px-4 py-2 text-slate-600">{experiment.created_at ? formatDate(experiment.created_at) : ""}</td>
      <td className="px-4 py-2 text-slate-600">{experiment.updated_at ? formatDate(experiment.updated_at) : ""}</td>
      <td className="px-4 py-2">
        <div className="flex flex-wrap items-start justify-end gap-2">
          {can.track(org.role) && !renaming ? (
            <Button variant="secondary" aria-label={`Rename ${experiment.name}`} onClick={() => setRenaming(true)}>
              Rename
            </Button>
          ) : null}
          {can.deleteExperiments(org.role) ? (
            <ConfirmAction
              label={`Delete ${experiment.name}`}
              confirmLabel={`Yes, delete ${experiment.name} and its runs`}
              busy={remove.isPending}
              error={remove.error}
              onConfirm={(done) => remove.mutate(experiment.id, { onSettled: done })}
            />
          ) : null}
        </div>
      </td>
    </tr>
  );
}

function RoleNote({ org }: { org: Organization }) {
  if (can.deleteExperiments(org.role)) return null;
  return (
    <p className="mb-4 text-sm text-slate-600">
      {can.track(org.role)
        ? "As a developer you create and rename experiments; only admins delete them."
        : "As a viewer you read experiments and runs; developers and admins create and rename them, admins delete them."}
    </p>
  );
}

function ExperimentList({ org }: { org: Organization }) {
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<ExperimentSort>("-created_at");
  const name = useDeferredValue(search.trim());
  const experiments = useExperiments(org.id, name, sort);
  const rows = experiments.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <>
      <TrackingHelp org={org} />
      {can.track(org.role) ? <CreateExperiment orgId={org.id} /> : null}
      <RoleNote org={org} />
      <div className="mb-4 flex flex-wrap items-end gap-3">
        <TextField
          label="Search experiments"
          type="search"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
          placeholder="Name contains…"
          className="w-72"
        />
        <SelectField label="Sort" value={sort} onChange={(event) => setSort(event.target.value as ExperimentSort)} className="w-48">
          {EXPERIMENT_SORTS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </SelectField>
      </div>
      {experiments.isLoading ? (
        <Skeleton label="Loading experiments" />
      ) : experiments.error ? (
        <ErrorState error={experiments.error} onRetry={() => void experiments.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title={name ? `No experiment's name contains "${name}"` : "No experiments yet"}>
          {name ? null : "Create one here, or log a run with the mlflow client: its experiment appears here."}
        </EmptyState>
      ) : (
        <>
          <DataTable
            caption="Experiments"
            busy={experiments.isFetching}
            columns={["Name", "Created", "Updated", { label: "Actions", srOnly: true }]}
          >
            {rows.map((experiment) => (
              <ExperimentRow key={experiment.id} org={org} experiment={experiment} />
            ))}
          </DataTable>
          <LoadMore
            pages={experiments}
            label="Load more experiments"
            end={`${rows.length} experiment${rows.length === 1 ? "" : "s"}, all shown.`}
          />
        </>
      )}
    </>
  );
}

export default function ExperimentsPage() {
  return (
    <OrgPage title="Experiments" what="experiments">
      {(org) => <ExperimentList key={org.id} org={org} />}
    </OrgPage>
  );
}
