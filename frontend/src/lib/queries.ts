"use client";

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { expectOk, unwrap, type ApiClient, type Schemas } from "./api/client";
import { useAuth } from "./auth";
import { attachmentName } from "./download";
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

async function fetchModels(client: ApiClient, orgId: string, name: string, page: number) {
  return unwrap(
    await client.GET("/api/v1/organizations/{org_id}/models", {
      params: {
        path: { org_id: orgId },
        query: { page, limit: MODELS_PER_PAGE, sort: "name", ...(name ? { "filter[name]": name } : {}) },
      },
    }),
  );
}

async function fetchVersions(client: ApiClient, orgId: string, modelId: string) {
  return unwrap(
    await client.GET("/api/v1/organizations/{org_id}/models/{model_id}/versions", {
      params: { path: { org_id: orgId, model_id: modelId }, query: { limit: 100, sort: "-version" } },
    }),
  );
}

/** One page of an organization's models, optionally those whose name contains `name`. */
export function useModels(orgId: string, name: string, page: number) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "models", { name, page }],
    placeholderData: (previous) => previous,
    queryFn: () => fetchModels(client, orgId, name, page),
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
    queryFn: () => fetchVersions(client, orgId, modelId),
  });
}

/** The model named `name` exactly, or undefined. The registry's name filter matches substrings,
 * sorted by name: the exact one is among the first page unless more than a page of names contain
 * it. */
async function findModelNamed(client: ApiClient, orgId: string, name: string): Promise<Model | undefined> {
  return (await fetchModels(client, orgId, name, 1)).data.find((m) => m.name === name);
}

/** The versions (newest first, the first 100) of the model named `name` exactly, as a deployment
 * names its model; an empty list when there is no such model. */
export function useVersionsOfModelNamed(orgId: string, name: string | null) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "models", { named: name }, "versions"],
    enabled: name !== null,
    queryFn: async () => {
      const found = await findModelNamed(client, orgId, name ?? "");
      return found ? (await fetchVersions(client, orgId, found.id)).data : [];
    },
  });
}

export interface RunRegistration {
  runId: string;
  /** The registered model's name: an existing model gets a new version, a new name is first
   * registered as a model with `taskType`. */
  modelName: string;
  taskType: (typeof TASK_TYPES)[number];
  /** The model's folder in the run (`name` of `mlflow.onnx.log_model`). */
  path: string;
  description: string;
}

/** Register the ONNX model an MLflow run logged as a new version (the facade's `from-run`
 * route), registering the model first when no model has that name; refreshes the models. */
export function useRegisterFromRun(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ runId, modelName, taskType, path, description }: RunRegistration) => {
      const existing = await findModelNamed(client, orgId, modelName);
      const target =
        existing ??
        unwrap(
          await client.POST("/api/v1/organizations/{org_id}/models", {
            params: { path: { org_id: orgId } },
            body: { name: modelName, task_type: taskType, description: "" },
          }),
        ).data;
      const created = unwrap(
        await client.POST("/api/v1/organizations/{org_id}/models/{model_id}/versions/from-run", {
          params: { path: { org_id: orgId, model_id: target.id } },
          // An empty description is answered with "from MLflow run <id>".
          body: { run_id: runId, path, description },
        }),
      );
      // 202: stored, but the cluster has not taken the ModelVersion yet.
      return { model: target, version: created.data, newModel: existing === undefined };
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["organizations", orgId, "models"] }),
  });
}

export interface AuditFilters {
  action?: string;
  outcome?: "success" | "denied" | "failure";
}

export const AUDIT_PAGE_SIZE = 50;

export type OrganizationUsage = Schemas["OrganizationUsage"];

/** Requests and predictions per deployment per UTC day (org admins; from Prometheus). */
export function useOrganizationUsage(orgId: string, days: number) {
  const { client } = useAuth();
  return useQuery({
    queryKey: ["organizations", orgId, "usage", days],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/usage", {
          params: { path: { org_id: orgId }, query: { days } },
        }),
      ).data,
  });
}

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
  /** Deploy, roll out, promote, roll back, delete: developers and admins in staging, only admins
   * in production (`deployment:production`). */
  deploy: (role: Role, environment: string) => role === "admin" || (role === "developer" && environment !== "production"),
  /** Copy a staging deployment's version to production (admins). */
  production: (role: Role) => role === "admin",
  /** Read a deployment's payload logs, its callers' inputs and predictions (developers and
   * admins: `deployment:payloads`). */
  payloads: (role: Role) => role !== "viewer",
  /** Create and rename experiments, log runs (developers and admins: `experiment:write`). */
  track: (role: Role) => role !== "viewer",
  /** Delete experiments (admins: `experiment:delete`). */
  deleteExperiments: (role: Role) => role === "admin",
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

/** Where a version's page is. */
export function versionHref(modelId: string, versionId: string): string {
  return `/models/version/?model=${encodeURIComponent(modelId)}&version=${encodeURIComponent(versionId)}`;
}

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

