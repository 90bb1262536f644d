"use client";

import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, expectOk, unwrap, type Schemas } from "./api/client";
import type { operations } from "./api/schema";
import { artifactDownloadPath, mlflowPathSerializer, proxiedArtifactRoot } from "./artifacts";
import { useAuth } from "./auth";
import { attachmentName } from "./download";

/** The organization's MLflow experiments and runs, read through the facade's dashboard
 * endpoints (`…/experiments`, `…/runs`): hooks for the pages, and the pure helpers they share
 * (table columns, sorting, the tracking URI the mlflow client needs). */

export type Experiment = Schemas["ExperimentPublic"];
export type Run = Schemas["RunSummary"];
export type RunDetail = Schemas["RunDetail"];
export type MetricHistory = Schemas["MetricHistory"];
export type RunComparison = Schemas["RunComparison"];
export type ComparedValue = Schemas["ComparedValue"];
type SearchRunsQuery = NonNullable<operations["search_runs"]["parameters"]["query"]>;
export type RunStatus = NonNullable<SearchRunsQuery["status"]>;

export const RUN_STATUSES: RunStatus[] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];
export const EXPERIMENTS_PAGE_SIZE = 25;
export const RUNS_PAGE_SIZE = 50;
/** The facade compares 2–20 runs at once. */
export const COMPARE_MIN = 2;
export const COMPARE_MAX = 20;
/** The facade sends the histories of up to 100 runs at once. */
export const CHART_MAX = 100;
/** Points per run a chart asks for (the facade samples each history down to it). */
export const CHART_POINTS = 500;

export const EXPERIMENT_SORTS = [
  { value: "-created_at", label: "Newest first" },
  { value: "created_at", label: "Oldest first" },
  { value: "name", label: "Name A–Z" },
  { value: "-name", label: "Name Z–A" },
  { value: "-updated_at", label: "Recently updated" },
] as const;
export type ExperimentSort = (typeof EXPERIMENT_SORTS)[number]["value"];

const experimentKeys = {
  all: (orgId: string) => ["organizations", orgId, "experiments"] as const,
  one: (orgId: string, id: string) => ["organizations", orgId, "experiments", id] as const,
  runs: (orgId: string) => ["organizations", orgId, "runs"] as const,
};

/** The organization's active experiments, one cursor page at a time. */
export function useExperiments(orgId: string, name: string, sort: ExperimentSort) {
  const { client } = useAuth();
  return useInfiniteQuery({
    queryKey: [...experimentKeys.all(orgId), { name, sort }],
    initialPageParam: null as string | null,
    placeholderData: keepPreviousData,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/experiments", {
          params: {
            path: { org_id: orgId },
            query: {
              limit: EXPERIMENTS_PAGE_SIZE,
              sort,
              ...(name ? { "filter[name]": name } : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    // After queryFn: TypeScript infers the page's type from it, in the order of the properties.
    getNextPageParam: (last) => last.meta.next_cursor,
  });
}

export function useExperiment(orgId: string, experimentId: string, enabled = true) {
  const { client } = useAuth();
  return useQuery({
    queryKey: experimentKeys.one(orgId, experimentId),
    enabled,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/experiments/{experiment_id}", {
          params: { path: { org_id: orgId, experiment_id: experimentId } },
        }),
      ).data,
  });
}

/** Create, rename and delete experiments; each refreshes the organization's experiments. */
export function useExperimentMutations(orgId: string) {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: experimentKeys.all(orgId) });
  const path = { org_id: orgId };
  return {
    create: useMutation({
      mutationFn: async (body: Schemas["ExperimentCreate"]) =>
        unwrap(await client.POST("/api/v1/organizations/{org_id}/experiments", { params: { path }, body })).data,
      onSuccess: refresh,
    }),
    rename: useMutation({
      mutationFn: async ({ id, name }: { id: string; name: string }) =>
        unwrap(
          await client.PATCH("/api/v1/organizations/{org_id}/experiments/{experiment_id}", {
            params: { path: { ...path, experiment_id: id } },
            body: { name },
          }),
        ).data,
      onSuccess: refresh,
    }),
    remove: useMutation({
      mutationFn: async (id: string) =>
        expectOk(
          await client.DELETE("/api/v1/organizations/{org_id}/experiments/{experiment_id}", {
            params: { path: { ...path, experiment_id: id } },
          }),
        ),
      onSuccess: refresh,
    }),
  };
}

export interface RunFilters {
  /** MLflow's search syntax, as typed. */
  query: string;
  status: RunStatus | "";
  /** `started_at`, `metrics.auc`, …; `-` descending. */
  sort: string;
}

export const DEFAULT_RUN_FILTERS: RunFilters = { query: "", status: "", sort: "-started_at" };

/** The runs of one experiment with their params and latest metrics, one cursor page at a time. */
export function useRuns(orgId: string, experimentId: string, filters: RunFilters) {
  const { client } = useAuth();
  return useInfiniteQuery({
    queryKey: [...experimentKeys.runs(orgId), { experimentId, ...filters }],
    initialPageParam: null as string | null,
    placeholderData: keepPreviousData,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/runs", {
          params: {
            path: { org_id: orgId },
            query: {
              experiment_id: [experimentId],
              limit: RUNS_PAGE_SIZE,
              sort: filters.sort,
              ...(filters.query.trim() ? { query: filters.query.trim() } : {}),
              ...(filters.status ? { status: filters.status } : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.meta.next_cursor,
  });
}

/** One run with every param, latest metric, tag and its artifact tree. */
export function useRun(orgId: string, runId: string) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...experimentKeys.runs(orgId), runId],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/runs/{run_id}", {
          params: { path: { org_id: orgId, run_id: runId } },
        }),
      ).data,
  });
}

