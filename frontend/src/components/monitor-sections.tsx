"use client";

/** The optional sections of the drift-monitor forms, each a collapsible `<details>` (opened by
 * keyboard like any button, and opened by itself when the browser finds one of its fields
 * invalid): the window's type, the drift tests (alpha, distance thresholds, per-feature
 * overrides), prediction drift, and live quality from feedback. They start from a
 * `SectionsDraft` and only render named inputs; `withSections` reads them. */

import { useState, type ReactNode, type SyntheticEvent } from "react";

import {
  CLASSIFICATION_METRICS,
  DEFAULT_ALPHA,
  DEFAULT_THRESHOLDS,
  DISTANCE_TESTS,
  DURATION_PATTERN,
  OUTPUT_COLUMN_PATTERN,
  REGRESSION_METRICS,
  type FeatureOverride,
  type QualitySpec,
  type QualityThreshold,
  type SectionsDraft,
} from "@/lib/monitor-sections";
import { DRIFT_TESTS } from "@/lib/monitors";

import { Button, CheckboxField, SelectField, TextField } from "./ui";

/** The CRD's limits on `features.overrides` and `quality.metrics`. */
const MAX_OVERRIDES = 512;
const MAX_METRICS = 8;

function openOnInvalid(event: SyntheticEvent<HTMLDetailsElement>) {
  event.currentTarget.open = true;
}

function Collapsible({ summary, open, children }: { summary: string; open: boolean; children: ReactNode }) {
  return (
    <details open={open} onInvalidCapture={openOnInvalid} className="mt-3 rounded-md border border-slate-200 p-3">
      <summary className="cursor-pointer text-sm font-medium text-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-600">{summary}</summary>
      <div className="mt-3">{children}</div>
    </details>
  );
}

/** Rows added and removed one by one; ids stay put when a row is removed. */
function useRows<T>(initial: T[]) {
  const [rows, setRows] = useState(() => initial.map((value, id) => ({ id, value: value as T | undefined })));
  const [next, setNext] = useState(initial.length);
  return {
    rows,
    add: () => {
      setRows((current) => [...current, { id: next, value: undefined }]);
      setNext(next + 1);
    },
    remove: (id: number) => setRows((current) => current.filter((row) => row.id !== id)),
  };
}

function TestOptions({ inherit }: { inherit?: string }) {
  return (
    <>
      {inherit ? <option value="">{inherit}</option> : null}
      {DRIFT_TESTS.map((test) => (
        <option key={test.value} value={test.value}>
          {test.label}
        </option>
      ))}
    </>
  );
}

function OverrideFields({ initial }: { initial: FeatureOverride[] }) {
  const { rows, add, remove } = useRows(initial);
  return (
    <fieldset className="mt-3">
      <legend className="text-sm font-medium text-slate-800">Per-feature tests</legend>
      {rows.length === 0 ? <p className="text-xs text-slate-500">Every feature takes the default test.</p> : null}
      <ol className="space-y-2">
        {rows.map(({ id, value }, index) => {
          const name = (field: string) => `override-${id}-${field}`;
          return (
            <li key={id} aria-label={`Feature override ${index + 1}`} className="flex flex-wrap items-end gap-3 rounded-md bg-slate-50 p-2">
              <input type="hidden" name="override" value={id} />
              <TextField label={`Feature of override ${index + 1}`} name={name("name")} required maxLength={128} defaultValue={value?.name} className="w-48" />
              <SelectField label={`Test of override ${index + 1}`} name={name("test")} defaultValue={value?.test ?? ""} className="w-64">
                <TestOptions inherit="the default test" />
              </SelectField>
              <TextField
                label={`Threshold of override ${index + 1}`}
                name={name("threshold")}
                type="number"
                min={0}
                step="any"
                defaultValue={value?.threshold ?? undefined}
                hint="psi, jsd, wasserstein"
                className="w-40"
              />
              <TextField
                label={`Alpha of override ${index + 1}`}
                name={name("alpha")}
                type="number"
                min={0.000001}
                max={0.999999}
                step="any"
                defaultValue={value?.alpha ?? undefined}
                hint="ks, chi2"
                className="w-36"
              />
              <Button variant="secondary" onClick={() => remove(id)}>
                Remove override {index + 1}
              </Button>
            </li>
          );
        })}
      </ol>
      <Button variant="secondary" className="mt-2" disabled={rows.length >= MAX_OVERRIDES} onClick={add}>
        Add a feature override
      </Button>
    </fieldset>
  );
}

