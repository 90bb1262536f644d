"use client";

import { useState } from "react";

import { ConfirmAction, Feedback, useFormSubmit } from "@/components/forms";
import { OrgPage } from "@/components/org-gate";
import { Button, DataTable, EmptyState, ErrorState, RoleBadge, SelectField, Skeleton, TextField, formatDate } from "@/components/ui";
import { can, ROLES, useApiKeyMutations, useApiKeys, type ApiKey, type Organization, type Role } from "@/lib/queries";

type Created = { name: string; key: string };
type Scope = ApiKey["scope"];

const SCOPES: { value: Scope; label: string }[] = [
  { value: "full", label: "everything the role allows" },
  { value: "inference", label: "inference and feedback only" },
];

/** The new key's secret, shown once: the facade stores only its hash. */
function NewSecret({ created, onDismiss }: { created: Created; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <section aria-labelledby="new-key" className="mb-6 rounded-lg border border-amber-300 bg-amber-50 p-4">
      <h2 id="new-key" className="font-medium text-amber-900">
        The secret of {created.name}, shown only now
      </h2>
      <p className="mt-1 text-sm text-amber-900">Copy it somewhere safe; it cannot be shown again.</p>
      <code className="mt-3 block break-all rounded bg-white p-2 text-sm" aria-label="API key secret">
        {created.key}
      </code>
      <div className="mt-3 flex gap-2">
        <Button
          variant="secondary"
          onClick={() => void navigator.clipboard?.writeText(created.key).then(() => setCopied(true))}
        >
          {copied ? "Copied" : "Copy"}
        </Button>
        <Button variant="secondary" onClick={onDismiss}>
          Done
        </Button>
      </div>
    </section>
  );
}

function CreateKey({ orgId, onCreated }: { orgId: string; onCreated: (created: Created) => void }) {
  const { create } = useApiKeyMutations(orgId);
  const { error, onSubmit } = useFormSubmit(async (form) => {
    const expires = String(form.get("expires") ?? "");
    const key = await create.mutateAsync({
      name: String(form.get("name") ?? ""),
      role: String(form.get("role")) as Role,
      scope: String(form.get("scope")) as Scope,
      expires_at: expires ? `${expires}T23:59:59Z` : null,
    });
    onCreated({ name: key.name, key: key.key });
    return "";
  });
  return (
    <form onSubmit={onSubmit} aria-label="Create an API key" className="mb-6 flex flex-wrap items-end gap-3">
      <TextField label="Key name" name="name" required maxLength={100} className="w-56" />
      <SelectField label="Role" name="role" defaultValue="viewer" className="w-36">
        {ROLES.map((role) => (
          <option key={role} value={role}>
            {role}
          </option>
        ))}
      </SelectField>
      <SelectField label="Scope" name="scope" defaultValue="full" className="w-64">
        {SCOPES.map((scope) => (
          <option key={scope.value} value={scope.value}>
            {scope.label}
          </option>
        ))}
      </SelectField>
      <TextField label="Expires (optional, end of day UTC)" name="expires" type="date" className="w-64" />
      <Button type="submit" busy={create.isPending}>
        Create key
      </Button>
      <Feedback error={error} />
    </form>
  );
}

function RevokeKey({ orgId, apiKey }: { orgId: string; apiKey: ApiKey }) {
  const { revoke } = useApiKeyMutations(orgId);
  return (
    <ConfirmAction
      label={`Revoke ${apiKey.name}`}
      confirmLabel={`Yes, revoke ${apiKey.name}`}
      busy={revoke.isPending}
      error={revoke.error}
      onConfirm={(done) => revoke.mutate(apiKey.id, { onSettled: done })}
    />
  );
}

function KeyList({ orgId }: { orgId: string }) {
  const keys = useApiKeys(orgId);
  const [created, setCreated] = useState<Created | null>(null);
  const rows = keys.data?.data ?? [];
  return (
    <>
      {created ? <NewSecret created={created} onDismiss={() => setCreated(null)} /> : null}
      <CreateKey orgId={orgId} onCreated={setCreated} />
      {keys.isLoading ? (
        <Skeleton label="Loading API keys" />
      ) : keys.error ? (
        <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState title="No API keys">Keys let scripts and CI call the API with a role of this organization.</EmptyState>
      ) : (
        <DataTable
          caption="API keys"
          columns={["Name", "Role", "Scope", "Prefix", "Created", "Expires", { label: "Actions", srOnly: true }]}
        >
          {rows.map((apiKey) => (
            <tr key={apiKey.id}>
              <td className="px-4 py-2 font-medium">{apiKey.name}</td>
              <td className="px-4 py-2"><RoleBadge role={apiKey.role} /></td>
              <td className="px-4 py-2 text-slate-600">{apiKey.scope === "inference" ? "inference only" : "full"}</td>
              <td className="px-4 py-2"><code>{apiKey.prefix}…</code></td>
              <td className="px-4 py-2 text-slate-600">{formatDate(apiKey.created_at)}</td>
              <td className="px-4 py-2 text-slate-600">{apiKey.expires_at ? formatDate(apiKey.expires_at) : "never"}</td>
              <td className="px-4 py-2">
                <RevokeKey orgId={orgId} apiKey={apiKey} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

function ApiKeys({ org }: { org: Organization }) {
  if (!can.manage(org.role))
    return (
      <EmptyState title="Only admins manage API keys">
        Your role in {org.display_name} is {org.role}; ask an admin for a key.
      </EmptyState>
    );
  return <KeyList orgId={org.id} />;
}

export default function ApiKeysPage() {
  return (
    <OrgPage title="API keys" what="API keys">
      {(org) => <ApiKeys key={org.id} org={org} />}
    </OrgPage>
  );
}
