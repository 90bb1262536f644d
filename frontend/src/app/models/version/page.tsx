"use client";

import Link from "next/link";
import type { ReactNode } from "react";

import { ModelPage } from "@/components/org-gate";
import { DataTable, EmptyState, ErrorState, PageHeader, Skeleton, StateBadge, formatBytes, formatDate } from "@/components/ui";
import { useVersion, type VersionDetail } from "@/lib/queries";
import { features, formatShape, tensors, type Tensor } from "@/lib/signature";

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = `section-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id} className="mt-8">
      <h2 id={id} className="mb-3 text-lg font-medium">
        {title}
      </h2>
      {children}
    </section>
  );
}

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid gap-x-6 gap-y-2 rounded-lg bg-white p-4 text-sm shadow-sm ring-1 ring-slate-200 sm:grid-cols-[max-content_1fr]">
      {rows.map(([term, value]) => (
        <div key={term} className="contents">
          <dt className="font-medium text-slate-600">{term}</dt>
          <dd className="break-all">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function TensorTable({ caption, rows }: { caption: string; rows: Tensor[] }) {
  return (
    <DataTable caption={caption} showCaption columns={["Name", "Datatype", "Shape"]}>
      {rows.map((tensor) => (
        <tr key={tensor.name}>
          <td className="px-4 py-2"><code>{tensor.name}</code></td>
          <td className="px-4 py-2">{tensor.datatype}</td>
          <td className="px-4 py-2"><code>{formatShape(tensor.shape)}</code></td>
        </tr>
      ))}
    </DataTable>
  );
}

function Detail({ version }: { version: VersionDetail }) {
  const featureRows = features(version.features);
  return (
    <>
      <Facts
        rows={[
          [
            "State",
            <>
              <StateBadge state={version.state} /> <span className="font-medium">{version.reason ?? ""}</span>
              {version.message ? <span className="text-slate-600">: {version.message}</span> : null}
            </>,
          ],
          ["SHA-256", <code key="d">{version.sha256}</code>],
          ["Size", formatBytes(version.size_bytes)],
          ["Artifact", <code key="a">{version.artifact_uri}</code>],
          ["Source", version.source],
          ["MLflow run", version.mlflow_run_id ?? "none"],
          ["MLflow registry version", version.mlflow_version ?? (version.mlflow_error ? `not mirrored: ${version.mlflow_error}` : "none")],
          ["Kubernetes object", <code key="k">{`${version.namespace}/${version.resource_name}`}</code>],
          ["Reference dataset", version.reference_dataset ? <code key="r">{`${version.reference_dataset.uri} (${version.reference_dataset.format}, sha256 ${version.reference_dataset.sha256})`}</code> : "none"],
          ["Used by deployments", version.used_by.length ? version.used_by.join(", ") : "none"],
          ["Created", formatDate(version.created_at)],
        ]}
      />
      {version.description ? <p className="mt-4 text-slate-700">{version.description}</p> : null}

      <Section title="Signature">
        <div className="grid gap-4 lg:grid-cols-2">
          <TensorTable caption="Inputs" rows={tensors(version.signature, "inputs")} />
          <TensorTable caption="Outputs" rows={tensors(version.signature, "outputs")} />
        </div>
      </Section>

      <Section title="Feature schema">
        {featureRows.length === 0 ? (
          <EmptyState title="No features declared">Drift monitoring needs the features of the model&apos;s inputs.</EmptyState>
        ) : (
          <DataTable caption="Features" columns={["Name", "Type", "Input tensor", "Index"]}>
            {featureRows.map((feature) => (
              <tr key={feature.name}>
                <td className="px-4 py-2 font-medium">{feature.name}</td>
                <td className="px-4 py-2">{feature.type}</td>
                <td className="px-4 py-2"><code>{feature.input}</code></td>
                <td className="px-4 py-2">{feature.index ?? "whole tensor"}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>

      <Section title="Verification conditions">
        {version.conditions.length === 0 ? (
          <EmptyState title="No conditions reported yet">The operator reports them once it has checked the artifact.</EmptyState>
        ) : (
          <DataTable caption="Conditions" columns={["Type", "Status", "Reason", "Message", "Since"]}>
            {version.conditions.map((condition) => (
              <tr key={condition.type}>
                <td className="px-4 py-2 font-medium">{condition.type}</td>
                <td className="px-4 py-2">{condition.status}</td>
                <td className="px-4 py-2">{condition.reason ?? ""}</td>
                <td className="px-4 py-2 text-slate-700">{condition.message ?? ""}</td>
                <td className="px-4 py-2 text-slate-600">{condition.last_transition_time ? formatDate(condition.last_transition_time) : ""}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>

      <Section title="Events">
        {version.events.length === 0 ? (
          <EmptyState title="No events" />
        ) : (
          <DataTable caption="Kubernetes events" columns={["Type", "Reason", "Message", "Count", "Last seen"]}>
            {version.events.map((event, i) => (
              <tr key={`${event.reason}-${i}`}>
                <td className="px-4 py-2">{event.type ?? ""}</td>
                <td className="px-4 py-2 font-medium">{event.reason ?? ""}</td>
                <td className="px-4 py-2 text-slate-700">{event.message ?? ""}</td>
                <td className="px-4 py-2">{event.count ?? ""}</td>
                <td className="px-4 py-2 text-slate-600">{event.last_timestamp ? formatDate(event.last_timestamp) : ""}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Section>
    </>
  );
}

function VersionView({ orgId, modelId, versionId }: { orgId: string; modelId: string; versionId: string }) {
  const version = useVersion(orgId, modelId, versionId);
  if (version.isLoading) return <Skeleton label="Loading the version" />;
  if (version.error || !version.data) return <ErrorState error={version.error} onRetry={() => void version.refetch()} />;
  return (
    <>
      <PageHeader title={`Version ${version.data.version}`}>
        <Link className="text-sm text-indigo-700 underline" href={`/models/versions/?model=${encodeURIComponent(modelId)}`}>
          All versions of this model
        </Link>
      </PageHeader>
      <Detail version={version.data} />
    </>
  );
}

export default function VersionPage() {
  return (
    <ModelPage names={["model", "version"]} missing="No version chosen">
      {([modelId, versionId], org) => <VersionView orgId={org.id} modelId={modelId ?? ""} versionId={versionId ?? ""} />}
    </ModelPage>
  );
}
