"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { ConditionsTable, EventsTable, Facts, Section } from "@/components/details";
import { ModelPage } from "@/components/org-gate";
import { Feedback, useFormSubmit } from "@/components/forms";
import { Button, DataTable, EmptyState, ErrorState, PageHeader, SelectField, Skeleton, StateBadge, TextField, formatBytes, formatDate } from "@/components/ui";
import { ApiError, explainRefusal } from "@/lib/api/client";
import { deploymentHref } from "@/lib/deployments";
import { can, ENVIRONMENTS, useCreateDeployment, useVersion, type Environment, type Role, type VersionDetail } from "@/lib/queries";
import { features, formatShape, tensors, type Tensor } from "@/lib/signature";

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

/** One click to serve this version: staging by default, optionally with a fixed number of pods;
 * then the new deployment's page. Where the model already has a deployment in that environment,
 * the version reaches it by a rollout from that deployment's page instead. */
function DeployVersion({ orgId, version, role }: { orgId: string; version: VersionDetail; role: Role }) {
  const router = useRouter();
  const create = useCreateDeployment(orgId);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const replicas = String(form.get("replicas") ?? "").trim();
    const deployment = await create.mutateAsync({
      version_id: version.id,
      environment: String(form.get("environment") ?? "staging") as Environment,
      ...(replicas ? { scaling: { replicas: Number(replicas) } } : {}),
    });
    router.push(deploymentHref(deployment.name));
    return `Deployed as ${deployment.name}.`;
  });
  if (!can.write(role)) return null;
  const ready = version.state === "ready";
  return (
    <section aria-labelledby="deploy" className="mb-6 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <h2 id="deploy" className="font-medium">
        Deploy this version
      </h2>
      <form onSubmit={onSubmit} className="mt-3 flex flex-wrap items-end gap-3">
        <SelectField label="Environment" name="environment" defaultValue="staging" className="w-40">
          {ENVIRONMENTS.map((environment) => (
            <option key={environment} value={environment} disabled={!can.deploy(role, environment)}>
              {environment}
              {can.deploy(role, environment) ? "" : " (admins only)"}
            </option>
          ))}
        </SelectField>
        <TextField label="Replicas (optional)" name="replicas" type="number" min={1} max={1000} placeholder="1" className="w-40" />
        <Button type="submit" busy={create.isPending} disabled={!ready} aria-describedby={ready ? undefined : "deploy-why"}>
          Deploy
        </Button>
      </form>
      {ready ? null : (
        <p id="deploy-why" className="mt-2 text-sm text-slate-600">
          Only a Ready version can be deployed; this one is {version.state}.
        </p>
      )}
      <Feedback message={message} error={error} explain={explainRefusal} className="mt-2" />
      {error instanceof ApiError && error.code === "already_exists" ? (
        <p className="mt-1 text-sm text-slate-700">
          To serve this version there, open that deployment from{" "}
          <Link className="font-medium text-indigo-700 underline" href="/deployments/">
            Deployments
          </Link>{" "}
          and start a rollout of it.
        </p>
      ) : null}
    </section>
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
        <ConditionsTable conditions={version.conditions} empty="The operator reports them once it has checked the artifact." />
      </Section>

      <Section title="Events">
        <EventsTable events={version.events} />
      </Section>
    </>
  );
}

function VersionView({ orgId, modelId, versionId, role }: { orgId: string; modelId: string; versionId: string; role: Role }) {
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
      <DeployVersion orgId={orgId} version={version.data} role={role} />
      <Detail version={version.data} />
    </>
  );
}

export default function VersionPage() {
  return (
    <ModelPage names={["model", "version"]} missing="No version chosen">
      {([modelId, versionId], org) => <VersionView orgId={org.id} modelId={modelId ?? ""} versionId={versionId ?? ""} role={org.role} />}
    </ModelPage>
  );
}
