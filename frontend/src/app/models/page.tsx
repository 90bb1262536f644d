"use client";

import Link from "next/link";
import { useDeferredValue, useState } from "react";

import { OrgPage } from "@/components/org-gate";
import { DataTable, EmptyState, ErrorState, Paging, Skeleton, TextField, formatDate } from "@/components/ui";
import { useModels } from "@/lib/queries";

function ModelList({ orgId }: { orgId: string }) {
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(1);
  const name = useDeferredValue(search.trim());
  const models = useModels(orgId, name, page);
  const rows = models.data?.data ?? [];
  const pages = models.data?.meta.pages ?? 0;

  return (
    <>
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
  return <OrgPage title="Models" what="models">{(org) => <ModelList key={org.id} orgId={org.id} />}</OrgPage>;
}