/** One metric's history for each of `runIds` (up to 100), sampled to `CHART_POINTS` steps. */
export function useMetricHistories(orgId: string, runIds: string[], key: string | null) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...experimentKeys.runs(orgId), "metrics", { runIds, key }],
    enabled: key !== null && runIds.length > 0,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/runs/metrics", {
          params: { path: { org_id: orgId }, query: { run_id: runIds, key: key ?? "", points: CHART_POINTS } },
        }),
      ).data,
  });
}

/** 2–20 runs side by side: params (those that differ first) and latest metrics. */
export function useRunComparison(orgId: string, runIds: string[]) {
  const { client } = useAuth();
  return useQuery({
    queryKey: [...experimentKeys.runs(orgId), "compare", runIds],
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/runs/compare", {
          params: { path: { org_id: orgId }, query: { run_id: runIds } },
        }),
      ).data,
  });
}

/** Where the standard mlflow client finds the organization's workspace, behind this facade. */
export function trackingUri(origin: string, slug: string): string {
  return `${origin.replace(/\/$/, "")}/api/v1/organizations/${slug}/mlflow`;
}

/** The params and metrics keys the runs have between them, sorted: the table's data columns. */
export function dataColumns(runs: Run[]): { params: string[]; metrics: string[] } {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const run of runs) {
    Object.keys(run.params).forEach((key) => params.add(key));
    Object.keys(run.metrics).forEach((key) => metrics.add(key));
  }
  return { params: [...params].sort(), metrics: [...metrics].sort() };
}

export type SortDirection = "ascending" | "descending";

/** How `sort` orders by `field`, if it does (for `aria-sort`). */
export function sortDirection(sort: string, field: string): SortDirection | undefined {
  if (sort === field) return "ascending";
  if (sort === `-${field}`) return "descending";
  return undefined;
}

/** The sort after a click on `field`'s header: the other direction if it already sorts by it;
 * else metrics and times newest/highest first (what one looks for), names and params A–Z. */
export function toggleSort(sort: string, field: string): string {
  const current = sortDirection(sort, field);
  if (current === "ascending") return `-${field}`;
  if (current === "descending") return field;
  return field.startsWith("metrics.") || field.endsWith("_at") ? `-${field}` : field;
}

/** A metric value as people read it: up to 4 significant digits, integers as they are. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
}

/** How long a run took (or has run so far, given `now`), as "1 h 2 min", "3 min 4 s", "5 s". */
export function formatDuration(startedAt: string | null, endedAt: string | null, now: number = Date.now()): string {
  if (!startedAt) return "";
  const ms = (endedAt ? Date.parse(endedAt) : now) - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return "";
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The run ids of a `runs=a,b,c` query parameter, in order, without repeats. */
export function parseRunIds(value: string): string[] {
  return [...new Set(value.split(",").map((id) => id.trim()).filter(Boolean))];
}

/** An MLflow refusal as it passes through the facade (`{error_code, message}`, not the
 * envelope) turned into an `ApiError`; the facade's own refusals keep `unwrap`'s handling. */
function mlflowUnwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const body = result.error as { error_code?: unknown; message?: unknown } | undefined;
  if (result.data === undefined && typeof body?.error_code === "string" && typeof body.message === "string")
    throw new ApiError(result.response.status, body.error_code, body.message);
  return unwrap(result);
}

/** Save one file of a run's artifact tree: the run's artifact root is read through the
 * facade's MLflow proxy (`runs/get`), then the file itself through MLflow's artifact proxy. */
export function useDownloadArtifact(orgId: string, runId: string) {
  const { client } = useAuth();
  return useMutation({
    mutationFn: async (file: string): Promise<{ blob: Blob; filename: string }> => {
      const proxy = "/api/v1/organizations/{org}/mlflow/{path}" as const;
      const run = mlflowUnwrap(
        await client.GET(proxy, {
          // The proxy's OpenAPI declares no query (MLflow's APIs take their own); sent as is.
          params: { path: { org: orgId, path: "api/2.0/mlflow/runs/get" }, query: { run_id: runId } as never },
          pathSerializer: mlflowPathSerializer,
          parseAs: "text",
        }),
      );
      const artifactUri = String((JSON.parse(run) as { run?: { info?: { artifact_uri?: unknown } } }).run?.info?.artifact_uri ?? "");
      const root = proxiedArtifactRoot(artifactUri);
      if (root === null)
        throw new Error(`This run's artifacts are stored at ${artifactUri || "an unknown place"}, outside MLflow's artifact proxy: download them with the mlflow client and the store's own credentials.`);
      const result = await client.GET(proxy, {
        params: { path: { org: orgId, path: artifactDownloadPath(root, file) } },
        pathSerializer: mlflowPathSerializer,
        parseAs: "blob",
      });
      // openapi-fetch gives no body for an empty file (Content-Length: 0).
      const blob = result.response.ok && result.data === undefined ? new Blob([]) : mlflowUnwrap(result);
      return { blob, filename: attachmentName(result.response.headers.get("Content-Disposition"), file.split("/").at(-1) ?? file) };
    },
  });
}
