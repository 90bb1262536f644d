"use client";

import { useState, type FormEvent } from "react";

import { explainRefusal } from "@/lib/api/client";
import { useInfer } from "@/lib/queries";

import { Feedback } from "./forms";
import { Button } from "./ui";

/** "Try it": an Open Inference Protocol v2 request, edited as JSON, sent through the facade's
 * proxy (the canary's traffic split applies); the answer, or its error, below. */
export function InferencePanel({ orgId, name, example }: { orgId: string; name: string; example: string }) {
  const infer = useInfer(orgId, name);
  const [body, setBody] = useState(example);
  const [invalid, setInvalid] = useState<string | null>(null);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setInvalid(null);
    infer.reset();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      setInvalid(`The request is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      setInvalid('The request must be a JSON object with "inputs".');
      return;
    }
    infer.mutate(parsed as Record<string, unknown>);
  }

  return (
    <form onSubmit={submit} aria-label="Try an inference request" className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <label htmlFor="inference-request" className="block text-sm font-medium text-slate-700">
        Inference request (OIP v2 JSON)
      </label>
      <textarea
        id="inference-request"
        value={body}
        onChange={(event) => setBody(event.target.value)}
        rows={10}
        spellCheck={false}
        className="mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-xs shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
      />
      <Button type="submit" className="mt-3" busy={infer.isPending}>
        Send request
      </Button>
      <Feedback error={invalid ?? infer.error} explain={invalid ? () => invalid : explainRefusal} className="mt-3" />
      {infer.data ? (
        <div className="mt-3">
          <p className="text-sm text-slate-600">
            Answer{infer.data.requestId ? <> (request id <code>{infer.data.requestId}</code>)</> : null}:
          </p>
          <pre role="region" aria-label="Inference response" tabIndex={0} className="mt-1 overflow-x-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100">
            {typeof infer.data.body === "string" ? infer.data.body : JSON.stringify(infer.data.body, null, 2)}
          </pre>
        </div>
      ) : null}
    </form>
  );
}
