"use client";

import Link from "next/link";
import type { ReactNode } from "react";

import { useOrganization } from "@/lib/organization";
import type { Organization } from "@/lib/queries";

import { AppShell } from "./app-shell";
import { EmptyState, ErrorState, PageHeader, Skeleton } from "./ui";

/** Renders `children(current)` once the current organization is known; loading, error and
 * "no organization yet" otherwise. */
export function OrgGate({ what, children }: { what: string; children: (org: Organization) => ReactNode }) {
  const { current, isLoading, error, refetch } = useOrganization();
  if (isLoading) return <Skeleton label="Loading organizations" rows={1} />;
  if (error) return <ErrorState error={error} onRetry={refetch} />;
  if (!current)
    return (
      <EmptyState title="No organization">
        <Link className="font-medium text-indigo-700 underline" href="/organizations/">
          Create an organization
        </Link>{" "}
        to see its {what}.
      </EmptyState>
    );
  return <>{children(current)}</>;
}

/** A page about the current organization: the frame, a title, and `children(current)`. */
export function OrgPage({
  title,
  what,
  children,
}: {
  title: string;
  what: string;
  children: (org: Organization) => ReactNode;
}) {
  return (
    <AppShell>
      <PageHeader title={title} />
      <OrgGate what={what}>{children}</OrgGate>
    </AppShell>
  );
}