/** A registered model's name, as the facade allows it (a Kubernetes name part). */
export const MODEL_NAME_PATTERN = "[a-z0-9]([\\-a-z0-9]*[a-z0-9])?";

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

export type Deployment = Schemas["DeploymentPublic"];
export type Rollout = Schemas["RolloutPublic"];
export type Phase = Deployment["phase"];
export type Environment = Schemas["DeploymentCreate"]["environment"];
export type Preset = Schemas["RolloutCreate"]["preset"];

export const PHASES: Phase[] = ["Pending", "Progressing", "Ready", "Failed", "Stalled"];
export const ENVIRONMENTS: Environment[] = ["staging", "production"];
export const DEPLOYMENTS_PER_PAGE = 20;

export interface DeploymentFilters {
  /** The model's name, exactly. */
  model?: string;
  environment?: Environment;
  phase?: Phase;
}

const deploymentKeys = {
  all: (orgId: string) => ["organizations", orgId, "deployments"] as const,
  one: (orgId: string, name: string) => ["organizations", orgId, "deployments", name] as const,
};

/** One page of an organization's deployments by name, each with its phase from the cluster. */
export function useDeployments(orgId: string, filters: DeploymentFilters, page: number) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...deploymentKeys.all(orgId), { ...filters, page }],
    placeholderData: (previous) => previous,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments", {
          params: {
            path: { org_id: orgId },
            query: {
              page,
              limit: DEPLOYMENTS_PER_PAGE,
              ...(filters.model ? { "filter[model]": filters.model } : {}),
              ...(filters.environment ? { "filter[environment]": filters.environment } : {}),
              ...(filters.phase ? { "filter[phase]": filters.phase } : {}),
            },
          },
        }),
      ),
  });
}

/** Deploy a Ready version (staging unless told otherwise); refreshes the deployments. */
export function useCreateDeployment(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["DeploymentCreate"]) =>
      unwrap(await client.POST("/api/v1/organizations/{org_id}/deployments", { params: { path: { org_id: orgId } }, body }))
        .data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["organizations", orgId] }),
  });
}

/** One deployment; re-read every `pollMs` while `poll(deployment)` says its rollout runs. */
export function useDeployment(orgId: string, name: string, poll: (deployment: Deployment | undefined) => boolean, pollMs: number) {
  const { client } = useAuth();
  return useQuery({
    queryKey: deploymentKeys.one(orgId, name),
    refetchInterval: (query) => (poll(query.state.data) ? pollMs : false),
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments/{name}", {
          params: { path: { org_id: orgId, name } },
        }),
      ).data,
  });
}

/** A deployment's Kubernetes Events (oldest first), re-read every `pollMs` when given. */
export function useDeploymentEvents(orgId: string, name: string, pollMs: number | false) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...deploymentKeys.one(orgId, name), "events"],
    refetchInterval: pollMs,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments/{name}/events", {
          params: { path: { org_id: orgId, name } },
        }),
      ).data,
  });
}

/** A deployment's rollouts, newest first (the first 100), re-read every `pollMs` when given. */
export function useRollouts(orgId: string, name: string, pollMs: number | false) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...deploymentKeys.one(orgId, name), "rollouts"],
    refetchInterval: pollMs,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments/{name}/rollouts", {
          params: { path: { org_id: orgId, name }, query: { limit: 100 } },
        }),
      ),
  });
}

const ROLLOUT_VERBS = {
  promote: "/api/v1/organizations/{org_id}/deployments/{name}/promote",
  pause: "/api/v1/organizations/{org_id}/deployments/{name}/pause",
  resume: "/api/v1/organizations/{org_id}/deployments/{name}/resume",
  rollback: "/api/v1/organizations/{org_id}/deployments/{name}/rollback",
} as const;

export type RolloutVerb = keyof typeof ROLLOUT_VERBS;

function useRolloutVerb(orgId: string, name: string, verb: RolloutVerb) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (reason: string) =>
      unwrap(await client.POST(ROLLOUT_VERBS[verb], { params: { path: { org_id: orgId, name } }, body: { reason } })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: deploymentKeys.all(orgId) }),
  });
}

/** What a person may do to one deployment: start a rollout, move it on, roll it back, copy it
 * to production, delete it. Each refreshes the organization's deployments (this one's rollouts
 * and events included). */
