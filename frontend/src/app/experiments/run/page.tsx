"use client";

import Link from "next/link";
import { useState } from "react";

import { Facts, Section } from "@/components/details";
import { Feedback } from "@/components/forms";
import { MetricChart } from "@/components/metric-chart";
import { ModelPage } from "@/components/org-gate";
import { RegisterFromRun } from "@/components/register-from-run";
import { Button, DataTable, EmptyState, ErrorState, PageHeader, RunStatusBadge, Skeleton, formatBytes, formatDate } from "@/components/ui";
import { explainRefusal } from "@/lib/api/client";
import { artifactTree, type ArtifactNode } from "@/lib/artifacts";
import { saveBlob } from "@/lib/download";
import { formatDuration, formatMetric, useDownloadArtifact, useExperiment, useRun, type RunDetail } from "@/lib/experiments";
import type { Organization } from "@/lib/queries";

const CHOOSE_A_RUN = { href: "/experiments/", label: "Choose an experiment, then a run", what: "runs" };

/** Keys and values as a two-column table, or `empty` when there are none. */
function KeyValues({ caption, values, empty, format = String }: {
  caption: string;
  values: Record<string, string | number>;
  empty: string;
  format?: (value: string | number) => string;
}) {
  const keys = Object.keys(values).sort();
  if (keys.length === 0) return <EmptyState title={empty} />;
  return (
    <DataTable caption={caption} columns={["Key", "Value"]}>
      {keys.map((key) => (
        <tr key={key}>
          <th scope="row" className="px-4 py-2 font-medium">
            {key}
          </th>
          <td className="break-all px-4 py-2 tabular-nums">{format(values[key]!)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Files get a Download button; `busy` is the path being fetched. */
interface Downloads {
  busy: string | null;
  download: (path: string) => void;
}

function ArtifactList({ nodes, label, downloads }: { nodes: ArtifactNode[]; label?: string; downloads: Downloads }) {
  return (
    <ul aria-label={label} className={label ? "text-sm" : "ml-5 border-l border-slate-200 pl-3"}>
      {nodes.map((node) => (
        <li key={node.path} className="py-0.5">
          {node.isDir ? (
            <>
              <span className="font-medium">
                <span aria-hidden="true">📁 </span>
                {node.name}/
              </span>
              {node.children.length ? <ArtifactList nodes={node.children} downloads={downloads} /> : null}
            </>
          ) : (
            <span className="flex flex-wrap items-center gap-x-2">
              <span>
                <span aria-hidden="true">📄 </span>
                {node.name}
                {node.size !== null ? <span className="text-slate-500"> · {formatBytes(node.size)}</span> : null}
              </span>
              <Button
                variant="secondary"
                className="px-2 py-0.5 text-xs"
                aria-label={`Download ${node.path}`}
                busy={downloads.busy === node.path}
                onClick={() => downloads.download(node.path)}
              >
                Download
              </Button>
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

function Artifacts({ orgId, run }: { orgId: string; run: RunDetail }) {
  const fetchFile = useDownloadArtifact(orgId, run.id);
  const [saved, setSaved] = useState<string | null>(null);
  const downloads: Downloads = {
    busy: fetchFile.isPending ? (fetchFile.variables ?? null) : null,
    download: (path) => {
      setSaved(null);
      fetchFile.mutate(path, {
        onSuccess: ({ blob, filename }) => {
          saveBlob(blob, filename);
          setSaved(`Saved ${path} (${formatBytes(blob.size)}).`);
        },
      });
    },
  };
  if (run.artifacts.length === 0) return <EmptyState title="No artifacts">This run logged no files.</EmptyState>;
  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <ArtifactList nodes={artifactTree(run.artifacts)} label={`Artifacts of ${run.name || run.id}`} downloads={downloads} />
      <Feedback message={saved} error={fetchFile.error} explain={explainRefusal} className="mt-2" />
      {run.artifacts_truncated ? (
        <p className="mt-2 text-sm text-slate-600">Only the first {run.artifacts.length} entries (4 folders deep) are listed.</p>
      ) : null}
    </div>
  );
}

function RunView({ org, runId }: { org: Organization; runId: string }) {
  const run = useRun(org.id, runId);
  const experimentId = run.data?.experiment_id ?? "";
  const experiment = useExperiment(org.id, experimentId, experimentId !== "");
  if (run.isLoading) return <Skeleton label="Loading the run" rows={4} />;
  if (run.error || !run.data) return <ErrorState error={run.error} onRetry={() => void run.refetch()} />;
  const detail = run.data;
  const runsHref = `/experiments/runs/?experiment=${encodeURIComponent(detail.experiment_id)}`;
  const metricKeys = Object.keys(detail.metrics).sort();
  return (
    <>
      <PageHeader title={detail.name || detail.id}>
        <Link className="text-sm font-medium text-indigo-700 underline" href={runsHref}>
          All runs of {experiment.data?.name ?? `experiment ${detail.experiment_id}`}
        </Link>
      </PageHeader>
      <Facts
        rows={[
          ["Run id", <code key="id">{detail.id}</code>],
          ["Experiment", experiment.data?.name ?? detail.experiment_id],
          ["Status", <RunStatusBadge key="status" status={detail.status} />],
          ["Started", detail.started_at ? formatDate(detail.started_at) : "not yet"],
          ["Ended", detail.ended_at ? formatDate(detail.ended_at) : "not yet"],
          ["Duration", formatDuration(detail.started_at, detail.ended_at) || "unknown"],
        ]}
      />
      <Section title="Metrics">
        <KeyValues caption="Latest metrics" values={detail.metrics} empty="No metrics logged" format={(v) => formatMetric(Number(v))} />
        {metricKeys.length ? (
          <div className="mt-4">
            <MetricChart orgId={org.id} runs={[{ id: detail.id, name: detail.name }]} metricKeys={metricKeys} />
          </div>
        ) : null}
      </Section>
      <Section title="Parameters">
        <KeyValues caption="Parameters" values={detail.params} empty="No parameters logged" />
      </Section>
      <Section title="Tags">
        <KeyValues caption="Tags" values={detail.tags} empty="No tags" />
        {Object.keys(detail.system_tags).length ? (
          <details className="mt-3 text-sm">
            <summary className="cursor-pointer text-indigo-700">MLflow&apos;s own tags ({Object.keys(detail.system_tags).length})</summary>
            <div className="mt-2">
              <KeyValues caption="MLflow's own tags" values={detail.system_tags} empty="None" />
            </div>
          </details>
        ) : null}
      </Section>
      <Section title="Artifacts">
        <Artifacts orgId={org.id} run={detail} />
      </Section>
      <Section title="Register as model version">
        <p className="mb-3 text-sm text-slate-700">
          Copy the ONNX model this run logged into the registry; it is verified like an upload.
        </p>
        <RegisterFromRun org={org} runId={detail.id} />
      </Section>
    </>
  );
}

export default function RunPage() {
  return (
    <ModelPage names={["run"]} missing="No run chosen" choose={CHOOSE_A_RUN}>
      {([runId], org) => <RunView key={`${org.id}/${runId}`} org={org} runId={runId ?? ""} />}
    </ModelPage>
  );
}
