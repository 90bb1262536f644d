"use client";

/** The fields of the drift-monitor forms, shared by the create form (`/monitors/`) and the edit
 * form (a monitor's page): the deployment, schedule, window, minimum samples, default test and
 * dataset drift share; where the reference data comes from (the stable version's dataset, or an
 * explicit file with its digest); and the alert sinks (webhooks whose URL and signing key live in
 * Secrets, or an Alertmanager); then the optional sections (`monitor-sections.tsx`). They start
 * from a `MonitorDraft` and only render named inputs; `monitorFromForm` and `specFromEdit` read
 * them. */

import { useState, type ReactNode } from "react";

import { NEW_SECTIONS, type SectionsDraft } from "@/lib/monitor-sections";
import { DRIFT_TESTS, SEVERITIES, type AlertSink, type MonitorDraft, type ReferenceDataset, type SinkKind } from "@/lib/monitors";

import { MonitorSections } from "./monitor-sections";
import { Button, SelectField, TextField } from "./ui";

const SHA256_PATTERN = "[a-fA-F0-9]{64}";
const URI_PATTERN = "(s3://|file://|https://)\\S+";
/** The CRD's limit on `spec.alerts`. */
const MAX_SINKS = 16;

function Group({ legend, children }: { legend: string; children: ReactNode }) {
  return (
    <fieldset className="mt-3 rounded-md border border-slate-200 p-3">
      <legend className="px-1 text-sm font-medium text-slate-800">{legend}</legend>
      {children}
    </fieldset>
  );
}

function ReferenceFields({ initial }: { initial: ReferenceDataset | null }) {
  const [choice, setChoice] = useState<"stable" | "dataset">(initial ? "dataset" : "stable");
  const options = [
    { value: "stable", label: "The stable version's reference dataset" },
    { value: "dataset", label: "A dataset of its own" },
  ] as const;
  return (
    <Group legend="Reference data">
      <div className="flex flex-wrap gap-4 text-sm">
        {options.map((option) => (
          <label key={option.value} className="flex items-center gap-2">
            <input type="radio" name="reference" value={option.value} checked={choice === option.value} onChange={() => setChoice(option.value)} />
            {option.label}
          </label>
        ))}
      </div>
      {choice === "dataset" ? (
        <div className="mt-3 flex flex-wrap items-start gap-3">
          <TextField
            label="Dataset URI"
            name="referenceUri"
            required
            maxLength={2048}
            pattern={URI_PATTERN}
            hint="s3://bucket/key, https://… or file://…"
            defaultValue={initial?.uri}
            className="w-96"
          />
          <TextField
            label="Dataset SHA-256"
            name="referenceSha256"
            required
            pattern={SHA256_PATTERN}
            hint="64 hex digits; the job refuses a file that does not match."
            defaultValue={initial?.sha256}
            className="w-96"
          />
          <SelectField label="Dataset format" name="referenceFormat" defaultValue={initial?.format ?? "parquet"} className="w-36">
            <option value="parquet">Parquet</option>
            <option value="csv">CSV</option>
          </SelectField>
        </div>
      ) : (
        <p className="mt-2 text-xs text-slate-500">The dataset registered with the deployment&apos;s stable version; it follows the stable version when it changes.</p>
      )}
    </Group>
  );
}

/** One sink's fields, started from `initial` when the spec already has it. */
function SinkFields({ id, kind, number, namespace, initial }: { id: number; kind: SinkKind; number: number; namespace: string; initial?: AlertSink }) {
  const name = (field: string) => `sink-${id}-${field}`;
  const severity = (
    <SelectField label="Severity" name={name("severity")} defaultValue={initial?.severity ?? "warning"} className="w-32">
      {SEVERITIES.map((s) => (
        <option key={s} value={s}>
          {s}
        </option>
      ))}
    </SelectField>
  );
  if (kind === "alertmanager")
    return (
      <div className="flex flex-wrap items-start gap-3">
        <TextField
          label={`Alertmanager URL of sink ${number}`}
          name={name("url")}
          required
          maxLength={2048}
          pattern="https?://[!-~]+"
          placeholder="http://alertmanager.monitoring:9093"
          defaultValue={initial?.alertmanager?.url}
          className="w-96"
        />
        {severity}
      </div>
    );
  const secretHint = `A Secret in ${namespace}, created with kubectl.`;
  const url = initial?.webhook?.urlSecretRef;
  const signing = initial?.webhook?.signingSecretRef;
  return (
    <div className="flex flex-wrap items-start gap-3">
      <TextField
        label={`Secret holding the URL of sink ${number}`}
        name={name("urlSecret")}
        required
        maxLength={253}
        hint={secretHint}
        defaultValue={url?.name}
        className="w-64"
      />
      <TextField
        label={`Key of the URL in that Secret (sink ${number})`}
        name={name("urlKey")}
        required
        maxLength={253}
        defaultValue={url?.key ?? "url"}
        className="w-64"
      />
      <TextField
        label={`Signing Secret of sink ${number} (optional)`}
        name={name("signingSecret")}
        maxLength={253}
        hint="An HMAC-SHA256 key of 32 bytes or more: messages are then signed."
        defaultValue={signing?.name}
        className="w-64"
      />
      <TextField
        label={`Key of the signing key (sink ${number})`}
        name={name("signingKey")}
        maxLength={253}
        defaultValue={signing?.key ?? "key"}
        className="w-56"
      />
      {severity}
    </div>
  );
}

