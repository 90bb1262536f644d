"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import type { UseQueryResult } from "@tanstack/react-query";
import { useId, useState, type ReactNode, type SelectHTMLAttributes } from "react";

import { explainRefusal } from "@/lib/api/client";
import { deploymentHref, PRESETS, rolloutRunning } from "@/lib/deployments";
import { can, useDeploymentActions, type Deployment, type Preset, type Role, type Version } from "@/lib/queries";

import { ConfirmAction, Feedback, useFormSubmit } from "./forms";
import { Button, ErrorState, SelectField, Skeleton, TextField } from "./ui";

type Actions = ReturnType<typeof useDeploymentActions>;

const PRESET_NAMES = Object.keys(PRESETS) as Preset[];

function PresetField({ label, ...rest }: { label: string } & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <SelectField label={label} {...rest} className="w-96 max-w-full">
      {PRESET_NAMES.map((preset) => (
        <option key={preset} value={preset}>
          {PRESETS[preset]}
        </option>
      ))}
    </SelectField>
  );
}

/** Roll out another Ready version of the model as the candidate, with a preset strategy. */
function StartRollout({
  actions,
  deployment,
  versions,
  onStarted,
}: {
  actions: Actions;
  deployment: Deployment;
  versions: Version[];
  /** Told which candidate started: the form gives way to that rollout's controls, which say so. */
  onStarted: (candidate: string | null) => void;
}) {
  const serving = deployment.serving_version ?? deployment.stable_version;
  const candidates = versions.filter((v) => v.state === "ready" && v.resource_name !== serving);
  const { error, onSubmit } = useFormSubmit(async (form) => {
    const started = await actions.start.mutateAsync({
      version_id: String(form.get("version_id") ?? ""),
      preset: String(form.get("preset")) as Preset,
      on_failure: String(form.get("on_failure")) as "rollback" | "pause",
      promotion: String(form.get("promotion")) as "auto" | "manual",
    });
    onStarted(started.candidate_version);
    return `Rollout of ${started.candidate_version ?? "the candidate"} started.`;
  });
  return (
    <form onSubmit={onSubmit} aria-label="Start a rollout" className="flex flex-wrap items-end gap-3">
      <SelectField label="Candidate version" name="version_id" required disabled={candidates.length === 0} className="w-56">
        {candidates.length === 0 ? <option value="">No other Ready version</option> : null}
        {candidates.map((version) => (
          <option key={version.id} value={version.id}>
            v{version.version} ({version.resource_name})
          </option>
        ))}
      </SelectField>
      <PresetField label="Strategy" name="preset" defaultValue="canary" />
      <SelectField label="On failed analysis" name="on_failure" defaultValue="rollback" className="w-44">
        <option value="rollback">roll back</option>
        <option value="pause">pause</option>
      </SelectField>
      <SelectField label="Promotion" name="promotion" defaultValue="auto" className="w-44">
        <option value="auto">automatic</option>
        <option value="manual">manual</option>
      </SelectField>
      <Button type="submit" busy={actions.start.isPending} disabled={candidates.length === 0}>
        Start rollout
      </Button>
      <Feedback error={error} explain={explainRefusal} className="w-full" />
    </form>
  );
}

/** Promote, pause, resume or roll back the running rollout, with an optional reason that goes
 * into its history and the audit log. */
function RolloutControls({ actions }: { actions: Actions }) {
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const { promote, pause, resume, rollback } = actions;
  const pending = [promote, pause, resume, rollback].find((m) => m.isPending);
  const failed = [promote, pause, resume, rollback].find((m) => m.error);
  function run(mutation: Actions["promote"], said: string, done?: () => void) {
    setMessage(null);
    for (const other of [promote, pause, resume, rollback]) other.reset();
    mutation.mutate(reason, {
      onSuccess: () => setMessage(said),
      onSettled: () => done?.(),
    });
  }
  return (
    <div className="space-y-3">
      <TextField label="Reason (optional)" value={reason} onChange={(event) => setReason(event.target.value)} maxLength={1024} className="max-w-lg" />
      <div className="flex flex-wrap items-start gap-2">
        <ConfirmAction
          label="Promote"
          confirmLabel="Promote to the next step"
          busy={promote.isPending}
          error={null}
          onConfirm={(done) => run(promote, "Promoted: the rollout moves past the step it held at.", done)}
        />
        <Button variant="secondary" busy={pause.isPending} onClick={() => run(pause, "Paused: the traffic split stays as it is.")}>
          Pause
        </Button>
        <Button variant="secondary" busy={resume.isPending} onClick={() => run(resume, "Resumed.")}>
          Resume
        </Button>
        <ConfirmAction
          label="Roll back"
          confirmLabel="Roll back: all traffic to the serving version"
          busy={rollback.isPending}
          error={null}
          onConfirm={(done) => run(rollback, "Rolled back: all traffic goes to the serving version.", done)}
        />
      </div>
      {pending ? null : <Feedback message={message} error={failed?.error} explain={explainRefusal} />}
    </div>
  );
}

