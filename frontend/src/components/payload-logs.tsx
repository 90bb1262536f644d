"use client";

import { useState, type FormEvent } from "react";

import { explainRefusal } from "@/lib/api/client";
import { saveBlob } from "@/lib/download";
import {
  can,
  useDownloadPayloadSample,
  usePayloadWindows,
  type Deployment,
  type PayloadWindows,
  type Role,
  type SampleFormat,
  type SampleRequest,
} from "@/lib/queries";

import { Feedback } from "./forms";
import { Button, DataTable, EmptyState, ErrorState, SelectField, Skeleton, TextField, formatBytes, formatDate } from "./ui";

const RANGES = { 1: "Last 24 hours", 7: "Last 7 days", 30: "Last 30 days" } as const;
type Days = keyof typeof RANGES;

const HOUR_MS = 3600 * 1000;

/** A `datetime-local` value read as UTC ("2026-12-07T09:00"). */
function utcField(at: Date): string {
  return at.toISOString().slice(0, 16);
}

function fromUtcField(value: string): Date | null {
  const at = new Date(`${value}:00Z`);
  return Number.isNaN(at.getTime()) ? null : at;
}

interface SampleOptions {
  variant: string;
  from: string;
  to: string;
  rows: string;
  seed: string;
  format: SampleFormat;
}

type OptionErrors = Partial<Record<"from" | "to" | "rows" | "seed", string>>;

function whole(text: string, min: number, max: number): number | null {
  const value = Number(text.trim());
  return text.trim() !== "" && Number.isInteger(value) && value >= min && value <= max ? value : null;
}

/** The sample request of the form's options (`window` overrides variant and times), or errors. */
function sampleRequest(options: SampleOptions, window?: { variant: string; start: string; end: string }) {
  const errors: OptionErrors = {};
  const rows = whole(options.rows, 1, 100_000);
  const seed = whole(options.seed, 0, 2 ** 32 - 1);
  if (rows === null) errors.rows = "A whole number from 1 to 100000.";
  if (seed === null) errors.seed = "A whole number from 0 to 4294967295.";
  const from = fromUtcField(options.from);
  const to = fromUtcField(options.to);
  if (!window) {
    if (!from) errors.from = "A date and time (UTC).";
    if (!to) errors.to = "A date and time (UTC).";
    else if (from && to <= from) errors.to = "After the start.";
  }
  if (Object.keys(errors).length > 0) return { errors };
  const request: SampleRequest = {
    variant: window ? window.variant : options.variant || null,
    start: window ? window.start : (from as Date).toISOString(),
    end: window ? window.end : (to as Date).toISOString(),
    rows: rows as number,
    seed: seed as number,
    format: options.format,
  };
  return { errors, request };
}

function Where({ found }: { found: PayloadWindows }) {
  const where = <code className="break-all">{`s3://${found.bucket}/${found.prefix}`}</code>;
  return (
    <p className="text-sm text-slate-700">
      {found.sample_rate === null ? (
        <>This deployment does not log payloads now; earlier logs would be in {where}.</>
      ) : (
        <>
          Logging {Math.round(found.sample_rate * 1e6) / 1e4} % of requests to {where}.
        </>
      )}
    </p>
  );
}

function Windows({
  found,
  days,
  busyWindow,
  onDownload,
}: {
  found: PayloadWindows;
  days: Days;
  busyWindow: string | null;
  onDownload: (window: PayloadWindows["windows"][number]) => void;
}) {
  if (found.windows.length === 0) {
    return (
      <EmptyState title={`No payload logs in the ${RANGES[days].toLowerCase()}`}>
        {found.sample_rate === null
          ? "Turn payload logging on in the settings above: the pods then write the requests they answer, one folder per hour."
          : "The pods write the requests they answer here, one folder per hour, once they serve traffic."}
      </EmptyState>
    );
  }
  return (
    <>
      {found.truncated ? (
        <p role="note" className="mb-2 text-sm text-amber-800">
          A variant has more files in this range than one listing reads: older hours may be missing. Choose a shorter range.
        </p>
      ) : null}
      <DataTable caption="Payload log windows, newest first" columns={["Hour (UTC)", "Variant", "Files", "Size", { label: "Download", srOnly: true }]}>
        {found.windows.map((window) => {
          const key = `${window.variant}@${window.start}`;
          return (
            <tr key={key}>
              <td className="whitespace-nowrap px-4 py-2">{formatDate(window.start)}</td>
              <td className="px-4 py-2">
                <code>{window.variant}</code>
              </td>
              <td className="px-4 py-2">{window.files}</td>
              <td className="px-4 py-2">{formatBytes(window.size_bytes)}</td>
              <td className="px-4 py-2 text-right">
                <Button
                  variant="secondary"
                  busy={busyWindow === key}
                  aria-label={`Download a sample of ${window.variant} at ${formatDate(window.start)}`}
                  onClick={() => onDownload(window)}
                >
                  Sample
                </Button>
              </td>
            </tr>
          );
        })}
      </DataTable>
    </>
  );
}

