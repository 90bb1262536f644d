"use client";

import Link from "next/link";

import { AppShell } from "@/components/app-shell";
import { EmptyState, ErrorState, PageHeader, RoleBadge, Skeleton } from "@/components/ui";
import { useAuth } from "@/lib/auth";
import { useOrganization } from "@/lib/organization";

function Overview() {
  const { user } = useAuth();
  const { current, isLoading, error, refetch } = useOrganization();
  if (isLoading) return <Skeleton label="Loading your organizations" rows={2} />;
  if (error) return <ErrorState error={error} onRetry={refetch} />;
  return (
    <>
      <PageHeader title={`Welcome, ${user?.display_name ?? ""}`} />
      {current ? (
        <section aria-labelledby="current-org" className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">
          <h2 id="current-org" className="text-lg font-medium">
            {current.display_name}
          </h2>
          <p className="mt-1 text-sm text-slate-600">
            <code>{current.slug}</code> · your role <RoleBadge role={current.role} />
          </p>
          {current.description ? <p className="mt-3 text-slate-700">{current.description}</p> : null}
          <p className="mt-4 text-sm">
            <Link className="font-medium text-indigo-700 underline" href="/members/">
              Members and roles
            </Link>
          </p>
        </section>
      ) : (
        <EmptyState title="You do not belong to an organization yet">
          <Link className="font-medium text-indigo-700 underline" href="/organizations/">
            Create an organization
          </Link>{" "}
          or ask an admin to add you to theirs.
        </EmptyState>
      )}
    </>
  );
}

export default function HomePage() {
  return (
    <AppShell>
      <Overview />
    </AppShell>
  );
}