function TestsSection({ draft }: { draft: SectionsDraft }) {
  const touched =
    draft.overrides.length > 0 || draft.alpha !== DEFAULT_ALPHA || DISTANCE_TESTS.some((test) => draft.thresholds[test] !== DEFAULT_THRESHOLDS[test]);
  return (
    <Collapsible summary="Drift tests: alpha, thresholds, per-feature tests" open={touched}>
      <div className="flex flex-wrap items-start gap-3">
        <TextField
          label="Alpha"
          name="alpha"
          type="number"
          required
          min={0.000001}
          max={0.999999}
          step="any"
          defaultValue={draft.alpha}
          hint="Significance level of ks and chi2, before correction."
          className="w-48"
        />
        {DISTANCE_TESTS.map((test) => (
          <TextField
            key={test}
            label={`${test} threshold`}
            name={`threshold-${test}`}
            type="number"
            required
            min={0}
            max={test === "jsd" ? 1 : undefined}
            step="any"
            defaultValue={draft.thresholds[test]}
            className="w-36"
          />
        ))}
      </div>
      <OverrideFields initial={draft.overrides} />
    </Collapsible>
  );
}

function MetricFields({ initial }: { initial: QualityThreshold[] }) {
  const { rows, add, remove } = useRows(initial.length ? initial : [{ metric: "accuracy" } as QualityThreshold]);
  return (
    <fieldset className="mt-3">
      <legend className="text-sm font-medium text-slate-800">Metrics and thresholds</legend>
      <ol className="space-y-2">
        {rows.map(({ id, value }, index) => {
          const name = (field: string) => `metric-${id}-${field}`;
          return (
            <li key={id} aria-label={`Quality metric ${index + 1}`} className="flex flex-wrap items-end gap-3 rounded-md bg-slate-50 p-2">
              <input type="hidden" name="metric" value={id} />
              <SelectField label={`Metric ${index + 1}`} name={name("name")} defaultValue={value?.metric ?? "accuracy"} className="w-40">
                {[...CLASSIFICATION_METRICS, ...REGRESSION_METRICS].map((metric) => (
                  <option key={metric} value={metric}>
                    {metric}
                  </option>
                ))}
              </SelectField>
              <TextField label={`Minimum of metric ${index + 1}`} name={name("min")} type="number" step="any" defaultValue={value?.min ?? undefined} className="w-40" />
              <TextField label={`Maximum of metric ${index + 1}`} name={name("max")} type="number" step="any" defaultValue={value?.max ?? undefined} className="w-40" />
              <Button variant="secondary" disabled={rows.length === 1} onClick={() => remove(id)}>
                Remove metric {index + 1}
              </Button>
            </li>
          );
        })}
      </ol>
      <Button variant="secondary" className="mt-2" disabled={rows.length >= MAX_METRICS} onClick={add}>
        Add a metric
      </Button>
    </fieldset>
  );
}

/** A payload-log output column (`output.<name>.<index>`), as `spec.quality` names them. */
function OutputColumnField({ label, name, required = false, initial, children }: { label: string; name: string; required?: boolean; initial?: string | null; children: string }) {
  return (
    <TextField label={label} name={name} required={required} maxLength={256} pattern={OUTPUT_COLUMN_PATTERN} defaultValue={initial ?? undefined} hint={children} className="w-56" />
  );
}

