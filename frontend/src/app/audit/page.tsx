"use client";

import { useState, type FormEvent } from "react";

import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, LoadMore, SelectField, Skeleton, TextField, formatDate } from "@/components/ui";
import { useAuditEvents, type AuditFilters, type Outcome } from "@/lib/queries";

const OUTCOMES: Outcome[] = ["success", "denied", "failure"];

function Filters({ onApply }: { onApply: (filters: AuditFilters) => void }) {
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const action = String(form.get("action") ?? "").trim();
    const outcome = String(form.get("outcome") ?? "");
    onApply({
      ...(action ? { action } : {}),
      ...(OUTCOMES.includes(outcome as Outcome) ? { outcome: outcome as Outcome } : {}),
    });
  }
  return (
    <form onSubmit={submit} aria-label="Filter the audit log" className="mb-4 flex flex-wrap items-end gap-3">
      <TextField label="Action" name="action" placeholder="e.g. organization.create" className="w-64" />
      <SelectField label="Outcome" name="outcome" defaultValue="" className="w-40">
        <option value="">Any</option>
        {OUTCOMES.map((outcome) => (
          <option key={outcome} value={outcome}>
            {outcome}
          </option>
        ))}
      </SelectField>
      <Button type="submit" variant="secondary">
        Apply filters
      </Button>
    </form>
  );
}

function AuditLog({ orgId }: { orgId: string }) {
  const [filters, setFilters] = useState<AuditFilters>({});
  const events = useAuditEvents(orgId, filters);
  const rows = events.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <>
      <Filters onApply={setFilters} />
      {events.isLoading ? (
        <Skeleton label="Loading the audit log" />
      ) : events.error ? (
        <ErrorState error={events.error} onRetry={() => void events.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No audit events match" />
      ) : (
        <>
          <DataTable
            caption="Audit events, newest first"
            columns={["When", "Action", "Resource", "Actor", "Outcome"]}
          >
            {rows.map((event) => (
              <tr key={event.id}>
                <td className="whitespace-nowrap px-4 py-2 text-slate-600">{formatDate(event.created_at)}</td>
                <td className="px-4 py-2"><code>{event.action}</code></td>
                <td className="px-4 py-2">
                  {event.resource_type}
                  {event.resource_id ? <code className="block text-xs text-slate-500">{event.resource_id}</code> : null}
                </td>
                <td className="px-4 py-2">
                  {event.actor_type}
                  {event.actor_id ? <code className="block text-xs text-slate-500">{event.actor_id}</code> : null}
                </td>
                <td className="px-4 py-2">
                  {event.outcome} <span className="text-slate-500">({event.status_code}{event.error_code ? `, ${event.error_code}` : ""})</span>
                </td>
              </tr>
            ))}
          </DataTable>
          <LoadMore pages={events} label="Load older events" end="End of the audit log." />
        </>
      )}
    </>
  );
}

export default function AuditPage() {
  return <OrgPage title="Audit log" what="audit log">{(org) => <AuditLog key={org.id} orgId={org.id} />}</OrgPage>;
}
