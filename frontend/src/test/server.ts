import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";

import type { Schemas } from "@/lib/api/client";

export const server = setupServer();

const metadata = { timestamp: "2026-12-01T10:00:00Z", request_id: "test" };

export function envelope<T>(data: T, status = 200) {
  return HttpResponse.json({ success: true, data, metadata }, { status });
}

export function pageOf<T>(data: T[]) {
  return HttpResponse.json({
    success: true,
    data,
    meta: { page: 1, limit: 100, total: data.length, pages: data.length ? 1 : 0 },
    metadata,
  });
}

/** A cursor page (`meta.next_cursor`: null at the end). */
export function cursorPage<T>(data: T[], next: string | null, limit = 50) {
  return HttpResponse.json({ success: true, data, meta: { limit, next_cursor: next }, metadata });
}

export function failure(status: number, code: string, message: string) {
  return HttpResponse.json({ success: false, error: { code, message, details: null }, metadata }, { status });
}

export const alice: Schemas["UserPublic"] = {
  id: "00000000-0000-4000-8000-000000000001",
  email: "alice@example.com",
  display_name: "Alice",
  created_at: "2026-12-01T09:00:00Z",
};

export function org(slug: string, role: "admin" | "developer" | "viewer" = "admin"): Schemas["OrganizationPublic"] {
  return {
    id: `00000000-0000-4000-8000-${slug.padStart(12, "0").slice(-12)}`,
    slug,
    display_name: slug.toUpperCase(),
    description: "",
    created_at: "2026-12-01T09:30:00Z",
    updated_at: "2026-12-01T09:30:00Z",
    created_by: alice.id,
    role,
  };
}

export function tokens(n: number, expiresIn = 900): Schemas["TokenPublic"] {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "bearer", expires_in: expiresIn };
}

/** Handlers of a facade where alice signs in with "pw" and gets access-1/refresh-1. */
export function signInHandlers() {
  return [
    http.post("/api/v1/auth/login", async ({ request }) => {
      const body = (await request.json()) as { email: string; password: string };
      return body.password === "pw" ? envelope(tokens(1)) : failure(401, "invalid_credentials", "invalid email or password");
    }),
    http.get("/api/v1/auth/me", ({ request }) =>
      request.headers.get("Authorization") ? envelope(alice) : failure(401, "not_authenticated", "no token"),
    ),
  ];
}
