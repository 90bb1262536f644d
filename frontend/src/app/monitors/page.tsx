"use client";

import Link from "next/link";
import { useState } from "react";

import { Feedback, useFormSubmit } from "@/components/forms";
import { MonitorFields } from "@/components/monitor-fields";
import { checkSections } from "@/lib/monitor-sections";
import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, Skeleton, StateBadge, TextField, formatDate } from "@/components/ui";
import { explainInvalid } from "@/lib/api/client";
import {
  NEW_MONITOR,
  evaluationOf,
  formatShare,
  monitorFromForm,
  monitorHref,
  qualityOf,
  qualityVerdict,
  useDeploymentNames,
  useMonitorMutations,
  useMonitors,
  type Monitor,
} from "@/lib/monitors";
import { can, type Organization } from "@/lib/queries";

const NAME_PATTERN = "[a-z0-9]([\\-a-z0-9]*[a-z0-9])?";

function CreateMonitor({ org }: { org: Organization }) {
  const deployments = useDeploymentNames(org.id, true);
  const { create } = useMonitorMutations(org.id);
  // Bumped after a create, so that the reference choice and the sinks start afresh too.
  const [created, setCreated] = useState(0);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const body = monitorFromForm(form);
    checkSections(body.spec);
    const monitor = await create.mutateAsync(body);
    setCreated((n) => n + 1);
    return `Created ${monitor.name}: it watches ${monitor.deployment}.`;
  });
  const names = deployments.data ?? [];
  if (deployments.isLoading) return <Skeleton label="Loading deployments" rows={1} />;
  if (deployments.error) return <ErrorState error={deployments.error} onRetry={() => void deployments.refetch()} />;
  if (names.length === 0)
    return (
      <p className="mb-6 text-sm text-slate-600">
        A monitor watches a deployment&apos;s logged traffic:{" "}
        <Link className="font-medium text-indigo-700 underline" href="/deployments/">
          deploy a model
        </Link>{" "}
        first.
      </p>
    );
  return (
    <form onSubmit={onSubmit} aria-label="Create a drift monitor" className="mb-6 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <MonitorFields key={created} draft={NEW_MONITOR} deployments={names} namespace={`mp-${org.slug}`}>
        <TextField label="Monitor name" name="name" required maxLength={63} pattern={NAME_PATTERN} hint="Lowercase letters, digits and dashes." className="w-56" />
      </MonitorFields>
      <div className="mt-3 flex flex-wrap items-center gap-3">
        <Button type="submit" busy={create.isPending}>
          Create monitor
        </Button>
        <Feedback message={message} error={error} explain={explainInvalid} />
      </div>
    </form>
  );
}

function LastResult({ monitor }: { monitor: Monitor }) {
  const evaluation = evaluationOf(monitor);
  if (!evaluation) return <td colSpan={3} className="px-4 py-2 text-slate-600">not evaluated yet</td>;
  const drifted = evaluation.insufficientData ? "too few samples" : evaluation.dataset?.drifted ? "yes" : "no";
  return (
    <>
      <td className="px-4 py-2">{formatShare(evaluation.dataset?.share)}</td>
      <td className={`px-4 py-2 ${evaluation.dataset?.drifted ? "font-medium text-red-700" : ""}`}>{drifted}</td>
      <td className="px-4 py-2 text-slate-600">
        {formatDate(evaluation.windowStart)} – {formatDate(evaluation.windowEnd)}
      </td>
    </>
  );
}

const VERDICT_LOOK: Record<string, string> = {
  degraded: "font-medium text-red-700",
  "too few labels": "text-amber-800",
  "within thresholds": "text-emerald-800",
};

function LiveQuality({ monitor }: { monitor: Monitor }) {
  const verdict = qualityVerdict(qualityOf(monitor));
  return <td className={`px-4 py-2 ${verdict ? VERDICT_LOOK[verdict] : "text-slate-600"}`}>{verdict ?? "–"}</td>;
}

function MonitorList({ org }: { org: Organization }) {
  const monitors = useMonitors(org.id);
  const rows = monitors.data ?? [];
  return (
    <>
      {can.write(org.role) ? (
        <CreateMonitor org={org} />
      ) : (
        <p className="mb-6 text-sm text-slate-600">Viewers can read drift monitors; developers and admins create and delete them.</p>
      )}
      {monitors.isLoading ? (
        <Skeleton label="Loading monitors" />
      ) : monitors.error ? (
        <ErrorState error={monitors.error} onRetry={() => void monitors.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No drift monitors yet">A monitor compares a deployment&apos;s logged inputs with its reference data on a schedule.</EmptyState>
      ) : (
        <DataTable caption="Drift monitors" columns={["Name", "State", "Deployment", "Drifted share", "Drifted", "Last window", "Live quality"]}>
          {rows.map((monitor) => (
            <tr key={monitor.name}>
              <td className="px-4 py-2 font-medium">
                <Link className="text-indigo-700 underline" href={monitorHref(monitor.name)}>
                  {monitor.name}
                </Link>
              </td>
              <td className="px-4 py-2">
                <StateBadge state={monitor.state} /> {monitor.reason ? <span className="text-slate-700">{monitor.reason}</span> : null}
              </td>
              <td className="px-4 py-2">{monitor.deployment}</td>
              <LastResult monitor={monitor} />
              <LiveQuality monitor={monitor} />
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

export default function MonitorsPage() {
  return (
    <OrgPage title="Drift monitors" what="drift monitors">
      {(org) => <MonitorList key={org.id} org={org} />}
    </OrgPage>
  );
}
