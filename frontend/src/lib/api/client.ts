import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ApiClient = Client<paths>;

/** An error the facade answered with (its envelope's `error`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The envelope's `details`: for a refused body, the problems (`loc`, `message`) field by field. */
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

interface ErrorEnvelopeLike {
  /** The facade's envelope has an object; a serving runtime's refusal, passed through by the
   * inference proxy, a string. */
  error?: { code?: unknown; message?: unknown; details?: unknown } | string;
}

/** Turn openapi-fetch's `{ data, error, response }` into the data, or throw an `ApiError`. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const body = (result.error ?? {}) as ErrorEnvelopeLike;
    const error = typeof body.error === "string" ? { code: "model_error", message: body.error } : body.error;
    const code = typeof error?.code === "string" ? error.code : "error";
    const message = typeof error?.message === "string" ? error.message : result.response.statusText;
    const details = typeof error === "object" ? (error.details ?? null) : null;
    throw new ApiError(result.response.status, code, message || `HTTP ${result.response.status}`, details);
  }
  return result.data;
}

/** Like `unwrap` for answers without a body (204). */
export function expectOk(result: { error?: unknown; response: Response }): void {
  if (!result.response.ok) unwrap({ ...result, data: undefined });
}

/** A sentence for people, for any error a query or mutation threw. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return "You do not have permission to do this in this organization.";
    if (error.status === 429) return "Too many requests. Wait a moment and try again.";
    if (error.status >= 500) return "The server had a problem. Try again in a moment.";
    return error.message;
  }
  // fetch rejects with a TypeError when the server cannot be reached.
  if (error instanceof TypeError) return "The server could not be reached. Check your connection.";
  return error instanceof Error && error.message ? error.message : "Something went wrong.";
}

export interface TokenSource {
  /** The current access token, if signed in. */
  accessToken(): string | null;
  /** Rotate the refresh token; resolves to whether a new access token is available. */
  refresh(): Promise<boolean>;
}

const NO_RETRY = /\/api\/v1\/auth\/(login|register|refresh|logout)$/;

function withToken(request: Request, token: string | null): Request {
  if (!token) return request;
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}

/** The typed client of the facade at this page's origin. Every request carries the access token;
 * a 401 is answered by one silent refresh and one retry of the request. */
export function createApiClient(tokens: TokenSource, baseUrl = defaultBaseUrl()): ApiClient {
  return createClient<paths>({
    baseUrl,
    // Looked up at call time, so that a test's mocked fetch (MSW) sees every request.
    fetch: async (request: Request) => {
      const retry = request.clone();
      const response = await globalThis.fetch(withToken(request, tokens.accessToken()));
      if (response.status !== 401 || NO_RETRY.test(new URL(request.url).pathname)) {
        return response;
      }
      if (!tokens.accessToken() || !(await tokens.refresh())) return response;
      return globalThis.fetch(withToken(retry, tokens.accessToken()));
    },
  });
}

function defaultBaseUrl(): string {
  return typeof window === "undefined" ? "" : window.location.origin;
}

/** `describeError`, but with the facade's own words where it says why it refused: a 403 (for
 * example, production needs the admin role) and a 5xx (for example, the deployment does not
 * answer yet). */
export function explainRefusal(error: unknown): string {
  if (!(error instanceof ApiError)) return describeError(error);
  if (error.status === 403) return `Not allowed: ${error.message}`;
  if (error.status >= 500) return `${describeError(error)} (${error.status}: ${error.message})`;
  return describeError(error);
}

/** `explainRefusal`, plus what the facade found wrong with a refused body (400, 422), field by
 * field: "request is not valid: scaling.replicas: Input should be less than or equal to 1000". */
export function explainInvalid(error: unknown): string {
  if (!(error instanceof ApiError) || (error.status !== 400 && error.status !== 422) || !Array.isArray(error.details)) {
    return explainRefusal(error);
  }
  const problems = error.details.flatMap((item: unknown) => {
    if (typeof item !== "object" || item === null) return [];
    const { loc, message } = item as { loc?: unknown; message?: unknown };
    if (typeof message !== "string") return [];
    // The first element says where the field was (`body`, `query`): not the user's concern.
    const where = Array.isArray(loc) ? loc.slice(1).map(String).join(".") : "";
    return [where ? `${where}: ${message}` : message];
  });
  return problems.length ? `${error.message}: ${problems.join("; ")}` : error.message;
}

/** `describeError`, but a 409 (the name or slug is taken) is said as `message`. */
export function explainConflict(message: string): (error: unknown) => string {
  return (error) => (error instanceof ApiError && error.status === 409 ? message : describeError(error));
}