function PayloadLogsPanel({ orgId, deployment }: { orgId: string; deployment: Deployment }) {
  const [days, setDays] = useState<Days>(7);
  const windows = usePayloadWindows(orgId, deployment.name, days, true);
  const download = useDownloadPayloadSample(orgId, deployment.name);
  const [options, setOptions] = useState<SampleOptions>(() => {
    const now = Date.now();
    return { variant: "", from: utcField(new Date(now - HOUR_MS)), to: utcField(new Date(now + 60_000)), rows: "1000", seed: "0", format: "csv" };
  });
  const [errors, setErrors] = useState<OptionErrors>({});
  const [done, setDone] = useState<string | null>(null);
  const [busyWindow, setBusyWindow] = useState<string | null>(null);

  const variants = [
    ...new Set([
      ...(windows.data?.windows.map((w) => w.variant) ?? []),
      deployment.serving_version ?? deployment.stable_version,
      ...(deployment.candidate_version ? [deployment.candidate_version] : []),
    ]),
  ].sort();
  const set = <K extends keyof SampleOptions>(key: K, value: SampleOptions[K]) => setOptions((current) => ({ ...current, [key]: value }));

  function fetchSample(window?: PayloadWindows["windows"][number]) {
    setDone(null);
    download.reset();
    const { errors: found, request } = sampleRequest(options, window);
    setErrors(found);
    if (!request) return;
    setBusyWindow(window ? `${window.variant}@${window.start}` : null);
    download.mutate(request, {
      onSuccess: (file) => {
        saveBlob(file.blob, file.filename);
        const skipped = file.skippedFiles ? ` ${file.skippedFiles} unreadable file${file.skippedFiles === 1 ? " was" : "s were"} skipped.` : "";
        setDone(`Downloaded ${file.filename}: ${Math.min(request.rows, file.matchedRows)} of ${file.matchedRows} rows in the window.${skipped}`);
      },
      onSettled: () => setBusyWindow(null),
    });
  }

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    fetchSample();
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        {windows.data ? <Where found={windows.data} /> : <span />}
        <SelectField label="Range" value={days} onChange={(event) => setDays(Number(event.target.value) as Days)} className="w-44">
          {Object.entries(RANGES).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </SelectField>
      </div>
      {windows.isLoading ? (
        <Skeleton label="Loading the payload log windows" />
      ) : windows.error || !windows.data ? (
        <ErrorState error={windows.error} explain={explainRefusal} onRetry={() => void windows.refetch()} />
      ) : (
        <Windows found={windows.data} days={days} busyWindow={busyWindow} onDownload={fetchSample} />
      )}

      <form onSubmit={submit} aria-label="Download a payload sample" noValidate className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
        <p className="mb-3 text-sm text-slate-600">
          Rows drawn at random from the requests answered in a window, in time order; the same seed draws the same rows.
        </p>
        <div className="flex flex-wrap items-start gap-3">
          <SelectField label="Variant" value={options.variant} onChange={(event) => set("variant", event.target.value)} className="w-56">
            <option value="">All variants</option>
            {variants.map((variant) => (
              <option key={variant} value={variant}>
                {variant}
              </option>
            ))}
          </SelectField>
          <TextField label="From (UTC)" type="datetime-local" value={options.from} onChange={(event) => set("from", event.target.value)} error={errors.from} className="w-56" />
          <TextField label="To (UTC)" type="datetime-local" value={options.to} onChange={(event) => set("to", event.target.value)} error={errors.to} className="w-56" />
          <TextField label="Rows" inputMode="numeric" value={options.rows} onChange={(event) => set("rows", event.target.value)} error={errors.rows} hint="At most 100000." className="w-36" />
          <TextField label="Seed" inputMode="numeric" value={options.seed} onChange={(event) => set("seed", event.target.value)} error={errors.seed} className="w-36" />
          <SelectField label="Format" value={options.format} onChange={(event) => set("format", event.target.value as SampleFormat)} className="w-36">
            <option value="csv">CSV</option>
            <option value="parquet">Parquet</option>
          </SelectField>
        </div>
        <Button type="submit" className="mt-3" busy={download.isPending && busyWindow === null}>
          Download sample
        </Button>
        <Feedback message={done} error={download.error} explain={explainRefusal} className="mt-3" />
      </form>
    </div>
  );
}

/** What a deployment's pods logged: hour windows per variant, and samples of them to download.
 * Payloads are the callers' data: viewers are told why they cannot read them. */
export function PayloadLogs({ orgId, deployment, role }: { orgId: string; deployment: Deployment; role: Role }) {
  if (!can.payloads(role)) {
    return (
      <p className="text-sm text-slate-600">
        Payload logs hold the callers&apos; inputs and predictions: only the organization&apos;s developers and admins can read them.
      </p>
    );
  }
  return <PayloadLogsPanel orgId={orgId} deployment={deployment} />;
}
