"use client";

import { useState } from "react";

import { OrgPage } from "@/components/org-gate";
import { DataTable, EmptyState, ErrorState, SelectField, Skeleton } from "@/components/ui";
import { useOrganizationUsage, type OrganizationUsage } from "@/lib/queries";

const RANGES = [7, 14, 31];
const number = new Intl.NumberFormat("en");

function UsageTable({ usage }: { usage: OrganizationUsage }) {
  return (
    <DataTable
      caption={`Requests and predictions per deployment, ${usage.start} to ${usage.end} (UTC; today so far)`}
      columns={["Deployment", "Requests", "Predictions", "Per day"]}
    >
      {usage.deployments.map((row) => (
        <tr key={row.deployment}>
          <td className="px-4 py-2"><code>{row.deployment}</code></td>
          <td className="px-4 py-2 tabular-nums">{number.format(row.requests)}</td>
          <td className="px-4 py-2 tabular-nums">{number.format(row.predictions)}</td>
          <td className="px-4 py-2 text-sm text-slate-600">
            {row.days.map((day) => `${day.day}: ${number.format(day.requests)}`).join(" · ")}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function Usage({ orgId }: { orgId: string }) {
  const [days, setDays] = useState(7);
  const usage = useOrganizationUsage(orgId, days);
  return (
    <>
      <SelectField
        label="Days"
        value={String(days)}
        onChange={(event) => setDays(Number(event.target.value))}
        className="mb-4 w-40"
      >
        {RANGES.map((n) => (
          <option key={n} value={n}>
            Last {n} days
          </option>
        ))}
      </SelectField>
      {usage.isLoading ? (
        <Skeleton label="Loading usage" />
      ) : usage.error ? (
        <ErrorState error={usage.error} onRetry={() => void usage.refetch()} />
      ) : !usage.data || usage.data.deployments.length === 0 ? (
        <EmptyState title="No deployment served in this range" />
      ) : (
        <UsageTable usage={usage.data} />
      )}
    </>
  );
}

export default function UsagePage() {
  return <OrgPage title="Usage" what="usage">{(org) => <Usage key={org.id} orgId={org.id} />}</OrgPage>;
}
