import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { envelope, org, pageOf, server, signInHandlers } from "@/test/server";

import ApiKeysPage from "./page";

function apiKey(name: string, role: "admin" | "developer" | "viewer", scope: "full" | "inference" = "full") {
  return {
    id: `00000000-0000-4000-e000-${name.padStart(12, "0")}`,
    organization_id: org("acme").id,
    name,
    role,
    scope,
    prefix: `mp_${name.slice(0, 4)}`,
    created_at: "2026-12-01T10:00:00Z",
    created_by: null,
    expires_at: null,
  };
}

describe("API keys page", () => {
  it("creates a key and shows its secret once, lists and revokes keys after confirming", async () => {
    const keys = [apiKey("ci", "developer")];
    const bodies: unknown[] = [];
    const revoked: string[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme")])),
      http.get("/api/v1/organizations/:orgId/api-keys", () => pageOf(keys)),
      http.post("/api/v1/organizations/:orgId/api-keys", async ({ request }) => {
        const body = (await request.json()) as { name: string; role: "viewer"; scope: "inference" };
        bodies.push(body);
        keys.unshift(apiKey(body.name, body.role, body.scope));
        return envelope({ ...apiKey(body.name, body.role, body.scope), key: "mp_nightly_s3cr3t" }, 201);
      }),
      http.delete("/api/v1/organizations/:orgId/api-keys/:keyId", ({ params }) => {
        revoked.push(String(params.keyId));
        keys.splice(keys.findIndex((k) => k.id === params.keyId), 1);
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { user } = renderApp(<ApiKeysPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "API keys" });
    expect(within(table).getByText("never")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Key name"), "nightly");
    await user.selectOptions(screen.getByLabelText("Scope"), "inference");
    await user.type(screen.getByLabelText("Expires (optional, end of day UTC)"), "2027-01-31");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByLabelText("API key secret")).toHaveTextContent("mp_nightly_s3cr3t");
    expect(bodies).toEqual([
      { name: "nightly", role: "viewer", scope: "inference", expires_at: "2027-01-31T23:59:59Z" },
    ]);
    await user.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByLabelText("API key secret")).not.toBeInTheDocument();

    await user.click(await screen.findByRole("button", { name: "Revoke ci…" }));
    expect(revoked).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Yes, revoke ci" }));
    await within(table).findByText("nightly");
    expect(within(table).getByText("inference only")).toBeInTheDocument();
    expect(revoked).toEqual([apiKey("ci", "developer").id]);
    expect(within(table).queryByText("ci")).not.toBeInTheDocument();
  });

  it("tells a non-admin that only admins manage keys, without asking the facade", async () => {
    server.use(...signInHandlers(), http.get("/api/v1/organizations", () => pageOf([org("acme", "developer")])));
    const { user } = renderApp(<ApiKeysPage />);
    await signInThroughForm(user);
    expect(await screen.findByText("Only admins manage API keys")).toBeInTheDocument();
    expect(screen.getByText(/Your role in ACME is developer/)).toBeInTheDocument();
  });
});
