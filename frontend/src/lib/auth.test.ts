import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";

import { alice, envelope, failure, server, signInHandlers, tokens } from "@/test/server";

import { Session } from "./auth";

/** A protected endpoint that accepts only `access-<n>` for the given n. */
function meAccepting(n: number, seen: string[]) {
  return http.get("/api/v1/auth/me", ({ request }) => {
    const auth = request.headers.get("Authorization") ?? "";
    seen.push(auth);
    return auth === `Bearer access-${n}` ? envelope(alice) : failure(401, "invalid_token", "token expired");
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Session", () => {
  it("signs in, then sends the access token on every call", async () => {
    server.use(...signInHandlers());
    const session = new Session();
    await session.signIn("alice@example.com", "pw");
    expect(session.getSnapshot().user?.email).toBe("alice@example.com");
    expect(session.accessToken()).toBe("access-1");
    session.dispose();
  });

  it("refuses wrong credentials without a session", async () => {
    server.use(...signInHandlers());
    const session = new Session();
    await expect(session.signIn("alice@example.com", "nope")).rejects.toMatchObject({
      status: 401,
      code: "invalid_credentials",
    });
    expect(session.getSnapshot().user).toBeNull();
    expect(session.accessToken()).toBeNull();
  });

  it("answers a 401 with one refresh rotation and retries, even for calls failing together", async () => {
    server.use(...signInHandlers());
    const session = new Session();
    await session.signIn("alice@example.com", "pw");

    const presented: string[] = [];
    const seen: string[] = [];
    server.use(
      meAccepting(2, seen),
      http.post("/api/v1/auth/refresh", async ({ request }) => {
        const body = (await request.json()) as { refresh_token: string };
        presented.push(body.refresh_token);
        return envelope(tokens(2));
      }),
    );
    const [first, second] = await Promise.all([
      session.client.GET("/api/v1/auth/me"),
      session.client.GET("/api/v1/auth/me"),
    ]);
    expect(first.response.status).toBe(200);
    expect(second.response.status).toBe(200);
    expect(presented).toEqual(["refresh-1"]);
    expect(seen.filter((h) => h === "Bearer access-2")).toHaveLength(2);
    expect(session.accessToken()).toBe("access-2");
    session.dispose();
  });

  it("ends the session when the refresh token is refused", async () => {
    server.use(...signInHandlers());
    const onEnd = vi.fn();
    const session = new Session(onEnd);
    await session.signIn("alice@example.com", "pw");
    server.use(
      meAccepting(99, []),
      http.post("/api/v1/auth/refresh", () => failure(401, "refresh_token_reused", "reused")),
    );
    const result = await session.client.GET("/api/v1/auth/me");
    expect(result.response.status).toBe(401);
    expect(session.getSnapshot()).toEqual({ user: null, notice: "Your session has ended. Sign in again." });
    expect(onEnd).toHaveBeenCalledOnce();
  });

  it("refreshes shortly before the access token expires", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    server.use(
      http.post("/api/v1/auth/login", () => envelope(tokens(1, 70))),
      meAccepting(1, []),
      http.post("/api/v1/auth/refresh", () => envelope(tokens(2, 900))),
    );
    const session = new Session();
    await session.signIn("alice@example.com", "pw");
    expect(session.accessToken()).toBe("access-1");
    await vi.advanceTimersByTimeAsync(9_000);
    expect(session.accessToken()).toBe("access-1");
    await vi.advanceTimersByTimeAsync(2_000); // 70 s token, refreshed 60 s early
    await vi.waitFor(() => expect(session.accessToken()).toBe("access-2"));
    session.dispose();
  });

  it("signs out by revoking the refresh token, and keeps nothing in browser storage", async () => {
    const setItem = vi.spyOn(Storage.prototype, "setItem");
    server.use(...signInHandlers());
    const revoked: { body: unknown; auth: string | null }[] = [];
    server.use(
      http.post("/api/v1/auth/logout", async ({ request }) => {
        revoked.push({ body: await request.json(), auth: request.headers.get("Authorization") });
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const onEnd = vi.fn();
    const session = new Session(onEnd);
    await session.signIn("alice@example.com", "pw");
    await session.signOut();
    expect(revoked).toEqual([{ body: { refresh_token: "refresh-1" }, auth: "Bearer access-1" }]);
    expect(session.getSnapshot().user).toBeNull();
    expect(session.accessToken()).toBeNull();
    expect(onEnd).toHaveBeenCalledOnce();
    expect(setItem).not.toHaveBeenCalled();
    expect(localStorage.length + sessionStorage.length).toBe(0);
    expect(document.cookie).toBe("");
  });
});
