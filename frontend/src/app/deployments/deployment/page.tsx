"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";

import { DeploymentMonitoring } from "@/components/deployment-monitoring";
import { DeploymentSettings } from "@/components/deployment-settings";
import { ConditionsTable, EventsTable, Facts, Section } from "@/components/details";
import { InferencePanel } from "@/components/inference-panel";
import { ModelPage } from "@/components/org-gate";
import { PayloadLogs } from "@/components/payload-logs";
import { RolloutActions } from "@/components/rollout-actions";
import { Tabs } from "@/components/tabs";
import { TrafficBar } from "@/components/traffic-bar";
import { DataTable, EmptyState, EnvironmentBadge, ErrorState, PageHeader, PhaseBadge, Skeleton, formatDate } from "@/components/ui";
import {
  analysis,
  describeStep,
  formatMeasure,
  latestMeasurements,
  rollback,
  rolloutRunning,
  ROLLOUT_POLL_MS,
  traffic,
} from "@/lib/deployments";
import { parseRange, type Range } from "@/lib/monitoring";
import {
  useDeployment,
  useDeploymentEvents,
  useRollouts,
  useVersionsOfModelNamed,
  type Deployment,
  type Role,
} from "@/lib/queries";
import { exampleRequest } from "@/lib/signature";

const CHOOSE_A_DEPLOYMENT = { href: "/deployments/", label: "Choose a deployment", what: "deployments" };

