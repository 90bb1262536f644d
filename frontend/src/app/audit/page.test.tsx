import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { cursorPage, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import AuditPage from "./page";

const acme = org("acme");

function event(n: number, action: string, outcome = "success") {
  return {
    id: `00000000-0000-4000-c000-${String(n).padStart(12, "0")}`,
    created_at: `2026-12-01T10:${String(59 - n).padStart(2, "0")}:00Z`,
    organization_id: acme.id,
    actor_type: "user",
    actor_id: null,
    action,
    resource_type: "organization",
    resource_id: acme.id,
    outcome,
    status_code: outcome === "success" ? 201 : 403,
    error_code: outcome === "success" ? null : "permission_denied",
    request_id: `r${n}`,
    ip: "127.0.0.1",
    user_agent: null,
    before: null,
    after: null,
  };
}

describe("Audit log page", () => {
  it("pages by cursor and filters by outcome", async () => {
    const queries: URLSearchParams[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/audit-events", ({ request }) => {
        const query = new URL(request.url).searchParams;
        queries.push(query);
        if (query.get("filter[outcome]") === "denied") return cursorPage([event(9, "member.create", "denied")], null);
        return query.get("cursor") === "c2"
          ? cursorPage([event(3, "auth.login")], null)
          : cursorPage([event(1, "organization.create"), event(2, "member.create")], "c2");
      }),
    );
    const { user } = renderApp(<AuditPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Audit events, newest first" });
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(queries[0]?.get("organization_id")).toBe(acme.id);

    await user.click(screen.getByRole("button", { name: "Load older events" }));
    expect(await within(table).findByText("auth.login")).toBeInTheDocument();
    expect(queries.at(-1)?.get("cursor")).toBe("c2");
    expect(screen.getByText("End of the audit log.")).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText("Outcome"), "denied");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    const filtered = await screen.findByRole("table", { name: "Audit events, newest first" });
    expect(await within(filtered).findByText(/permission_denied/)).toBeInTheDocument();
    expect(within(filtered).getAllByRole("row")).toHaveLength(2);
  });

  it("explains a 403 for members who may not read the log", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "viewer")])),
      http.get("/api/v1/audit-events", () => failure(403, "permission_denied", "role viewer may not audit:read")),
    );
    const { user } = renderApp(<AuditPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("You do not have permission");
  });
});
