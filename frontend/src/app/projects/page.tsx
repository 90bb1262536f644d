"use client";

import { Feedback, useFormSubmit } from "@/components/forms";
import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, Skeleton, TextField, formatDate } from "@/components/ui";
import { explainConflict } from "@/lib/api/client";
import { can, useCreateProject, useProjects, type Organization } from "@/lib/queries";

const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9 ._\\-]*";

function CreateProject({ orgId }: { orgId: string }) {
  const create = useCreateProject(orgId);
  const { message, error, onSubmit } = useFormSubmit(async (form) => {
    const project = await create.mutateAsync({
      name: String(form.get("name") ?? ""),
      description: String(form.get("description") ?? ""),
    });
    return `Created ${project.name}.`;
  });
  return (
    <form onSubmit={onSubmit} aria-label="Create a project" className="mb-6 flex flex-wrap items-start gap-3">
      <TextField
        label="Project name"
        name="name"
        required
        maxLength={100}
        pattern={NAME_PATTERN}
        hint="Letters, digits, spaces, dots, dashes, underscores."
        className="w-64"
      />
      <TextField label="Description" name="description" maxLength={2000} className="min-w-64 flex-1" />
      <Button type="submit" busy={create.isPending}>
        Create project
      </Button>
      <Feedback message={message} error={error} explain={explainConflict("A project with this name already exists.")} />
    </form>
  );
}

function ProjectList({ org }: { org: Organization }) {
  const projects = useProjects(org.id);
  const rows = projects.data?.data ?? [];
  return (
    <>
      {can.write(org.role) ? (
        <CreateProject orgId={org.id} />
      ) : (
        <p className="mb-6 text-sm text-slate-600">Viewers can read projects; developers and admins create them.</p>
      )}
      {projects.isLoading ? (
        <Skeleton label="Loading projects" />
      ) : projects.error ? (
        <ErrorState error={projects.error} onRetry={() => void projects.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No projects yet">Projects group an organization&apos;s models.</EmptyState>
      ) : (
        <DataTable caption="Projects" columns={["Name", "Description", "Created"]}>
          {rows.map((project) => (
            <tr key={project.id}>
              <td className="px-4 py-2 font-medium">{project.name}</td>
              <td className="px-4 py-2 text-slate-700">{project.description}</td>
              <td className="px-4 py-2 text-slate-600">{formatDate(project.created_at)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

export default function ProjectsPage() {
  return (
    <OrgPage title="Projects" what="projects">
      {(org) => <ProjectList key={org.id} org={org} />}
    </OrgPage>
  );
}