function QualityFields({ quality }: { quality: QualitySpec | null }) {
  return (
    <>
      <div className="flex flex-wrap items-start gap-3">
        <SelectField label="Task" name="qualityTask" defaultValue={quality?.task ?? "classification"} className="w-40">
          <option value="classification">classification</option>
          <option value="regression">regression</option>
        </SelectField>
        <OutputColumnField label="Prediction column" name="qualityPrediction" required initial={quality?.prediction ?? "output.label.0"}>
          A payload-log output column, e.g. output.label.0.
        </OutputColumnField>
        <OutputColumnField label="Score column (optional)" name="qualityScore" initial={quality?.score}>
          The positive label&apos;s probability; auc and logLoss need it.
        </OutputColumnField>
        <SelectField label="Label column" name="qualityLabelColumn" defaultValue={quality?.labelColumn ?? ""} className="w-56">
          <option value="">default (label; value for regression)</option>
          <option value="label">label</option>
          <option value="value">value</option>
        </SelectField>
        <TextField label="Positive label (optional)" name="qualityPositiveLabel" maxLength={256} defaultValue={quality?.positiveLabel ?? undefined} hint="1 when empty." className="w-44" />
        <SelectField label="Average" name="qualityAverage" defaultValue={quality?.average ?? ""} className="w-48">
          <option value="">default (binary)</option>
          <option value="binary">binary</option>
          <option value="macro">macro</option>
        </SelectField>
        <TextField
          label="Minimum labelled rows"
          name="qualityMinLabelledRows"
          type="number"
          required
          min={1}
          max={100000000}
          defaultValue={quality?.minLabelledRows ?? 100}
          className="w-44"
        />
        <TextField
          label="Label delay"
          name="qualityLabelDelay"
          required
          maxLength={32}
          pattern={DURATION_PATTERN}
          defaultValue={quality?.labelDelay ?? "0s"}
          hint="How long labels may arrive after a window, e.g. 0s, 6h."
          className="w-40"
        />
      </div>
      <MetricFields initial={quality?.metrics ?? []} />
    </>
  );
}

function QualitySection({ quality }: { quality: QualitySpec | null }) {
  const [on, setOn] = useState(quality !== null);
  return (
    <Collapsible summary="Live quality from feedback" open={quality !== null}>
      <CheckboxField label="Score predictions against the ground truth sent to the feedback endpoint" name="quality" checked={on} onChange={(e) => setOn(e.currentTarget.checked)} />
      {on ? <QualityFields quality={quality} /> : null}
    </Collapsible>
  );
}

function PredictionDriftSection({ draft }: { draft: SectionsDraft["predictionDrift"] }) {
  return (
    <Collapsible summary="Prediction drift" open={draft.enabled}>
      <div className="flex flex-wrap items-end gap-3">
        <CheckboxField label="Test the model's outputs too" name="predictionDrift" defaultChecked={draft.enabled} />
        <SelectField label="Test of the outputs" name="predictionTest" defaultValue={draft.test} className="w-72">
          <TestOptions />
        </SelectField>
      </div>
    </Collapsible>
  );
}

function WindowSection({ type }: { type: SectionsDraft["windowType"] }) {
  return (
    <Collapsible summary="Sliding or tumbling window" open={type !== "tumbling"}>
      <SelectField label="Window type" name="windowType" defaultValue={type} className="w-96">
        <option value="tumbling">tumbling: the last complete window, aligned to the epoch</option>
        <option value="sliding">sliding: the last window size before each run</option>
      </SelectField>
    </Collapsible>
  );
}

/** Every optional section, started from `draft`. */
export function MonitorSections({ draft }: { draft: SectionsDraft }) {
  return (
    <>
      <input type="hidden" name="sections" value="1" />
      <WindowSection type={draft.windowType} />
      <TestsSection draft={draft} />
      <PredictionDriftSection draft={draft.predictionDrift} />
      <QualitySection quality={draft.quality} />
    </>
  );
}
