"use client";

import { ConfirmAction, Feedback, useFormSubmit } from "@/components/forms";
import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, RoleBadge, SelectField, Skeleton, TextField, formatDate } from "@/components/ui";
import { ApiError, describeError } from "@/lib/api/client";
import { useAuth } from "@/lib/auth";
import { ROLES, useMemberMutations, useMembers, type Member, type Organization, type Role } from "@/lib/queries";

function explain(error: unknown): string {
  if (error instanceof ApiError && error.status === 404) return "No account uses this email: they need to sign up first.";
  if (error instanceof ApiError && error.code === "already_exists") return "This person is already a member.";
  if (error instanceof ApiError && error.code === "conflict") return "An organization needs at least one admin.";
  return describeError(error);
}

function RoleOptions() {
  return (
    <>
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </>
  );
}

function AddMember({ orgId }: { orgId: string }) {
  const { add } = useMemberMutations(orgId);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const member = await add.mutateAsync({ email: String(form.get("email") ?? ""), role: String(form.get("role")) as Role });
    return `Added ${member.display_name} as ${member.role}.`;
  });
  return (
    <form onSubmit={onSubmit} aria-label="Add a member" className="mb-6 flex flex-wrap items-end gap-3">
      <TextField label="Email of a registered user" name="email" type="email" required className="w-72" />
      <SelectField label="Role" name="role" defaultValue="developer" className="w-40">
        <RoleOptions />
      </SelectField>
      <Button type="submit" busy={add.isPending}>
        Add member
      </Button>
      <Feedback message={message} error={error} explain={explain} />
    </form>
  );
}

function RoleChooser({ orgId, member }: { orgId: string; member: Member }) {
  const { update } = useMemberMutations(orgId);
  return (
    <>
      <SelectField
        label={`Role of ${member.display_name}`}
        hideLabel
        value={member.role}
        disabled={update.isPending}
        onChange={(event) => update.mutate({ userId: member.user_id, role: event.target.value as Role })}
        className="w-36"
      >
        <RoleOptions />
      </SelectField>
      <Feedback error={update.error} explain={explain} className="mt-1" />
    </>
  );
}

function RemoveMember({ orgId, member }: { orgId: string; member: Member }) {
  const { remove } = useMemberMutations(orgId);
  return (
    <ConfirmAction
      label={`Remove ${member.display_name}`}
      confirmLabel={`Yes, remove ${member.display_name}`}
      busy={remove.isPending}
      error={remove.error}
      explain={explain}
      onConfirm={(done) => remove.mutate(member.user_id, { onSettled: done })}
    />
  );
}

function MemberList({ org }: { org: Organization }) {
  const { user } = useAuth();
  const members = useMembers(org.id);
  const isAdmin = org.role === "admin";
  if (members.isLoading) return <Skeleton label="Loading members" />;
  if (members.error) return <ErrorState error={members.error} onRetry={() => void members.refetch()} />;
  const rows = members.data?.data ?? [];
  const total = members.data?.meta.total ?? rows.length;
  return (
    <>
      {isAdmin ? (
        <AddMember orgId={org.id} />
      ) : (
        <p className="mb-6 text-sm text-slate-600">Only admins of {org.display_name} can add members or change roles.</p>
      )}
      {rows.length === 0 ? (
        <EmptyState title="No members" />
      ) : (
        <DataTable
          caption={`${total === rows.length ? total : `${rows.length} of ${total}`} ${total === 1 ? "member" : "members"} of ${org.display_name}`}
          showCaption
          columns={["Name", "Email", "Role", "Member since", ...(isAdmin ? [{ label: "Actions", srOnly: true as const }] : [])]}
        >
          {rows.map((member) => (
            <tr key={member.user_id}>
              <td className="px-4 py-2 font-medium">
                {member.display_name}
                {member.user_id === user?.id ? <span className="ml-1 text-xs text-slate-500">(you)</span> : null}
              </td>
              <td className="px-4 py-2">{member.email}</td>
              <td className="px-4 py-2">
                {isAdmin ? <RoleChooser orgId={org.id} member={member} /> : <RoleBadge role={member.role} />}
              </td>
              <td className="px-4 py-2 text-slate-600">{formatDate(member.created_at)}</td>
              {isAdmin ? (
                <td className="px-4 py-2">
                  <RemoveMember orgId={org.id} member={member} />
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

export default function MembersPage() {
  return (
    <OrgPage title="Members and roles" what="members">
      {(org) => <MemberList key={org.id} org={org} />}
    </OrgPage>
  );
}