function Analysis({ deployment }: { deployment: Deployment }) {
  const state = analysis(deployment);
  if (!state || state.measurements.length === 0)
    return <EmptyState title="No analysis measurements yet">The operator measures the candidate at every analysis interval of a rollout.</EmptyState>;
  return (
    <>
      <p className="mb-3 text-sm text-slate-700">
        {state.passedIntervals} passing interval{state.passedIntervals === 1 ? "" : "s"} at this step, {state.failedIntervals} failed in this rollout
        {state.lastRunAt ? `; last run ${formatDate(state.lastRunAt)}` : ""}.
      </p>
      <DataTable caption="Latest measurement of each check" columns={["Check", "Value", "Threshold", "Result", "Samples", "At"]}>
        {latestMeasurements(state).map((m) => (
          <tr key={m.check}>
            <td className="px-4 py-2 font-medium">{m.check}</td>
            <td className="px-4 py-2">{formatMeasure(m.check, m.value)}</td>
            <td className="px-4 py-2">{formatMeasure(m.check, m.threshold)}</td>
            <td className="px-4 py-2">{m.passed === null ? "inconclusive (too few samples)" : m.passed ? "passed" : "failed"}</td>
            <td className="px-4 py-2">{m.samples}</td>
            <td className="px-4 py-2 text-slate-600">{m.at ? formatDate(m.at) : ""}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

function RollbackNotice({ deployment }: { deployment: Deployment }) {
  const record = rollback(deployment);
  if (!record) return null;
  return (
    <Section title="Last rollback">
      <div className="rounded-lg border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900">
        <p>
          <span className="font-medium">{record.reason}</span>: <code>{record.rejectedVersion}</code> was rejected
          {record.at ? ` at ${formatDate(record.at)}` : ""}.
        </p>
        {record.message ? <p className="mt-1">{record.message}</p> : null}
      </div>
    </Section>
  );
}

function RolloutHistory({ orgId, name, poll }: { orgId: string; name: string; poll: number | false }) {
  const rollouts = useRollouts(orgId, name, poll);
  if (rollouts.isLoading) return <Skeleton label="Loading the rollout history" />;
  if (rollouts.error) return <ErrorState error={rollouts.error} onRetry={() => void rollouts.refetch()} />;
  const rows = rollouts.data?.data ?? [];
  if (rows.length === 0) return <EmptyState title="No rollouts yet" />;
  return (
    <DataTable caption="Rollouts, newest first" columns={["Started", "By", "From", "To", "Outcome", "Why", "Ended"]}>
      {rows.map((rollout) => (
        <tr key={rollout.id}>
          <td className="whitespace-nowrap px-4 py-2 text-slate-600">{formatDate(rollout.started_at)}</td>
          <td className="px-4 py-2">{rollout.started_by ? <code className="text-xs">{rollout.started_by}</code> : "the cluster"}</td>
          <td className="px-4 py-2"><code>{rollout.from_version}</code></td>
          <td className="px-4 py-2"><code>{rollout.to_version}</code></td>
          <td className="px-4 py-2">{rollout.outcome.replace("_", " ")}</td>
          <td className="px-4 py-2 text-slate-700">{rollout.reason}</td>
          <td className="whitespace-nowrap px-4 py-2 text-slate-600">
            {rollout.ended_at ? formatDate(rollout.ended_at) : ""}
            {rollout.ended_by ? <code className="block text-xs">{rollout.ended_by}</code> : null}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function Events({ orgId, name, poll }: { orgId: string; name: string; poll: number | false }) {
  const events = useDeploymentEvents(orgId, name, poll);
  if (events.isLoading) return <Skeleton label="Loading events" />;
  if (events.error) return <ErrorState error={events.error} onRetry={() => void events.refetch()} />;
  return <EventsTable events={events.data ?? []} />;
}

function Detail({ orgId, deployment, role }: { orgId: string; deployment: Deployment; role: Role }) {
  const running = rolloutRunning(deployment);
  const poll = running ? ROLLOUT_POLL_MS : false;
  const versions = useVersionsOfModelNamed(orgId, deployment.model);
  const serving = deployment.serving_version ?? deployment.stable_version;
  const servingVersion = versions.data?.find((v) => v.resource_name === serving);
  const split = traffic(deployment);
  return (
    <>
      <Facts
        rows={[
          [
            "Phase",
            <>
              <PhaseBadge phase={deployment.phase} /> <span className="font-medium">{deployment.reason ?? ""}</span>
              {deployment.message ? <span className="text-slate-600">: {deployment.message}</span> : null}
            </>,
          ],
          ["Environment", <EnvironmentBadge key="e" environment={deployment.environment} />],
          ["Model", deployment.model ?? "unknown"],
          ["Stable version", <code key="s">{deployment.stable_version}</code>],
          ["Serving now", deployment.serving_version ? <code key="v">{deployment.serving_version}</code> : "not reported yet"],
          ["Candidate", deployment.candidate_version ? <code key="c">{deployment.candidate_version}</code> : "none"],
          ["Rollout", deployment.rollout_state ?? (deployment.candidate_version ? "not started by the operator yet" : "none")],
          ["Current step", describeStep(deployment) ?? "none"],
          ["URL", deployment.url ? <code key="u">{deployment.url}</code> : "not reported yet"],
          ["Created", deployment.created_at ? formatDate(deployment.created_at) : ""],
        ]}
      />
      {running ? <p className="mt-2 text-sm text-slate-600">A rollout is running: this page refreshes every {ROLLOUT_POLL_MS / 1000} s.</p> : null}

      <Section title="Traffic">
        {split ? (
          <TrafficBar split={split} stable={serving} candidate={deployment.candidate_version} />
        ) : (
          <EmptyState title="No traffic split reported yet">The operator reports it once the pods serve.</EmptyState>
        )}
      </Section>

      <Section title="Analysis">
        <Analysis deployment={deployment} />
      </Section>

      <RollbackNotice deployment={deployment} />

      <Section title="Actions">
        <RolloutActions orgId={orgId} deployment={deployment} role={role} versions={versions} />
      </Section>

      <Section title="Settings">
        <DeploymentSettings orgId={orgId} deployment={deployment} role={role} />
      </Section>

      <Section title="Payload logs">
        <PayloadLogs orgId={orgId} deployment={deployment} role={role} />
      </Section>

      <Section title="Try it">
        {versions.isLoading ? (
          <Skeleton label="Loading the model's signature" rows={1} />
        ) : (
          <InferencePanel orgId={orgId} name={deployment.name} example={exampleRequest(servingVersion?.signature ?? {})} />
        )}
      </Section>

      <Section title="Rollout history">
        <RolloutHistory orgId={orgId} name={deployment.name} poll={poll} />
      </Section>

      <Section title="Conditions">
        <ConditionsTable conditions={deployment.conditions} empty="The operator reports them once it has reconciled the deployment." />
      </Section>

      <Section title="Events">
        <Events orgId={orgId} name={deployment.name} poll={poll} />
      </Section>
    </>
  );
}

type Tab = "overview" | "monitoring";

const TABS: { id: Tab; label: string }[] = [
  { id: "overview", label: "Overview" },
  { id: "monitoring", label: "Monitoring" },
];

/** The tab and the monitoring range, kept in the URL (`tab`, `range`) so a view can be shared. */
function useView(name: string) {
  const params = useSearchParams();
  const router = useRouter();
  const [view, setView] = useState<{ tab: Tab; range: Range }>(() => ({
    tab: params.get("tab") === "monitoring" ? "monitoring" : "overview",
    range: parseRange(params.get("range")),
  }));
  function change(next: Partial<{ tab: Tab; range: Range }>) {
    const merged = { ...view, ...next };
    setView(merged);
    const query = new URLSearchParams({ name });
    if (merged.tab === "monitoring") query.set("tab", "monitoring");
    if (merged.tab === "monitoring" || params.get("range")) query.set("range", merged.range);
    router.replace(`/deployments/deployment/?${query.toString()}`, { scroll: false });
  }
  return { ...view, change };
}

function DeploymentView({ orgId, name, role }: { orgId: string; name: string; role: Role }) {
  const deployment = useDeployment(orgId, name, rolloutRunning, ROLLOUT_POLL_MS);
  const view = useView(name);
  if (deployment.isLoading) return <Skeleton label="Loading the deployment" />;
  if (deployment.error || !deployment.data) return <ErrorState error={deployment.error} onRetry={() => void deployment.refetch()} />;
  return (
    <>
      <PageHeader title={deployment.data.name}>
        <Link className="text-sm text-indigo-700 underline" href="/deployments/">
          All deployments
        </Link>
      </PageHeader>
      <Tabs label={`Views of ${deployment.data.name}`} tabs={TABS} selected={view.tab} onSelect={(tab) => view.change({ tab })}>
        {view.tab === "monitoring" ? (
          <DeploymentMonitoring orgId={orgId} name={deployment.data.name} range={view.range} onRangeChange={(range) => view.change({ range })} />
        ) : (
          <div className="mt-4">
            <Detail orgId={orgId} deployment={deployment.data} role={role} />
          </div>
        )}
      </Tabs>
    </>
  );
}

export default function DeploymentPage() {
  return (
    <ModelPage names={["name"]} missing="No deployment chosen" choose={CHOOSE_A_DEPLOYMENT}>
      {([name], org) => <DeploymentView orgId={org.id} name={name ?? ""} role={org.role} />}
    </ModelPage>
  );
}
