"use client";

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { expectOk, unwrap, type Schemas } from "./api/client";
import { useAuth } from "./auth";
import { uploadVersion } from "./upload";

export type Organization = Schemas["OrganizationPublic"];
export type Member = Schemas["MemberPublic"];

export const keys = {
  organizations: ["organizations"] as const,
  members: (orgId: string) => ["organizations", orgId, "members"] as const,
};

/** Organizations the signed-in user belongs to (the first 100, by name). */
export function useOrganizations() {
  const { client, user } = useAuth();
  return useQuery({
    queryKey: keys.organizations,
    enabled: user !== null,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations", {
          params: { query: { limit: 100, sort: "display_name" } },
        }),
      ).data,
  });
}

export function useCreateOrganization() {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["OrganizationCreate"]) =>
      unwrap(await client.POST("/api/v1/organizations", { body })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.organizations }),
  });
}

/** Members of an organization and their roles (the first 100). */
export function useMembers(orgId: string | null) {
  const { client } = useAuth();
  return useQuery({
    queryKey: keys.members(orgId ?? "-"),
    enabled: orgId !== null,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/members", {
          params: { path: { org_id: orgId ?? "" }, query: { limit: 100 } },
        }),
      ),
  });
}

export type Model = Schemas["ModelPublic"];
export type Version = Schemas["VersionPublic"];
export type AuditEvent = Schemas["AuditEventPublic"];
export type Outcome = NonNullable<AuditFilters["outcome"]>;

export const MODELS_PER_PAGE = 20;

/** One page of an organization's models, optionally those whose name contains `name`. */
export function useModels(orgId: string, name: string, page: number) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "models", { name, page }],
    placeholderData: (previous) => previous,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/models", {
          params: {
            path: { org_id: orgId },
            query: { page, limit: MODELS_PER_PAGE, sort: "name", ...(name ? { "filter[name]": name } : {}) },
          },
        }),
      ),
  });
}

export function useModel(orgId: string, modelId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "models", modelId],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/models/{model_id}", {
          params: { path: { org_id: orgId, model_id: modelId } },
        }),
      ).data,
  });
}

/** A model's versions, newest first (the first 100), with their state in the cluster. */
export function useVersions(orgId: string, modelId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "models", modelId, "versions"],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/models/{model_id}/versions", {
          params: { path: { org_id: orgId, model_id: modelId }, query: { limit: 100, sort: "-version" } },
        }),
      ),
  });
}

export interface AuditFilters {
  action?: string;
  outcome?: "success" | "denied" | "failure";
}

export const AUDIT_PAGE_SIZE = 50;

/** The organization's audit log, newest first, one cursor page at a time. */
export function useAuditEvents(orgId: string, filters: AuditFilters) {
  const { client } = useAuth();
  return useInfiniteQuery({
    queryKey: ["organizations", orgId, "audit", filters],
    initialPageParam: null as string | null,
    getNextPageParam: (last: { meta: { next_cursor: string | null } }) => last.meta.next_cursor,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await client.GET("/api/v1/audit-events", {
          params: {
            query: {
              organization_id: orgId,
              limit: AUDIT_PAGE_SIZE,
              ...(pageParam ? { cursor: pageParam } : {}),
              ...(filters.action ? { "filter[action]": filters.action } : {}),
              ...(filters.outcome ? { "filter[outcome]": filters.outcome } : {}),
            },
          },
        }),
      ),
  });
}

export type Role = Member["role"];
export const ROLES: Role[] = ["admin", "developer", "viewer"];

/** Add, re-role and remove members (admins only); each refreshes the members and, since the
 * caller's own role may have changed, the organizations. */
export function useMemberMutations(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.organizations });
  const path = { org_id: orgId };
  return {
    add: useMutation({
      mutationFn: async (body: Schemas["MemberCreate"]) =>
        unwrap(await client.POST("/api/v1/organizations/{org_id}/members", { params: { path }, body })).data,
      onSuccess: refresh,
    }),
    update: useMutation({
      mutationFn: async ({ userId, role }: { userId: string; role: Role }) =>
        unwrap(
          await client.PATCH("/api/v1/organizations/{org_id}/members/{user_id}", {
            params: { path: { ...path, user_id: userId } },
            body: { role },
          }),
        ).data,
      onSuccess: refresh,
    }),
    remove: useMutation({
      mutationFn: async (userId: string) =>
        expectOk(
          await client.DELETE("/api/v1/organizations/{org_id}/members/{user_id}", {
            params: { path: { ...path, user_id: userId } },
          }),
        ),
      onSuccess: refresh,
    }),
  };
}

export type Project = Schemas["ProjectPublic"];
export type ApiKey = Schemas["ApiKeyPublic"];

/** What a role may do, as far as the dashboard offers it (the facade decides; see permissions.py). */
export const can = {
  /** Create projects, models and versions (developers and admins). */
  write: (role: Role) => role !== "viewer",
  /** Members and API keys (admins). */
  manage: (role: Role) => role === "admin",
};

/** An organization's projects by name (the first 100). */
export function useProjects(orgId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "projects"],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/projects", {
          params: { path: { org_id: orgId }, query: { limit: 100, sort: "name" } },
        }),
      ),
  });
}

export function useCreateProject(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["ProjectCreate"]) =>
      unwrap(await client.POST("/api/v1/organizations/{org_id}/projects", { params: { path: { org_id: orgId } }, body }))
        .data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["organizations", orgId, "projects"] }),
  });
}

/** An organization's API keys, newest first (the first 100); admins only. */
export function useApiKeys(orgId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "api-keys"],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/api-keys", {
          params: { path: { org_id: orgId }, query: { limit: 100 } },
        }),
      ),
  });
}

export function useApiKeyMutations(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["organizations", orgId, "api-keys"] });
  const path = { org_id: orgId };
  return {
    create: useMutation({
      mutationFn: async (body: Schemas["ApiKeyCreate"]) =>
        unwrap(await client.POST("/api/v1/organizations/{org_id}/api-keys", { params: { path }, body })).data,
      onSuccess: refresh,
    }),
    revoke: useMutation({
      mutationFn: async (keyId: string) =>
        expectOk(
          await client.DELETE("/api/v1/organizations/{org_id}/api-keys/{key_id}", {
            params: { path: { ...path, key_id: keyId } },
          }),
        ),
      onSuccess: refresh,
    }),
  };
}

export type VersionDetail = Schemas["VersionDetail"];

/** One version with its cluster events. */
export function useVersion(orgId: string, modelId: string, versionId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "models", modelId, "versions", versionId],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/models/{model_id}/versions/{version_id}", {
          params: { path: { org_id: orgId, model_id: modelId, version_id: versionId } },
        }),
      ).data,
  });
}

export const TASK_TYPES = ["classification", "regression", "ranking", "anomaly_detection", "other"] as const;

export function useCreateModel(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["ModelCreate"]) =>
      unwrap(await client.POST("/api/v1/organizations/{org_id}/models", { params: { path: { org_id: orgId } }, body })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["organizations", orgId, "models"] }),
  });
}

/** Upload a version with progress (`onProgress` gets 0…1); refreshes the model and its versions. */
export function useUploadVersion(orgId: string, modelId: string, onProgress: (fraction: number) => void) {
  const { tokens } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ file, description }: { file: File; description: string }) =>
      uploadVersion(tokens, { orgId, modelId }, file, description ? { description } : {}, onProgress),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["organizations", orgId, "models"] }),
  });
}
