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

interface ParamPageProps {
  names: string[];
  missing: string;
  /** Where to choose what is missing (default: the models). */
  choose?: { href: string; label: string; what: string };
  children: (values: string[], org: Organization) => ReactNode;
}

const CHOOSE_A_MODEL = { href: "/models/", label: "Choose a model", what: "models" };

function WithParams({ names, missing, choose = CHOOSE_A_MODEL, children }: ParamPageProps) {
  const params = useSearchParams();
  const values = names.map((name) => params.get(name) ?? "");
  if (values.some((value) => !value))
    return (
      <EmptyState title={missing}>
        <Link className="font-medium text-indigo-700 underline" href={choose.href}>
          {choose.label}
        </Link>
      </EmptyState>
    );
  return <OrgGate what={choose.what}>{(org) => children(values, org)}</OrgGate>;
}

/** A model (or deployment) page addressed by query parameters (a static export has no dynamic
 * paths): `children(values, org)` once every one of `names` is present and the organization is
 * known. */
export function ModelPage(props: ParamPageProps) {
  return (
    <AppShell>
      <Suspense fallback={<Skeleton label="Loading" rows={1} />}>
        <WithParams {...props} />
      </Suspense>
    </AppShell>
  );
}