/** Copy this staging deployment's serving version into the model's production deployment. */
function PromoteToProduction({ actions, role }: { actions: Actions; role: Role }) {
  const allowed = can.production(role);
  const why = useId();
  const [preset, setPreset] = useState<Preset>("canary");
  const [done, setDone] = useState<{ text: string; name: string } | null>(null);
  const toProduction = actions.toProduction;
  return (
    <div className="space-y-3">
      <p id={why} className="text-sm text-slate-600">
        {allowed
          ? "Creates the model's production deployment with this version, or rolls it out there when one exists."
          : "Only the organization's admins can promote to production."}
      </p>
      {allowed ? (
        <PresetField label="Strategy in production" value={preset} onChange={(event) => setPreset(event.target.value as Preset)} />
      ) : null}
      {allowed ? (
        <ConfirmAction
          label="Promote to production"
          confirmLabel="Copy to production"
          busy={toProduction.isPending}
          error={toProduction.error}
          explain={explainRefusal}
          onConfirm={(close) =>
            toProduction.mutate(
              { preset, reason: "" },
              {
                onSuccess: (result) =>
                  setDone({
                    name: result.deployment.name,
                    text:
                      result.action === "created"
                        ? `Created ${result.deployment.name} serving ${result.version}.`
                        : `Started a rollout of ${result.version} in ${result.deployment.name}.`,
                  }),
                onSettled: close,
              },
            )
          }
        />
      ) : (
        <Button variant="secondary" disabled aria-describedby={why}>
          Promote to production
        </Button>
      )}
      {done ? (
        <p role="status" className="text-sm text-emerald-700">
          {done.text}{" "}
          <Link className="font-medium text-indigo-700 underline" href={deploymentHref(done.name)}>
            Open {done.name}
          </Link>
        </p>
      ) : null}
    </div>
  );
}

function DeleteDeployment({ actions, name }: { actions: Actions; name: string }) {
  const router = useRouter();
  return (
    <ConfirmAction
      label="Delete deployment"
      confirmLabel={`Delete ${name}`}
      busy={actions.remove.isPending}
      error={actions.remove.error}
      explain={explainRefusal}
      onConfirm={(close) => actions.remove.mutate(undefined, { onSuccess: () => router.push("/deployments/"), onSettled: close })}
    />
  );
}

function Group({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <h3 className="mb-3 font-medium">{title}</h3>
      {children}
    </div>
  );
}

/** Everything a person can do to a deployment, as far as their role allows (the facade decides;
 * its refusal is shown in its own words). */
export function RolloutActions({
  orgId,
  deployment,
  role,
  versions,
}: {
  orgId: string;
  deployment: Deployment;
  role: Role;
  /** The model's versions, the candidates of a new rollout. */
  versions: UseQueryResult<Version[]>;
}) {
  const actions = useDeploymentActions(orgId, deployment.name);
  /** The candidate this page started, confirmed while its rollout runs. */
  const [started, setStarted] = useState<string | null>(null);
  const running = rolloutRunning(deployment) ? deployment.candidate_version : null;
  if (!can.deploy(role, deployment.environment)) {
    return (
      <p className="text-sm text-slate-600">
        {role === "viewer"
          ? "Viewers can watch deployments but not change them."
          : "Only the organization's admins can change a production deployment."}
      </p>
    );
  }
  return (
    <div className="space-y-4">
      {running ? (
        <Group title={`Rollout of ${running}`}>
          {started === running ? (
            <p role="status" className="mb-3 text-sm text-emerald-700">
              Rollout of {running} started.
            </p>
          ) : null}
          <RolloutControls actions={actions} />
        </Group>
      ) : (
        <Group title="Start a rollout">
          {versions.isLoading ? (
            <Skeleton label="Loading the model's versions" rows={1} />
          ) : versions.error ? (
            <ErrorState error={versions.error} onRetry={() => void versions.refetch()} />
          ) : (
            <StartRollout actions={actions} deployment={deployment} versions={versions.data ?? []} onStarted={setStarted} />
          )}
        </Group>
      )}
      {deployment.environment === "staging" ? (
        <Group title="Production">
          <PromoteToProduction actions={actions} role={role} />
        </Group>
      ) : null}
      <Group title="Delete">
        <DeleteDeployment actions={actions} name={deployment.name} />
      </Group>
    </div>
  );
}
