"use client";

import Link from "next/link";

import { AppShell } from "@/components/app-shell";
import { EmptyState, ErrorState, PageHeader, RoleBadge, Skeleton, TableHead, formatDate } from "@/components/ui";
import { useOrganization } from "@/lib/organization";
import { useMembers } from "@/lib/queries";

function MemberList({ orgId, orgName }: { orgId: string; orgName: string }) {
  const members = useMembers(orgId);
  if (members.isLoading) return <Skeleton label="Loading members" />;
  if (members.error) return <ErrorState error={members.error} onRetry={() => void members.refetch()} />;
  const rows = members.data?.data ?? [];
  if (rows.length === 0) return <EmptyState title="No members" />;
  const total = members.data?.meta.total ?? rows.length;
  return (
    <div className="overflow-x-auto rounded-lg bg-white shadow-sm ring-1 ring-slate-200">
      <table className="min-w-full text-left text-sm">
        <caption className="px-4 py-2 text-left text-slate-600">
          {total === rows.length ? `${total} members of ${orgName}` : `${rows.length} of ${total} members of ${orgName}`}
        </caption>
        <TableHead columns={[{ label: "Name" }, { label: "Email" }, { label: "Role" }, { label: "Member since" }]} />
        <tbody className="divide-y divide-slate-100">
          {rows.map((member) => (
            <tr key={member.user_id}>
              <td className="px-4 py-2 font-medium">{member.display_name}</td>
              <td className="px-4 py-2">{member.email}</td>
              <td className="px-4 py-2"><RoleBadge role={member.role} /></td>
              <td className="px-4 py-2 text-slate-600">{formatDate(member.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Members() {
  const { current, isLoading, error, refetch } = useOrganization();
  if (isLoading) return <Skeleton label="Loading organizations" rows={1} />;
  if (error) return <ErrorState error={error} onRetry={refetch} />;
  if (!current)
    return (
      <EmptyState title="No organization">
        <Link className="font-medium text-indigo-700 underline" href="/organizations/">
          Create an organization
        </Link>{" "}
        to see its members.
      </EmptyState>
    );
  return <MemberList orgId={current.id} orgName={current.display_name} />;
}

export default function MembersPage() {
  return (
    <AppShell>
      <PageHeader title="Members and roles" />
      <Members />
    </AppShell>
  );
}
