"use client";

import { OrgPage } from "@/components/org-gate";
import { DataTable, EmptyState, ErrorState, RoleBadge, Skeleton, formatDate } from "@/components/ui";
import { useMembers } from "@/lib/queries";

function MemberList({ orgId, orgName }: { orgId: string; orgName: string }) {
  const members = useMembers(orgId);
  if (members.isLoading) return <Skeleton label="Loading members" />;
  if (members.error) return <ErrorState error={members.error} onRetry={() => void members.refetch()} />;
  const rows = members.data?.data ?? [];
  if (rows.length === 0) return <EmptyState title="No members" />;
  const total = members.data?.meta.total ?? rows.length;
  return (
    <DataTable
      caption={`${total === rows.length ? total : `${rows.length} of ${total}`} ${total === 1 ? "member" : "members"} of ${orgName}`}
      showCaption
      columns={["Name", "Email", "Role", "Member since"]}
    >
      {rows.map((member) => (
        <tr key={member.user_id}>
          <td className="px-4 py-2 font-medium">{member.display_name}</td>
          <td className="px-4 py-2">{member.email}</td>
          <td className="px-4 py-2"><RoleBadge role={member.role} /></td>
          <td className="px-4 py-2 text-slate-600">{formatDate(member.created_at)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

export default function MembersPage() {
  return (
    <OrgPage title="Members and roles" what="members">
      {(org) => <MemberList orgId={org.id} orgName={org.display_name} />}
    </OrgPage>
  );
}
