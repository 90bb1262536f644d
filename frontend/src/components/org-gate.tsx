"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { Suspense, type ReactNode } from "react";

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

function WithParams({
  names,
  missing,
  children,
}: {
  names: string[];
  missing: string;
  children: (values: string[], org: Organization) => ReactNode;
}) {
  const params = useSearchParams();
  const values = names.map((name) => params.get(name) ?? "");
  if (values.some((value) => !value))
    return (
      <EmptyState title={missing}>
        <Link className="font-medium text-indigo-700 underline" href="/models/">
          Choose a model
        </Link>
      </EmptyState>
    );
  return <OrgGate what="models">{(org) => children(values, org)}</OrgGate>;
}

/** A model page addressed by query parameters (a static export has no dynamic paths):
 * `children(values, org)` once every one of `names` is present and the organization is known. */
export function ModelPage(props: {
  names: string[];
  missing: string;
  children: (values: string[], org: Organization) => ReactNode;
}) {
  return (
    <AppShell>
      <Suspense fallback={<Skeleton label="Loading" rows={1} />}>
        <WithParams {...props} />
      </Suspense>
    </AppShell>
  );
}