/** Alert sinks, added and removed one by one, starting from `initial` (none for a new monitor). */
function AlertSinkFields({ namespace, initial }: { namespace: string; initial: AlertSink[] }) {
  const [sinks, setSinks] = useState<{ id: number; kind: SinkKind; initial?: AlertSink }[]>(() =>
    initial.map((sink, id) => ({ id, kind: sink.alertmanager ? "alertmanager" : "webhook", initial: sink })),
  );
  const [next, setNext] = useState(initial.length);
  const add = (kind: SinkKind) => {
    setSinks((current) => [...current, { id: next, kind }]);
    setNext(next + 1);
  };
  return (
    <Group legend="Alert sinks">
      {sinks.length === 0 ? <p className="text-xs text-slate-500">No alerts: drift and live quality are only reported on the monitor&apos;s page.</p> : null}
      <ol className="space-y-3">
        {sinks.map((sink, index) => (
          <li key={sink.id} aria-label={`Sink ${index + 1}: ${sink.kind}`} className="rounded-md bg-slate-50 p-3">
            <input type="hidden" name="sink" value={`${sink.id}:${sink.kind}`} />
            <div className="mb-2 flex items-center justify-between gap-3">
              <p className="text-sm font-medium text-slate-800">
                Sink {index + 1}: {sink.kind === "webhook" ? "webhook" : "Alertmanager"}
              </p>
              <Button variant="secondary" onClick={() => setSinks((current) => current.filter((s) => s.id !== sink.id))}>
                Remove sink {index + 1}
              </Button>
            </div>
            <SinkFields id={sink.id} kind={sink.kind} number={index + 1} namespace={namespace} initial={sink.initial} />
          </li>
        ))}
      </ol>
      <div className="mt-3 flex flex-wrap gap-2">
        <Button variant="secondary" disabled={sinks.length >= MAX_SINKS} onClick={() => add("webhook")}>
          Add a webhook
        </Button>
        <Button variant="secondary" disabled={sinks.length >= MAX_SINKS} onClick={() => add("alertmanager")}>
          Add an Alertmanager
        </Button>
      </div>
    </Group>
  );
}

/** Every field of a monitor but its name, started from `draft`; `deployments` are the choices
 * (the draft's own deployment is offered even when it is not among them); `children` come first
 * on the first row (the create form's name). */
export function MonitorFields({
  draft,
  sections = NEW_SECTIONS,
  deployments,
  namespace,
  children,
}: {
  draft: MonitorDraft;
  /** Where the optional sections start (`MonitorSections`); the CRD's defaults unless given. */
  sections?: SectionsDraft;
  deployments: string[];
  namespace: string;
  children?: ReactNode;
}) {
  const choices = draft.deployment && !deployments.includes(draft.deployment) ? [draft.deployment, ...deployments] : deployments;
  return (
    <>
      <div className="flex flex-wrap items-start gap-3">
        {children}
        <SelectField label="Deployment" name="deployment" required defaultValue={draft.deployment || undefined} className="w-56">
          {choices.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </SelectField>
        <TextField label="Schedule" name="schedule" required defaultValue={draft.schedule} maxLength={64} hint="Cron, in UTC." className="w-40" />
        <TextField label="Window size" name="window" required defaultValue={draft.window} hint="For example 30m, 1h, 1d." className="w-32" />
        <TextField label="Minimum samples" name="minSamples" type="number" required min={1} max={100000000} defaultValue={draft.minSamples} className="w-36" />
        <SelectField label="Default test" name="defaultTest" defaultValue={draft.defaultTest} className="w-72">
          {DRIFT_TESTS.map((test) => (
            <option key={test.value} value={test.value}>
              {test.label}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Dataset drift share (%)"
          name="driftShare"
          type="number"
          required
          min={0}
          max={100}
          step="any"
          defaultValue={draft.driftShare}
          hint="The dataset drifted when this share of features did."
          className="w-48"
        />
      </div>
      <ReferenceFields initial={draft.reference} />
      <AlertSinkFields namespace={namespace} initial={draft.alerts} />
      <MonitorSections draft={sections} />
    </>
  );
}
