"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";

import { Facts, Section } from "@/components/details";
import { ConfirmAction, Feedback, useEditing } from "@/components/forms";
import { LineChart, type XAxis } from "@/components/line-chart";
import { MonitorFields } from "@/components/monitor-fields";
import { CandidateVsStable, LiveQuality } from "@/components/monitor-quality";
import { ModelPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, PageHeader, Skeleton, StateBadge, formatDate } from "@/components/ui";
import { explainInvalid, explainRefusal } from "@/lib/api/client";
import { InvalidSections, sectionProblems, sectionsDraftOf } from "@/lib/monitor-sections";
import { timeTicks } from "@/lib/chart";
import { deploymentHref } from "@/lib/deployments";
import {
  candidateOf,
  changedSinceRead,
  conditionsOf,
  decidesOnPValue,
  describeCondition,
  draftFromSpec,
  evaluationOf,
  formatNumber,
  formatShare,
  qualityAskedOf,
  qualityOf,
  referenceText,
  shareOverTime,
  sinksText,
  specFromEdit,
  useDeploymentNames,
  useMonitor,
  useMonitorMutations,
  type Evaluation,
  type FeatureResult,
  type Monitor,
} from "@/lib/monitors";
import { can, type Role } from "@/lib/queries";

/** Conditions that call for a person while True: said in red (and in words). */
const ALARMING: ReadonlySet<string> = new Set(["DriftDetected", "QualityDegraded", "RolloutsPaused", "Stalled"]);

const CHOOSE_A_MONITOR = { href: "/monitors/", label: "Choose a drift monitor", what: "drift monitors" };

const dayAndTime = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
const TIME_AXIS: XAxis = {
  label: "window end (UTC)",
  ticks: (min, max) => timeTicks(min, max, 5),
  format: (t) => dayAndTime.format(new Date(t * 1000)),
};

