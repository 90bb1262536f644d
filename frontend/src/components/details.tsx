"use client";

import type { ReactNode } from "react";

import type { Schemas } from "@/lib/api/client";

import { DataTable, EmptyState, formatDate } from "./ui";

/** A titled part of a detail page (its heading names the region). */
export function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = `section-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id} className="mt-8">
      <h2 id={id} className="mb-3 text-lg font-medium">
        {title}
      </h2>
      {children}
    </section>
  );
}

/** Terms and their values, in two columns on wide screens. */
export function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid gap-x-6 gap-y-2 rounded-lg bg-white p-4 text-sm shadow-sm ring-1 ring-slate-200 sm:grid-cols-[max-content_1fr]">
      {rows.map(([term, value]) => (
        <div key={term} className="contents">
          <dt className="font-medium text-slate-600">{term}</dt>
          <dd className="break-all">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A Kubernetes object's conditions, or `empty` when it has none yet. */
export function ConditionsTable({ conditions, empty }: { conditions: Schemas["Condition"][]; empty: string }) {
  if (conditions.length === 0) return <EmptyState title="No conditions reported yet">{empty}</EmptyState>;
  return (
    <DataTable caption="Conditions" columns={["Type", "Status", "Reason", "Message", "Since"]}>
      {conditions.map((condition) => (
        <tr key={condition.type}>
          <td className="px-4 py-2 font-medium">{condition.type}</td>
          <td className="px-4 py-2">{condition.status}</td>
          <td className="px-4 py-2">{condition.reason ?? ""}</td>
          <td className="px-4 py-2 text-slate-700">{condition.message ?? ""}</td>
          <td className="px-4 py-2 text-slate-600">{condition.last_transition_time ? formatDate(condition.last_transition_time) : ""}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** The Kubernetes Events about an object. */
export function EventsTable({ events }: { events: Schemas["ClusterEvent"][] }) {
  if (events.length === 0) return <EmptyState title="No events" />;
  return (
    <DataTable caption="Kubernetes events" columns={["Type", "Reason", "Message", "Count", "Last seen"]}>
      {events.map((event, i) => (
        <tr key={`${event.reason}-${i}`}>
          <td className="px-4 py-2">{event.type ?? ""}</td>
          <td className="px-4 py-2 font-medium">{event.reason ?? ""}</td>
          <td className="px-4 py-2 text-slate-700">{event.message ?? ""}</td>
          <td className="px-4 py-2">{event.count ?? ""}</td>
          <td className="px-4 py-2 text-slate-600">{event.last_timestamp ? formatDate(event.last_timestamp) : ""}</td>
        </tr>
      ))}
    </DataTable>
  );
}
