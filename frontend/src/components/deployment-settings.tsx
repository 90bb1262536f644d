"use client";

import { useId, useState, type FormEvent, type ReactNode } from "react";

import { explainInvalid } from "@/lib/api/client";
import {
  describeSettings,
  draftFromSpec,
  settingsUpdate,
  type SettingsDraft,
  type SettingsErrors,
  type SettingsField,
} from "@/lib/deployment-settings";
import { can, useUpdateDeployment, type Deployment, type Role } from "@/lib/queries";

import { Facts } from "./details";
import { Feedback, useEditing } from "./forms";
import { Button, CheckboxField, EnvironmentBadge, SelectField, TextField } from "./ui";

function Group({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <fieldset className="rounded-md border border-slate-200 p-3">
      <legend className="px-1 text-sm font-medium text-slate-800">{legend}</legend>
      <div className="flex flex-wrap items-start gap-3">{children}</div>
    </fieldset>
  );
}

/** The form, started from the deployment's spec; `onSaved` is told what the facade applied. */
function SettingsForm({
  orgId,
  deployment,
  role,
  onSaved,
  onCancel,
}: {
  orgId: string;
  deployment: Deployment;
  role: Role;
  onSaved: (message: string) => void;
  onCancel: () => void;
}) {
  const update = useUpdateDeployment(orgId, deployment.name);
  const [initial] = useState(() => draftFromSpec(deployment.spec, deployment.environment));
  const [draft, setDraft] = useState(initial);
  const [errors, setErrors] = useState<SettingsErrors>({});
  const [nothing, setNothing] = useState(false);
  const productionWhy = useId();
  const admin = can.production(role);

  const set = <K extends keyof SettingsDraft>(key: K, value: SettingsDraft[K]) => {
    setDraft((current) => ({ ...current, [key]: value }));
    setNothing(false);
  };
  const text = (name: SettingsField, label: string, { wide = false, ...extra }: { hint: string; inputMode?: "numeric" | "decimal"; wide?: boolean }) => (
    <TextField
      label={label}
      name={name}
      value={draft[name] as string}
      onChange={(event) => set(name, event.target.value)}
      error={errors[name]}
      className={wide ? "w-96 max-w-full" : "w-56"}
      {...extra}
    />
  );

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    update.reset();
    const { errors: found, body } = settingsUpdate(initial, draft, admin);
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    if (Object.keys(body).length === 0) {
      setNothing(true);
      return;
    }
    update.mutate(body, { onSuccess: () => onSaved(`Saved: ${Object.keys(body).map((k) => k.replace("_", " ")).join(", ")}.`) });
  }

  return (
    <form onSubmit={submit} aria-label="Deployment settings" noValidate className="space-y-4 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <Group legend="Environment">
        <SelectField
          label="Environment"
          name="environment"
          value={draft.environment}
          onChange={(event) => set("environment", event.target.value as SettingsDraft["environment"])}
          aria-describedby={admin ? undefined : productionWhy}
          className="w-56"
        >
          <option value="staging">staging</option>
          <option value="production" disabled={!admin}>
            production
          </option>
        </SelectField>
        {admin ? null : (
          <p id={productionWhy} className="w-full text-xs text-slate-500">
            Only the organization&apos;s admins can move a deployment into production.
          </p>
        )}
        {errors.environment ? <p className="w-full text-xs text-red-700">{errors.environment}</p> : null}
      </Group>

      <Group legend="Scaling">
        <div role="radiogroup" aria-label="How pods are counted" className="flex w-full flex-wrap gap-4 text-sm">
          {(["fixed", "autoscale"] as const).map((mode) => (
            <label key={mode} className="flex items-center gap-2">
              <input type="radio" name="scalingMode" value={mode} checked={draft.scalingMode === mode} onChange={() => set("scalingMode", mode)} />
              {mode === "fixed" ? "A fixed number of pods" : "Autoscale on CPU"}
            </label>
          ))}
        </div>
        {draft.scalingMode === "fixed" ? (
          text("replicas", "Pods per variant", { hint: "0 to 1000; 0 stops serving.", inputMode: "numeric" })
        ) : (
          <>
            {text("minReplicas", "Fewest pods", { hint: "Blank: 1.", inputMode: "numeric" })}
            {text("maxReplicas", "Most pods", { hint: "1 to 1000.", inputMode: "numeric" })}
            {text("targetCpu", "Target CPU (%)", { hint: "Blank: 70 %.", inputMode: "numeric" })}
          </>
        )}
      </Group>

      <Group legend="Runtime">
        {text("intraOpThreads", "Threads per operator", { hint: "Blank: the pod's CPU limit.", inputMode: "numeric" })}
        {text("image", "Serving image", { hint: "Blank: the platform's image. Others must be on its allow-list.", wide: true })}
        <CheckboxField label="Batch concurrent requests" checked={draft.batching} onChange={(event) => set("batching", event.target.checked)} className="w-full" />
        {draft.batching ? (
          <>
            {text("maxBatchSize", "Largest batch", { hint: "1 to 1024.", inputMode: "numeric" })}
            {text("maxLatencyMs", "Longest wait (ms)", { hint: "0 to 1000.", inputMode: "decimal" })}
          </>
        ) : null}
      </Group>

      <Group legend="Payload logging">
        <CheckboxField label="Log requests and predictions" checked={draft.logging} onChange={(event) => set("logging", event.target.checked)} className="w-full" />
        {draft.logging ? (
          <>
            {text("samplePercent", "Share of requests logged (%)", { hint: "0 to 100.", inputMode: "decimal" })}
            {text("logUri", "Where to write them", { hint: "s3://bucket/prefix; blank: the organization's bucket.", wide: true })}
          </>
        ) : draft.loggingDeclared ? (
          <p className="w-full text-xs text-slate-500">Saved as a sample rate of 0: nothing is logged.</p>
        ) : null}
      </Group>

      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" busy={update.isPending}>
          Save settings
        </Button>
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
      {Object.keys(errors).length > 0 ? (
        <p role="alert" className="text-sm text-red-700">
          Some settings need another look (see the fields).
        </p>
      ) : null}
      <Feedback message={nothing ? "Nothing changed: there is nothing to save." : null} error={update.error} explain={explainInvalid} />
    </form>
  );
}

/** A deployment's settings in words; people whose role may change them edit them in a form
 * (the facade applies what changed and answers with the deployment, shown at once). */
export function DeploymentSettings({ orgId, deployment, role }: { orgId: string; deployment: Deployment; role: Role }) {
  const { editing, saved, start, done, cancel } = useEditing();
  const allowed = can.deploy(role, deployment.environment);
  if (editing && allowed) {
    return <SettingsForm orgId={orgId} deployment={deployment} role={role} onSaved={done} onCancel={cancel} />;
  }
  const words = describeSettings(deployment.spec);
  return (
    <div className="space-y-3">
      <Facts
        rows={[
          ["Environment", <EnvironmentBadge key="e" environment={deployment.environment} />],
          ["Scaling", words.scaling],
          ["Runtime", words.runtime],
          ["Payload logging", words.logging],
        ]}
      />
      {allowed ? (
        <Button variant="secondary" onClick={start}>
          Edit settings
        </Button>
      ) : (
        <p className="text-sm text-slate-600">
          {role === "viewer"
            ? "Viewers can read these settings but not change them."
            : "Only the organization's admins can change a production deployment's settings."}
        </p>
      )}
      <Feedback message={saved} />
    </div>
  );
}
