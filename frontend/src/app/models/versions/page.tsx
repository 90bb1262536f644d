"use client";

import Link from "next/link";
import { useState } from "react";

import { Feedback, useFormSubmit } from "@/components/forms";
import { ModelPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, PageHeader, Skeleton, StateBadge, TextField, formatBytes, formatDate } from "@/components/ui";
import { can, useModel, useUploadVersion, useVersions, versionHref, type Role, type Version } from "@/lib/queries";

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

function UploadVersion({ orgId, modelId }: { orgId: string; modelId: string }) {
  const [progress, setProgress] = useState<number | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const upload = useUploadVersion(orgId, modelId, setProgress);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    if (!file || file.size === 0) throw new Error("Choose an ONNX file first.");
    setProgress(0);
    const version = await upload.mutateAsync({ file, description: String(form.get("description") ?? "") });
    return `Uploaded version ${version.version} (${version.state}); the operator verifies it next.`;
  });
  const percent = progress === null ? null : Math.round(progress * 100);
  return (
    <section aria-labelledby="upload" className="mb-6 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <h2 id="upload" className="font-medium">
        Upload a new version
      </h2>
      <form onSubmit={onSubmit} className="mt-3 flex flex-wrap items-end gap-3">
        <TextField
          label="ONNX file"
          name="file"
          type="file"
          accept=".onnx,application/octet-stream"
          onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          className="w-72"
        />
        <TextField label="Description" name="description" maxLength={2000} className="min-w-56 flex-1" />
        <Button type="submit" busy={upload.isPending}>
          Upload
        </Button>
      </form>
      {percent !== null && (upload.isPending || upload.isSuccess) ? (
        <div className="mt-3 flex items-center gap-3 text-sm">
          <progress className="h-2 w-64 accent-indigo-600" aria-label="Upload progress" max={100} value={percent} />
          <span aria-live="polite">{percent} %</span>
        </div>
      ) : null}
      <Feedback message={message} error={error} className="mt-2" />
    </section>
  );
}

function VersionList({ orgId, modelId, role }: { orgId: string; modelId: string; role: Role }) {
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
      {can.write(role) ? <UploadVersion orgId={orgId} modelId={modelId} /> : null}
      {rows.length === 0 ? (
        <EmptyState title="No versions yet">Upload an ONNX file as this model&apos;s first version.</EmptyState>
      ) : (
        <DataTable
          caption={`Versions of ${model.data?.name}`}
          columns={["Version", "State", "Digest (SHA-256)", "Size", "Conditions", "Created"]}
        >
          {rows.map((version) => (
            <tr key={version.id}>
              <td className="px-4 py-2 font-medium">
                <Link
                  className="text-indigo-700 underline"
                  href={versionHref(modelId, version.id)}
                >
                  v{version.version}
                </Link>
              </td>
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
      {([modelId], org) => <VersionList orgId={org.id} modelId={modelId ?? ""} role={org.role} />}
    </ModelPage>
  );
}