export function useDeploymentActions(orgId: string, name: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  const path = { org_id: orgId, name };
  const refresh = () => queryClient.invalidateQueries({ queryKey: deploymentKeys.all(orgId) });
  return {
    start: useMutation({
      mutationFn: async (body: Schemas["RolloutCreate"]) =>
        unwrap(await client.POST("/api/v1/organizations/{org_id}/deployments/{name}/rollouts", { params: { path }, body }))
          .data,
      // The answer is the deployment with its candidate: the page shows the rollout's controls
      // at once rather than the start form until the next read.
      onSuccess: (started) => {
        queryClient.setQueryData(deploymentKeys.one(orgId, name), started);
        return refresh();
      },
    }),
    promote: useRolloutVerb(orgId, name, "promote"),
    pause: useRolloutVerb(orgId, name, "pause"),
    resume: useRolloutVerb(orgId, name, "resume"),
    rollback: useRolloutVerb(orgId, name, "rollback"),
    toProduction: useMutation({
      mutationFn: async (body: Schemas["ProductionPromotion"]) =>
        unwrap(
          await client.POST("/api/v1/organizations/{org_id}/deployments/{name}/promote-to-production", {
            params: { path },
            body,
          }),
        ).data,
      onSuccess: refresh,
    }),
    remove: useMutation({
      mutationFn: async () =>
        expectOk(await client.DELETE("/api/v1/organizations/{org_id}/deployments/{name}", { params: { path } })),
      onSuccess: () => {
        queryClient.removeQueries({ queryKey: deploymentKeys.one(orgId, name) });
        return queryClient.invalidateQueries({ queryKey: deploymentKeys.all(orgId) });
      },
    }),
  };
}

/** The answer of a deployment to an inference request: the body as it came (parsed when JSON)
 * and the request id it was logged under. */
export interface InferenceAnswer {
  body: unknown;
  requestId: string | null;
}

/** Send an OIP v2 inference request (a parsed JSON body) through the facade; an error answer
 * (the facade's envelope or the runtime's `{"error": …}`) throws an `ApiError`. */
export function useInfer(orgId: string, name: string) {
  const { client } = useAuth();
  return useMutation({
    mutationFn: async (request: Record<string, unknown>): Promise<InferenceAnswer> => {
      const result = await client.POST("/api/v1/organizations/{org_id}/deployments/{name}/infer", {
        params: { path: { org_id: orgId, name } },
        // The document types OIP tensors loosely; the deployment checks them against its signature.
        body: request as { inputs: Record<string, never>[] },
        parseAs: "text",
      });
      const text = unwrap(result);
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: shown as text
      }
      return { body, requestId: result.response.headers.get("X-Request-ID") };
    },
  });
}

/** Change a deployment's environment, scaling, runtime or payload logging. The answer is the
 * deployment as applied: the page shows it at once, then the organization's deployments are
 * read again. */
export function useUpdateDeployment(orgId: string, name: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["DeploymentUpdate"]) =>
      unwrap(
        await client.PATCH("/api/v1/organizations/{org_id}/deployments/{name}", {
          params: { path: { org_id: orgId, name } },
          body,
        }),
      ).data,
    onSuccess: (updated) => {
      queryClient.setQueryData(deploymentKeys.one(orgId, name), updated);
      return queryClient.invalidateQueries({ queryKey: deploymentKeys.all(orgId) });
    },
  });
}

export type PayloadWindows = Schemas["PayloadWindows"];
export type SampleFormat = Schemas["SampleFormat"];

/** The hour windows of a deployment's payload logs over the last `days` days, newest first;
 * only fetched when `enabled` (the role may read them). */
export function usePayloadWindows(orgId: string, name: string, days: number, enabled: boolean) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...deploymentKeys.one(orgId, name), "payload-logs", { days }],
    enabled,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/deployments/{name}/payload-logs", {
          params: {
            path: { org_id: orgId, name },
            query: { since: new Date(Date.now() - days * 24 * 3600 * 1000).toISOString() },
          },
        }),
      ).data,
  });
}

export interface SampleRequest {
  /** A variant (ModelVersion), or null for all of them. */
  variant: string | null;
  start: string;
  end: string;
  rows: number;
  seed: number;
  format: SampleFormat;
}

export interface SampleFile {
  blob: Blob;
  filename: string;
  /** Rows logged in the window before sampling. */
  matchedRows: number;
  /** Files in the window that were not readable Parquet. */
  skippedFiles: number;
}

/** Fetch a sample of a window of payload logs as a file, with the bearer token (a plain link
 * could not send it). */
export function useDownloadPayloadSample(orgId: string, name: string) {
  const { client } = useAuth();
  return useMutation({
    mutationFn: async ({ variant, ...query }: SampleRequest): Promise<SampleFile> => {
      const result = await client.GET("/api/v1/organizations/{org_id}/deployments/{name}/payload-logs/sample", {
        params: { path: { org_id: orgId, name }, query: { ...query, ...(variant ? { variant } : {}) } },
        parseAs: "blob",
      });
      const blob = unwrap(result);
      const headers = result.response.headers;
      return {
        blob,
        filename: attachmentName(headers.get("Content-Disposition"), `${name}-sample.${query.format}`),
        matchedRows: Number(headers.get("X-Modelplane-Matched-Rows") ?? 0),
        skippedFiles: Number(headers.get("X-Modelplane-Skipped-Files") ?? 0),
      };
    },
  });
}
