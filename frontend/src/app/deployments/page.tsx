"use client";

import Link from "next/link";
import { useDeferredValue, useState } from "react";

import { OrgPage } from "@/components/org-gate";
import { DataTable, EmptyState, EnvironmentBadge, ErrorState, Paging, PhaseBadge, SelectField, Skeleton, TextField, formatDate } from "@/components/ui";
import { deploymentHref } from "@/lib/deployments";
import { ENVIRONMENTS, PHASES, useDeployments, type Environment, type Phase } from "@/lib/queries";

/** A filter's select: "Any", or one of `options`. */
function AnySelect<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T | "";
  options: T[];
  onChange: (value: T | "") => void;
}) {
  return (
    <SelectField label={label} value={value} onChange={(event) => onChange(event.target.value as T | "")} className="w-40">
      <option value="">Any</option>
      {options.map((option) => (
        <option key={option} value={option}>
          {option}
        </option>
      ))}
    </SelectField>
  );
}

function DeploymentList({ orgId }: { orgId: string }) {
  const [model, setModel] = useState("");
  const [environment, setEnvironment] = useState<Environment | "">("");
  const [phase, setPhase] = useState<Phase | "">("");
  const [page, setPage] = useState(1);
  const modelName = useDeferredValue(model.trim());
  const filters = {
    ...(modelName ? { model: modelName } : {}),
    ...(environment ? { environment } : {}),
    ...(phase ? { phase } : {}),
  };
  const deployments = useDeployments(orgId, filters, page);
  const rows = deployments.data?.data ?? [];
  const pages = deployments.data?.meta.pages ?? 0;
  const filtered = Object.keys(filters).length > 0;

  return (
    <>
      <form role="search" aria-label="Filter deployments" className="mb-4 flex flex-wrap items-end gap-3" onSubmit={(event) => event.preventDefault()}>
        <TextField
          label="Model"
          type="search"
          value={model}
          onChange={(event) => {
            setModel(event.target.value);
            setPage(1);
          }}
          placeholder="Exact model name"
          className="w-56"
        />
        <AnySelect
          label="Environment"
          value={environment}
          options={ENVIRONMENTS}
          onChange={(value) => {
            setEnvironment(value);
            setPage(1);
          }}
        />
        <AnySelect
          label="Phase"
          value={phase}
          options={PHASES}
          onChange={(value) => {
            setPhase(value);
            setPage(1);
          }}
        />
      </form>
      {deployments.isLoading ? (
        <Skeleton label="Loading deployments" />
      ) : deployments.error ? (
        <ErrorState error={deployments.error} onRetry={() => void deployments.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title={filtered ? "No deployment matches these filters" : "No deployments yet"}>
          {filtered ? null : (
            <>
              Open a Ready version from{" "}
              <Link className="font-medium text-indigo-700 underline" href="/models/">
                Models
              </Link>{" "}
              and press Deploy.
            </>
          )}
        </EmptyState>
      ) : (
        <DataTable
          caption="Deployments"
          busy={deployments.isFetching}
          columns={["Name", "Model", "Environment", "Phase", "Serving", "Candidate", "Created"]}
        >
          {rows.map((deployment) => (
            <tr key={deployment.name}>
              <td className="px-4 py-2">
                <Link className="font-medium text-indigo-700 underline" href={deploymentHref(deployment.name)}>
                  {deployment.name}
                </Link>
              </td>
              <td className="px-4 py-2">{deployment.model ?? "unknown"}</td>
              <td className="px-4 py-2">
                <EnvironmentBadge environment={deployment.environment} />
              </td>
              <td className="px-4 py-2">
                <PhaseBadge phase={deployment.phase} />
                {deployment.reason ? <span className="block text-xs text-slate-500">{deployment.reason}</span> : null}
              </td>
              <td className="px-4 py-2">
                <code>{deployment.serving_version ?? deployment.stable_version}</code>
              </td>
              <td className="px-4 py-2">{deployment.candidate_version ? <code>{deployment.candidate_version}</code> : "none"}</td>
              <td className="px-4 py-2 text-slate-600">{deployment.created_at ? formatDate(deployment.created_at) : ""}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <Paging page={page} pages={pages} onPage={setPage} label="Deployment pages" />
    </>
  );
}

export default function DeploymentsPage() {
  return <OrgPage title="Deployments" what="deployments">{(org) => <DeploymentList key={org.id} orgId={org.id} />}</OrgPage>;
}
