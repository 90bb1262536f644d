"use client";

import Link from "next/link";
import { useId } from "react";

import { explainInvalid } from "@/lib/api/client";
import { can, TASK_TYPES, useModels, useRegisterFromRun, versionHref, type Organization } from "@/lib/queries";

import { Feedback, ModelNameField, TaskTypeField, useFormSubmit } from "./forms";
import { Button, TextField } from "./ui";

/** "Register as model version": copy the ONNX model a run logged into the registry, as a new
 * version of an existing model or of a model registered on the way. Offered to the roles that
 * may create versions; the facade decides anyway, and its refusal is shown in its words. */
export function RegisterFromRun({ org, runId }: { org: Organization; runId: string }) {
  const listId = useId();
  const register = useRegisterFromRun(org.id);
  // Suggestions only: any other valid name registers a new model.
  const models = useModels(org.id, "", 1);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const { model, version, newModel } = await register.mutateAsync({
      runId,
      modelName: String(form.get("model") ?? "").trim(),
      taskType: String(form.get("task_type")) as (typeof TASK_TYPES)[number],
      path: String(form.get("path") ?? "").trim() || "model",
      description: String(form.get("description") ?? "").trim(),
    });
    return `Registered ${newModel ? "the new model " : ""}${model.name} version ${version.version} from this run.`;
  });
  if (!can.write(org.role)) {
    return <p className="text-sm text-slate-600">Registering a run&apos;s model as a version needs the developer or admin role.</p>;
  }
  const registered = register.data;
  return (
    <form onSubmit={onSubmit} aria-label="Register as model version" className="flex flex-wrap items-start gap-3 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <ModelNameField
        name="model"
        list={listId}
        hint="An existing model gets a new version; a new name registers the model first."
        className="w-72"
      />
      <datalist id={listId}>
        {(models.data?.data ?? []).map((model) => (
          <option key={model.id} value={model.name} />
        ))}
      </datalist>
      <TaskTypeField label="Task (of a new model)" />
      <TextField label="Path in the run" name="path" defaultValue="model" maxLength={500} hint="The name given to mlflow.onnx.log_model." className="w-56" />
      <TextField label="Description" name="description" maxLength={2000} className="min-w-56 flex-1" />
      <Button type="submit" busy={register.isPending} className="mt-6">
        Register as model version
      </Button>
      <div className="w-full">
        <Feedback message={message} error={error} explain={explainInvalid} />
        {message && registered ? (
          <Link className="text-sm font-medium text-indigo-700 underline" href={versionHref(registered.model.id, registered.version.id)}>
            Open {registered.model.name} version {registered.version.version}
          </Link>
        ) : null}
      </div>
    </form>
  );
}
