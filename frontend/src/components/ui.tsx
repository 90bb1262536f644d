"use client";

import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";
import { useId } from "react";

import { describeError } from "@/lib/api/client";

const focusRing =
  "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600";

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: "primary" | "secondary";
  busy?: boolean;
};

export function Button({ variant = "primary", busy = false, className = "", disabled, children, ...rest }: ButtonProps) {
  const look =
    variant === "primary"
      ? "bg-indigo-600 text-white hover:bg-indigo-500 disabled:bg-indigo-300"
      : "bg-white text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 disabled:text-slate-400";
  return (
    <button
      type="button"
      {...rest}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      className={`inline-flex items-center justify-center rounded-md px-3 py-2 text-sm font-medium ${look} ${focusRing} disabled:cursor-not-allowed ${className}`}
    >
      {children}
    </button>
  );
}

type TextFieldProps = InputHTMLAttributes<HTMLInputElement> & {
  label: string;
  hint?: string;
  /** What is wrong with the value: shown under the field, which is then marked invalid. */
  error?: string;
};

export function TextField({ label, hint, error, id, className = "", ...rest }: TextFieldProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  return (
    <div className={className}>
      <label htmlFor={inputId} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      <input
        id={inputId}
        aria-describedby={[errorId, hintId].filter(Boolean).join(" ") || undefined}
        aria-invalid={error ? true : undefined}
        {...rest}
        className={`mt-1 block w-full rounded-md border ${error ? "border-red-500" : "border-slate-300"} bg-white px-3 py-2 text-sm shadow-sm ${focusRing}`}
      />
      {error ? (
        <p id={errorId} className="mt-1 text-xs text-red-700">
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={hintId} className="mt-1 text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A checkbox with its label on the right (`labelClassName="sr-only"`: for screen readers only). */
export function CheckboxField({
  label,
  labelClassName = "text-sm font-medium text-slate-700",
  id,
  className = "",
  ...rest
}: InputHTMLAttributes<HTMLInputElement> & { label: string; labelClassName?: string }) {
  const generated = useId();
  const inputId = id ?? generated;
  return (
    <div className={`flex items-center gap-2 ${className}`}>
      <input id={inputId} type="checkbox" {...rest} className={`h-4 w-4 rounded border-slate-300 text-indigo-600 ${focusRing}`} />
      <label htmlFor={inputId} className={labelClassName}>
        {label}
      </label>
    </div>
  );
}

type SelectFieldProps = SelectHTMLAttributes<HTMLSelectElement> & { label: string; hideLabel?: boolean };

export function SelectField({ label, hideLabel = false, id, children, className = "", ...rest }: SelectFieldProps) {
  const generated = useId();
  const selectId = id ?? generated;
  return (
    <div className={className}>
      <label htmlFor={selectId} className={hideLabel ? "sr-only" : "block text-sm font-medium text-slate-700"}>
        {label}
      </label>
      <select
        id={selectId}
        {...rest}
        className={`${hideLabel ? "" : "mt-1 "}block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm ${focusRing}`}
      >
        {children}
      </select>
    </div>
  );
}

/** Grey bars standing in for rows while a list loads. */
export function Skeleton({ rows = 3, label }: { rows?: number; label: string }) {
  return (
    <div role="status" aria-live="polite" aria-label={label} className="space-y-3">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="h-10 animate-pulse rounded-md bg-slate-200" />
      ))}
      <span className="sr-only">{label}</span>
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center">
      <p className="font-medium text-slate-800">{title}</p>
      {children ? <div className="mt-2 text-sm text-slate-600">{children}</div> : null}
    </div>
  );
}

export function ErrorState({
  error,
  onRetry,
  explain = describeError,
}: {
  error: unknown;
  onRetry?: () => void;
  explain?: (error: unknown) => string;
}) {
  return (
    <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800">
      <p>{explain(error)}</p>
      {onRetry ? (
        <Button variant="secondary" className="mt-3" onClick={onRetry}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}

const ROLE_LOOK: Record<string, string> = {
  admin: "bg-indigo-100 text-indigo-800",
  developer: "bg-emerald-100 text-emerald-800",
  viewer: "bg-slate-200 text-slate-700",
};

function Pill({ text, look }: { text: string; look: string | undefined }) {
  return <span className={`inline-block rounded-full px-2 py-0.5 text-xs font-medium ${look ?? "bg-slate-200 text-slate-700"}`}>{text}</span>;
}

export function RoleBadge({ role }: { role: string }) {
  return <Pill text={role} look={ROLE_LOOK[role]} />;
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
      {children}
    </div>
  );
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 ** 2).toFixed(1)} MiB`;
}

export function formatDate(value: string): string {
  return new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

/** A list's table: its caption (shown, or for screen readers only), header row and rows. A
 * column marked `srOnly` (actions) has a header for screen readers only. */
export function DataTable({
  caption,
  showCaption = false,
  columns,
  busy,
  children,
}: {
  caption: string;
  showCaption?: boolean;
  columns: (string | { label: string; srOnly: true })[];
  busy?: boolean;
  children: ReactNode;
}) {
  return (
    <div className="relative overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      <table className="min-w-full text-left text-sm" aria-busy={busy || undefined}>
        <caption className={showCaption ? "px-4 py-2 text-left text-slate-600" : "sr-only"}>{caption}</caption>
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            {columns.map((column) =>
              typeof column === "string" ? (
                <th key={column} scope="col" className="px-4 py-2 font-medium">
                  {column}
                </th>
              ) : (
                <th key={column.label} scope="col" className="px-4 py-2 font-medium">
                  <span className="sr-only">{column.label}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 align-middle">{children}</tbody>
      </table>
    </div>
  );
}

/** The foot of a cursor-paged list: a button that fetches the next page while there is one,
 * then `end`. */
export function LoadMore({
  pages,
  label,
  end,
}: {
  pages: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => Promise<unknown> };
  label: string;
  end: string;
}) {
  return pages.hasNextPage ? (
    <Button variant="secondary" className="mt-4" busy={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
      {label}
    </Button>
  ) : (
    <p className="mt-4 text-sm text-slate-500">{end}</p>
  );
}

/** Previous / next buttons of a page-numbered list. */
export function Paging({
  page,
  pages,
  onPage,
  label,
}: {
  page: number;
  pages: number;
  onPage: (page: number) => void;
  label: string;
}) {
  if (pages <= 1) return null;
  return (
    <nav aria-label={label} className="mt-4 flex items-center gap-3 text-sm">
      <Button variant="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </Button>
      <span aria-live="polite">
        Page {page} of {pages}
      </span>
      <Button variant="secondary" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </Button>
    </nav>
  );
}

const STATE_LOOK: Record<string, string> = {
  ready: "bg-emerald-100 text-emerald-800",
  pending: "bg-amber-100 text-amber-900",
  verifying: "bg-sky-100 text-sky-800",
  stalled: "bg-red-100 text-red-800",
  missing: "bg-red-100 text-red-800",
  unknown: "bg-slate-200 text-slate-700",
};

export function StateBadge({ state }: { state: string }) {
  return <Pill text={state} look={STATE_LOOK[state]} />;
}

const PHASE_LOOK: Record<string, string> = {
  Ready: "bg-emerald-100 text-emerald-800",
  Pending: "bg-amber-100 text-amber-900",
  Progressing: "bg-sky-100 text-sky-800",
  Failed: "bg-red-100 text-red-800",
  Stalled: "bg-red-100 text-red-800",
};

/** A deployment's phase (`Pending`, `Progressing`, `Ready`, `Failed`, `Stalled`). */
export function PhaseBadge({ phase }: { phase: string }) {
  return <Pill text={phase} look={PHASE_LOOK[phase]} />;
}

const RUN_STATUS_LOOK: Record<string, string> = {
  FINISHED: "bg-emerald-100 text-emerald-800",
  RUNNING: "bg-sky-100 text-sky-800",
  SCHEDULED: "bg-amber-100 text-amber-900",
  FAILED: "bg-red-100 text-red-800",
  KILLED: "bg-slate-200 text-slate-700",
};

/** An MLflow run's status (`RUNNING`, `FINISHED`, `FAILED` …), in lower case. */
export function RunStatusBadge({ status }: { status: string }) {
  return <Pill text={status.toLowerCase()} look={RUN_STATUS_LOOK[status]} />;
}

const ENVIRONMENT_LOOK: Record<string, string> = {
  production: "bg-violet-100 text-violet-800",
  staging: "bg-slate-200 text-slate-700",
};

export function EnvironmentBadge({ environment }: { environment: string }) {
  return <Pill text={environment} look={ENVIRONMENT_LOOK[environment]} />;
}
