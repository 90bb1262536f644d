"use client";

import Link from "next/link";
import { useDeferredValue, useState } from "react";

import { Feedback, ModelNameField, TaskTypeField, useFormSubmit } from "@/components/forms";
import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, Paging, Skeleton, TextField, formatDate } from "@/components/ui";
import { explainConflict } from "@/lib/api/client";
import { can, TASK_TYPES, useCreateModel, useModels, type Organization } from "@/lib/queries";

function RegisterModel({ orgId }: { orgId: string }) {
  const create = useCreateModel(orgId);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const model = await create.mutateAsync({
      name: String(form.get("name") ?? ""),
      task_type: String(form.get("task_type")) as (typeof TASK_TYPES)[number],
      description: String(form.get("description") ?? ""),
    });
    return `Registered ${model.name}; upload its first version from its page.`;
  });
  return (
    <form onSubmit={onSubmit} aria-label="Register a model" className="mb-6 flex flex-wrap items-start gap-3">
      <ModelNameField />
      <TaskTypeField />
      <TextField label="Description" name="description" maxLength={2000} className="min-w-56 flex-1" />
      <Button type="submit" busy={create.isPending} className="mt-6">
        Register model
      </Button>
      <Feedback message={message} error={error} explain={explainConflict("A model with this name already exists.")} className="w-full" />
    </form>
  );
}

function ModelList({ org }: { org: Organization }) {
  const orgId = org.id;
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(1);
  const name = useDeferredValue(search.trim());
  const models = useModels(orgId, name, page);
  const rows = models.data?.data ?? [];
  const pages = models.data?.meta.pages ?? 0;

  return (
    <>
      {can.write(org.role) ? <RegisterModel orgId={orgId} /> : null}
      <TextField
        label="Search models"
        type="search"
        value={search}
        onChange={(event) => {
          setSearch(event.target.value);
          setPage(1);
        }}
        placeholder="Name contains…"
        className="mb-4 max-w-sm"
      />
      {models.isLoading ? (
        <Skeleton label="Loading models" />
      ) : models.error ? (
        <ErrorState error={models.error} onRetry={() => void models.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title={name ? `No model's name contains "${name}"` : "No models yet"}>
          {name ? null : "Register one with the API or the CLI; its versions appear here once uploaded."}
        </EmptyState>
      ) : (
        <DataTable
          caption="Models"
          busy={models.isFetching}
          columns={["Name", "Task", "Latest version", "Updated"]}
        >
          {rows.map((model) => (
            <tr key={model.id}>
              <td className="px-4 py-2">
                <Link
                  className="font-medium text-indigo-700 underline"
                  href={`/models/versions/?model=${encodeURIComponent(model.id)}`}
                >
                  {model.name}
                </Link>
                {model.description ? <p className="text-xs text-slate-500">{model.description}</p> : null}
              </td>
              <td className="px-4 py-2">{model.task_type}</td>
              <td className="px-4 py-2">{model.latest_version ?? "none"}</td>
              <td className="px-4 py-2 text-slate-600">{formatDate(model.updated_at)}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <Paging page={page} pages={pages} onPage={setPage} label="Model pages" />
    </>
  );
}

export default function ModelsPage() {
  return <OrgPage title="Models" what="models">{(org) => <ModelList key={org.id} org={org} />}</OrgPage>;
}
