"use client";

import { useState, type FormEvent } from "react";

import { describeError } from "@/lib/api/client";
import { MODEL_NAME_PATTERN, TASK_TYPES } from "@/lib/queries";

import { Button, SelectField, TextField } from "./ui";

/** A registered model's name, as the facade allows it. */
export function ModelNameField({ name = "name", hint = "Lowercase letters, digits and dashes.", className = "w-56", list }: {
  name?: string;
  hint?: string;
  className?: string;
  /** The id of a `<datalist>` of suggestions. */
  list?: string;
}) {
  return <TextField label="Model name" name={name} required maxLength={50} pattern={MODEL_NAME_PATTERN} hint={hint} className={className} list={list} />;
}

/** The task of a model being registered, as the form field `task_type`. */
export function TaskTypeField({ label = "Task", className = "w-48" }: { label?: string; className?: string }) {
  return (
    <SelectField label={label} name="task_type" defaultValue="classification" className={className}>
      {TASK_TYPES.map((task) => (
        <option key={task} value={task}>
          {task.replace("_", " ")}
        </option>
      ))}
    </SelectField>
  );
}

/** A form's submit handler: `run` gets the form's data and returns a confirmation to show; the
 * form is reset after success, and what `run` threw is kept as `error` to show instead. */
export function useFormSubmit(run: (form: FormData) => Promise<string>) {
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formElement = event.currentTarget;
    setMessage(null);
    setError(null);
    try {
      setMessage(await run(new FormData(formElement)));
      formElement.reset();
    } catch (caught) {
      setError(caught);
    }
  }
  return { message, error, onSubmit };
}

/** An edit form shown in place of what it edits: `start` opens it, `done` closes it and keeps its
 * confirmation as `saved` (to show with `Feedback`), `cancel` closes it. */
export function useEditing() {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  return {
    editing,
    saved,
    start: () => {
      setSaved(null);
      setEditing(true);
    },
    done: (message: string) => {
      setSaved(message);
      setEditing(false);
    },
    cancel: () => setEditing(false),
  };
}

/** A confirmation (status) and/or an error (alert) next to a control. */
export function Feedback({
  message,
  error,
  explain = describeError,
  className = "",
}: {
  message?: string | null;
  error?: unknown;
  explain?: (error: unknown) => string;
  className?: string;
}) {
  return (
    <>
      {message ? (
        <p role="status" className={`text-sm text-emerald-700 ${className}`}>
          {message}
        </p>
      ) : null}
      {error ? (
        <p role="alert" className={`text-sm text-red-700 ${className}`}>
          {explain(error)}
        </p>
      ) : null}
    </>
  );
}

/** A destructive action in two steps (`label…`, then `confirmLabel` or Cancel), with its error. */
export function ConfirmAction({
  label,
  confirmLabel,
  busy,
  error,
  explain,
  onConfirm,
}: {
  label: string;
  confirmLabel: string;
  busy: boolean;
  error: unknown;
  explain?: (error: unknown) => string;
  onConfirm: (done: () => void) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  return (
    <div className="flex flex-wrap items-center justify-end gap-2">
      {confirming ? (
        <>
          <Button busy={busy} onClick={() => onConfirm(() => setConfirming(false))}>
            {confirmLabel}
          </Button>
          <Button variant="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </Button>
        </>
      ) : (
        <Button variant="secondary" onClick={() => setConfirming(true)}>
          {label}…
        </Button>
      )}
      <Feedback error={error} explain={explain} className="w-full text-right" />
    </div>
  );
}
