"use client";

import { AppShell } from "@/components/app-shell";
import { Feedback, useFormSubmit } from "@/components/forms";
import { Button, DataTable, EmptyState, ErrorState, PageHeader, RoleBadge, Skeleton, TextField, formatDate } from "@/components/ui";
import { explainConflict } from "@/lib/api/client";
import { useOrganization } from "@/lib/organization";
import { useCreateOrganization } from "@/lib/queries";

const SLUG_PATTERN = "[a-z0-9]([\\-a-z0-9]*[a-z0-9])?";

function CreateOrganization() {
  const create = useCreateOrganization();
  const { select } = useOrganization();
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const created = await create.mutateAsync({
      slug: String(form.get("slug") ?? ""),
      display_name: String(form.get("display_name") ?? ""),
      description: String(form.get("description") ?? ""),
    });
    select(created.id);
    return `Created ${created.display_name}.`;
  });

  return (
    <section aria-labelledby="create-org" className="rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200">
      <h2 id="create-org" className="text-lg font-medium">
        New organization
      </h2>
      <form onSubmit={onSubmit} className="mt-4 grid gap-4 sm:grid-cols-2">
        <TextField label="Name" name="display_name" required maxLength={200} />
        <TextField
          label="Slug"
          name="slug"
          required
          maxLength={40}
          pattern={SLUG_PATTERN}
          hint="Lowercase letters, digits and dashes; its namespace is mp-<slug>. It cannot change."
        />
        <TextField label="Description" name="description" maxLength={2000} className="sm:col-span-2" />
        <div className="flex items-center gap-3 sm:col-span-2">
          <Button type="submit" busy={create.isPending}>
            Create organization
          </Button>
          <Feedback message={message} error={error} explain={explainConflict("An organization with this slug already exists.")} />
        </div>
      </form>
    </section>
  );
}

function OrganizationList() {
  const { organizations, current, select, isLoading, error, refetch } = useOrganization();
  if (isLoading) return <Skeleton label="Loading organizations" />;
  if (error) return <ErrorState error={error} onRetry={refetch} />;
  if (organizations.length === 0)
    return <EmptyState title="No organizations yet">Create one below; you will be its admin.</EmptyState>;
  return (
    <DataTable
      caption="Your organizations"
      columns={["Name", "Slug", "Your role", "Created", { label: "Actions", srOnly: true }]}
    >
      {organizations.map((org) => (
        <tr key={org.id}>
          <td className="px-4 py-2 font-medium">{org.display_name}</td>
          <td className="px-4 py-2"><code>{org.slug}</code></td>
          <td className="px-4 py-2"><RoleBadge role={org.role} /></td>
          <td className="px-4 py-2 text-slate-600">{formatDate(org.created_at)}</td>
          <td className="px-4 py-2 text-right">
            {current?.id === org.id ? (
              <span className="text-xs text-slate-500">Current</span>
            ) : (
              <Button variant="secondary" onClick={() => select(org.id)} aria-label={`Switch to ${org.display_name}`}>
                Switch
              </Button>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

export default function OrganizationsPage() {
  return (
    <AppShell>
      <PageHeader title="Organizations" />
      <div className="space-y-8">
        <OrganizationList />
        <CreateOrganization />
      </div>
    </AppShell>
  );
}