function ResultsTable({ caption, results }: { caption: string; results: FeatureResult[] }) {
  return (
    <DataTable caption={caption} columns={["Feature", "Test", "Statistic", "p-value", "Threshold", "Drifted", "Samples"]}>
      {results.map((r) => (
        <tr key={r.feature} className={r.drifted ? "bg-red-50" : undefined}>
          <td className="px-4 py-2 font-medium">{r.feature}</td>
          <td className="px-4 py-2">{r.test}</td>
          <td className="px-4 py-2">{formatNumber(r.statistic)}</td>
          <td className="px-4 py-2">{decidesOnPValue(r) ? formatNumber(r.pValue) : "–"}</td>
          <td className="px-4 py-2">
            {decidesOnPValue(r) ? `p < ${formatNumber(r.threshold)}` : `statistic ≥ ${formatNumber(r.threshold)}`}
          </td>
          <td className={`px-4 py-2 ${r.drifted ? "font-medium text-red-800" : ""}`}>{r.drifted ? "yes" : "no"}</td>
          <td className="px-4 py-2">{r.samples}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function LastEvaluation({ evaluation }: { evaluation: Evaluation | null }) {
  if (!evaluation)
    return <EmptyState title="Not evaluated yet">The operator writes the results here after the first scheduled run.</EmptyState>;
  const features = evaluation.features ?? [];
  const predictions = evaluation.predictionDrift ?? [];
  const dataset = evaluation.dataset;
  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-700">
        Window {formatDate(evaluation.windowStart)} – {formatDate(evaluation.windowEnd)}, {evaluation.samples} samples.{" "}
        {evaluation.insufficientData
          ? "Too few samples to decide: no feature was tested."
          : dataset
            ? `${formatShare(dataset.share)} of the features drifted (the dataset counts as drifted from ${formatShare(dataset.threshold)}): ${
                dataset.drifted ? "the dataset drifted." : "the dataset did not drift."
              }`
            : ""}
      </p>
      {features.length ? <ResultsTable caption="Input features" results={features} /> : null}
      <h3 className="font-medium">Prediction drift</h3>
      {predictions.length ? (
        <ResultsTable caption="Model outputs" results={predictions} />
      ) : (
        <p className="text-sm text-slate-600">No model output was tested in this window.</p>
      )}
    </div>
  );
}

function RecentEvaluations({ monitor }: { monitor: Monitor }) {
  const recent = monitor.recent_evaluations;
  if (recent.length === 0) return <EmptyState title="No evaluations yet">Each scheduled run adds one line here (the last 10 are kept).</EmptyState>;
  const points = shareOverTime(recent);
  return (
    <div className="space-y-4">
      {points.length > 1 ? (
        <LineChart title="Share of drifted features (stable)" yLabel="share of drifted features (%)" xAxis={TIME_AXIS} series={[{ id: "share", label: "drifted features (%)", points }]} />
      ) : null}
      <DataTable caption="Recent evaluations, newest first" columns={["Window end", "Model version", "Role", "Samples", "Drifted share", "Drifted"]}>
        {recent.map((e) => (
          <tr key={`${e.role}-${e.window_end}`}>
            <td className="px-4 py-2">{formatDate(e.window_end)}</td>
            <td className="px-4 py-2">
              <code>{e.model_version}</code>
            </td>
            <td className="px-4 py-2">{e.role}</td>
            <td className="px-4 py-2">{e.samples}</td>
            <td className="px-4 py-2">{formatShare(e.share)}</td>
            <td className={`px-4 py-2 ${e.drifted ? "font-medium text-red-800" : ""}`}>
              {e.insufficient_data ? "too few samples" : e.drifted ? "yes" : "no"}
            </td>
          </tr>
        ))}
      </DataTable>
    </div>
  );
}

function Sinks({ monitor }: { monitor: Monitor }) {
  const sinks = sinksText(monitor.spec);
  return sinks.length ? (
    <ul aria-label="Alert sinks" className="mb-3 list-disc pl-5 text-sm">
      {sinks.map((sink) => (
        <li key={sink}>{sink}</li>
      ))}
    </ul>
  ) : (
    <p className="mb-3 text-sm text-slate-600">No alert sinks: drift and live quality are reported on this page only.</p>
  );
}

function Alerts({ monitor }: { monitor: Monitor }) {
  if (monitor.alerts.length === 0)
    return <EmptyState title="No alerts sent">Alerts go to the monitor&apos;s sinks when drift or degraded quality starts or ends.</EmptyState>;
  return (
    <DataTable caption="Alert deliveries, one per sink and alert" columns={["Sink", "Alert", "Outcome", "Reason", "Attempts", "At"]}>
      {monitor.alerts.map((a) => (
        <tr key={`${a.alert}-${a.sink}`} className={a.outcome === "Failed" ? "bg-red-50" : undefined}>
          <td className="px-4 py-2">
            #{a.sink} {a.type}
          </td>
          <td className="px-4 py-2">
            {a.alert} {a.state}
          </td>
          <td className={`px-4 py-2 ${a.outcome === "Failed" ? "font-medium text-red-800" : ""}`}>{a.outcome === "Failed" ? "failed" : "delivered"}</td>
          <td className="px-4 py-2">
            {a.reason}
            {a.message ? <span className="text-slate-600">: {a.message}</span> : null}
          </td>
          <td className="px-4 py-2">{a.attempts}</td>
          <td className="px-4 py-2 text-slate-600">{formatDate(a.time)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function Delete({ orgId, name }: { orgId: string; name: string }) {
  const router = useRouter();
  const { remove } = useMonitorMutations(orgId);
  return (
    <ConfirmAction
      label="Delete monitor"
      confirmLabel={`Delete ${name}`}
      busy={remove.isPending}
      error={remove.error}
      explain={explainRefusal}
      onConfirm={(close) => remove.mutate(name, { onSuccess: () => router.push("/monitors/"), onSettled: close })}
    />
  );
}

/** What the edit form starts from: the spec it shows, the generation it was read at (sent back
 * with the edit) and a key that remounts the fields when it starts again from a fresh read. */
function startFrom(monitor: Monitor, key: number) {
  const { spec } = monitor;
  return { spec, generation: monitor.generation ?? null, draft: draftFromSpec(spec), sections: sectionsDraftOf(spec), key };
}

/** The facade's 409: someone changed the spec since the form read it. Nothing was saved. */
function ChangedSinceRead({ onReload, busy }: { onReload: () => void; busy: boolean }) {
  return (
    <div role="alert" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
      <p>
        This monitor was changed by someone else while you were editing it, so your changes were not saved. Reload it to see their
        version, then make your changes again.
      </p>
      <Button variant="secondary" className="mt-2" busy={busy} onClick={onReload}>
        Reload the monitor
      </Button>
    </div>
  );
}

/** The monitor's fields, started from its spec; saving replaces the spec (what the form does not
 * show is kept, see `specFromEdit`) unless someone changed it since it was read. */
function EditForm({ orgId, monitor, onSaved, onCancel }: { orgId: string; monitor: Monitor; onSaved: () => void; onCancel: () => void }) {
  const deployments = useDeploymentNames(orgId, true);
  const latest = useMonitor(orgId, monitor.name);
  const { update } = useMonitorMutations(orgId);
  // Read once: the page refreshes the monitor every minute, and the fields must not move under the user.
  const [start, setStart] = useState(() => startFrom(monitor, 0));
  const [invalid, setInvalid] = useState<InvalidSections | null>(null);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const spec = specFromEdit(start.spec, new FormData(event.currentTarget));
    const problems = sectionProblems(spec);
    setInvalid(problems.length ? new InvalidSections(problems) : null);
    if (problems.length === 0) update.mutate({ name: monitor.name, spec, generation: start.generation }, { onSuccess: onSaved });
  }
  async function reload() {
    const fresh = await latest.refetch();
    if (!fresh.data) return;
    setStart(startFrom(fresh.data, start.key + 1));
    update.reset();
  }
  if (deployments.isLoading) return <Skeleton label="Loading deployments" rows={1} />;
  return (
    <form onSubmit={submit} aria-label={`Edit drift monitor ${monitor.name}`} className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <MonitorFields key={start.key} draft={start.draft} sections={start.sections} deployments={deployments.data ?? []} namespace={monitor.namespace} />
      <p className="mt-3 text-xs text-slate-500">
        What this form does not show (actions, the correction, suspend) and what you leave as it is stay as they are. The results so far stay
        too.
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-3">
        <Button type="submit" busy={update.isPending}>
          Save monitor
        </Button>
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
        {changedSinceRead(update.error) ? null : <Feedback error={invalid ?? update.error ?? deployments.error} explain={explainInvalid} />}
      </div>
      {changedSinceRead(update.error) ? (
        <div className="mt-3">
          <ChangedSinceRead onReload={() => void reload()} busy={latest.isFetching} />
        </div>
      ) : null}
    </form>
  );
}

/** Edit and delete, for the roles that may write monitors. */
function Actions({ orgId, monitor, role }: { orgId: string; monitor: Monitor; role: Role }) {
  const { editing, saved, start, done, cancel } = useEditing();
  if (!can.write(role)) return <p className="text-sm text-slate-600">Viewers can read drift monitors; developers and admins edit and delete them.</p>;
  if (editing)
    return <EditForm orgId={orgId} monitor={monitor} onSaved={() => done("Saved: the operator applies the new spec; the results so far stay.")} onCancel={cancel} />;
  return (
    <div className="flex flex-wrap items-start justify-between gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <Button variant="secondary" onClick={start}>
          Edit monitor
        </Button>
        <Feedback message={saved} />
      </div>
      <Delete orgId={orgId} name={monitor.name} />
    </div>
  );
}

function Detail({ orgId, monitor, role }: { orgId: string; monitor: Monitor; role: Role }) {
  const conditions = conditionsOf(monitor);
  const candidate = candidateOf(monitor);
  const asked = qualityAskedOf(monitor);
  return (
    <>
      <Facts
        rows={[
          [
            "State",
            <>
              <StateBadge state={monitor.state} /> <span className="font-medium">{monitor.reason ?? ""}</span>
              {monitor.message ? <span className="text-slate-600">: {monitor.message}</span> : null}
            </>,
          ],
          ["Deployment", monitor.deployment],
          ["Schedule", <code key="s">{String(monitor.spec.schedule ?? "")}</code>],
          ["Reference data", referenceText(monitor.spec)],
          ["Evaluated version", monitor.evaluated_version ? <code key="v">{monitor.evaluated_version}</code> : "none yet"],
          ["Last run started", monitor.last_schedule_time ? formatDate(monitor.last_schedule_time) : "not yet"],
        ]}
      />

      {monitor.last_failure ? (
        <Section title="Last failure">
          <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-900">
            <p>
              <span className="font-medium">{monitor.last_failure.reason}</span> at {formatDate(monitor.last_failure.time)}: the run could
              not evaluate.
            </p>
            <p className="mt-1">{monitor.last_failure.message}</p>
          </div>
        </Section>
      ) : null}

      <Section title="Conditions">
        {conditions.length ? (
          <ul className="list-disc space-y-1 pl-5 text-sm">
            {conditions.map((c) => (
              <li key={c.type} className={c.status === "True" && ALARMING.has(c.type) ? "font-medium text-red-800" : undefined}>
                {describeCondition(c)}
                {c.type === "RolloutsPaused" && c.status === "True" ? (
                  <>
                    {" "}
                    <Link className="text-indigo-700 underline" href={deploymentHref(monitor.deployment)}>
                      Open {monitor.deployment} to resume or roll back
                    </Link>
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        ) : (
          <EmptyState title="No conditions reported yet">The operator reports them once it has reconciled the monitor.</EmptyState>
        )}
      </Section>

      <Section title="Last evaluation">
        <LastEvaluation evaluation={evaluationOf(monitor)} />
      </Section>

      <Section title="Live quality">
        <LiveQuality quality={qualityOf(monitor)} asked={asked} />
      </Section>

      {candidate ? (
        <Section title="Candidate vs stable">
          <CandidateVsStable
            candidate={candidate}
            stableEvaluation={evaluationOf(monitor)}
            stableQuality={qualityOf(monitor)}
            stableVersion={monitor.evaluated_version ?? qualityOf(monitor)?.modelVersion ?? "stable"}
            asksQuality={asked !== null}
          />
        </Section>
      ) : null}

      <Section title="Recent evaluations">
        <RecentEvaluations monitor={monitor} />
      </Section>

      <Section title="Alerts">
        <Sinks monitor={monitor} />
        <Alerts monitor={monitor} />
      </Section>

      <Section title="Actions">
        <Actions orgId={orgId} monitor={monitor} role={role} />
      </Section>
    </>
  );
}

function MonitorView({ orgId, name, role }: { orgId: string; name: string; role: Role }) {
  const monitor = useMonitor(orgId, name);
  return (
    <>
      <PageHeader title={`Drift monitor ${name}`} />
      {monitor.isLoading ? (
        <Skeleton label="Loading the monitor" />
      ) : monitor.error ? (
        <ErrorState error={monitor.error} onRetry={() => void monitor.refetch()} />
      ) : monitor.data ? (
        <Detail orgId={orgId} monitor={monitor.data} role={role} />
      ) : null}
    </>
  );
}

export default function MonitorPage() {
  return (
    <ModelPage names={["name"]} missing="No drift monitor chosen" choose={CHOOSE_A_MONITOR}>
      {([name], org) => <MonitorView key={`${org.id}/${name}`} orgId={org.id} name={name ?? ""} role={org.role} />}
    </ModelPage>
  );
}
