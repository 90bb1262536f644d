"use client";

import Link from "next/link";

import { ModelPage } from "@/components/org-gate";
import { DataTable, EmptyState, ErrorState, PageHeader, Skeleton, StateBadge, formatBytes, formatDate } from "@/components/ui";
import { useModel, useVersions, type Version } from "@/lib/queries";

function Conditions({ version }: { version: Version }) {
  if (version.conditions.length === 0) return <span className="text-slate-500">none reported yet</span>;
  return (
    <details>
      <summary className="cursor-pointer text-indigo-700">{version.conditions.length} conditions</summary>
      <ul className="mt-2 space-y-1">
        {version.conditions.map((condition) => (
          <li key={condition.type}>
            <span className="font-medium">{condition.type}</span>={condition.status}
            {condition.reason ? <> ({condition.reason})</> : null}
            {condition.message ? <span className="block text-xs text-slate-500">{condition.message}</span> : null}
          </li>
        ))}
      </ul>
    </details>
  );
}

function VersionList({ orgId, modelId }: { orgId: string; modelId: string }) {
  const model = useModel(orgId, modelId);
  const versions = useVersions(orgId, modelId);
  if (model.isLoading || versions.isLoading) return <Skeleton label="Loading versions" />;
  const error = model.error ?? versions.error;
  if (error)
    return (
      <ErrorState
        error={error}
        onRetry={() => {
          void model.refetch();
          void versions.refetch();
        }}
      />
    );
  const rows = versions.data?.data ?? [];
  return (
    <>
      <PageHeader title={model.data?.name ?? "Model"}>
        <Link className="text-sm text-indigo-700 underline" href="/models/">
          All models
        </Link>
      </PageHeader>
      {model.data?.description ? <p className="-mt-4 mb-6 text-slate-600">{model.data.description}</p> : null}
      {rows.length === 0 ? (
        <EmptyState title="No versions yet">Upload an ONNX file as this model&apos;s first version.</EmptyState>
      ) : (
        <DataTable
          caption={`Versions of ${model.data?.name}`}
          columns={["Version", "State", "Digest (SHA-256)", "Size", "Conditions", "Created"]}
        >
          {rows.map((version) => (
            <tr key={version.id}>
              <td className="px-4 py-2 font-medium">v{version.version}</td>
              <td className="px-4 py-2">
                <StateBadge state={version.state} />
                {version.reason ? <span className="block text-xs text-slate-500">{version.reason}</span> : null}
              </td>
              <td className="px-4 py-2">
                <code className="break-all text-xs" title={version.sha256}>
                  {version.sha256}
                </code>
              </td>
              <td className="px-4 py-2">{formatBytes(version.size_bytes)}</td>
              <td className="px-4 py-2">
                <Conditions version={version} />
              </td>
              <td className="px-4 py-2 text-slate-600">{formatDate(version.created_at)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

export default function VersionsPage() {
  return (
    <ModelPage names={["model"]} missing="No model chosen">
      {([modelId], org) => <VersionList orgId={org.id} modelId={modelId ?? ""} />}
    </ModelPage>
  );
}
