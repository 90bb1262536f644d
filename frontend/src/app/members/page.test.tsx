import { screen, waitFor, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { failure, org, pageOf, server, signInHandlers } from "@/test/server";

import MembersPage from "./page";

const acme = org("acme");
const beta = org("beta", "viewer");

function member(name: string, role: "admin" | "developer" | "viewer") {
  return {
    user_id: `00000000-0000-4000-9000-${name.padStart(12, "0")}`,
    email: `${name}@example.com`,
    display_name: name,
    role,
    created_at: "2026-12-01T10:00:00Z",
  };
}

describe("Members page", () => {
  it("lists the current organization's members with their roles, and follows the switcher", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme, beta])),
      http.get("/api/v1/organizations/:orgId/members", ({ params }) =>
        params.orgId === acme.id
          ? pageOf([member("alice", "admin"), member("bob", "developer")])
          : pageOf([member("carol", "admin"), member("alice", "viewer")]),
      ),
    );
    const { user } = renderApp(<MembersPage />);
    await signInThroughForm(user);

    const table = await screen.findByRole("table", { name: "2 members of ACME" });
    // An admin of ACME: every role can be changed.
    expect(within(table).getByRole("combobox", { name: "Role of bob" })).toHaveValue("developer");

    // Keyboard: focus the switcher and choose the other organization.
    const switcher = screen.getByRole("combobox", { name: "Organization" });
    await user.selectOptions(switcher, "BETA (viewer)");
    const other = await screen.findByRole("table", { name: "2 members of BETA" });
    // A viewer of BETA: roles are shown, not offered, and the page says why.
    expect(within(within(other).getByRole("row", { name: /carol/ })).getByText("admin")).toBeInTheDocument();
    expect(within(other).queryByRole("combobox")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Add member" })).not.toBeInTheDocument();
    expect(screen.getByText("Only admins of BETA can add members or change roles.")).toBeInTheDocument();
  });

  it("lets an admin add a member, change a role and remove a member after confirming", async () => {
    const members = [member("alice", "admin"), member("bob", "developer")];
    const calls: string[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/members", () => pageOf(members)),
      http.post("/api/v1/organizations/:orgId/members", async ({ request }) => {
        const body = (await request.json()) as { email: string; role: "viewer" };
        calls.push(`add ${body.email} ${body.role}`);
        if (body.email === "nobody@example.com") return failure(404, "not_found", "no user with this email");
        const added = { ...member("dave", body.role), email: body.email };
        members.push(added);
        return HttpResponse.json({ success: true, data: added, metadata: { timestamp: "t", request_id: "r" } }, { status: 201 });
      }),
      http.patch("/api/v1/organizations/:orgId/members/:userId", async ({ request, params }) => {
        const body = (await request.json()) as { role: "admin" | "developer" | "viewer" };
        calls.push(`role ${String(params.userId)} ${body.role}`);
        const target = members.find((m) => m.user_id === params.userId)!;
        if (target.display_name === "alice") return failure(409, "conflict", "an organization needs at least one admin");
        target.role = body.role;
        return HttpResponse.json({ success: true, data: target, metadata: { timestamp: "t", request_id: "r" } });
      }),
      http.delete("/api/v1/organizations/:orgId/members/:userId", ({ params }) => {
        calls.push(`remove ${String(params.userId)}`);
        members.splice(members.findIndex((m) => m.user_id === params.userId), 1);
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { user } = renderApp(<MembersPage />);
    await signInThroughForm(user);
    await screen.findByRole("table", { name: "2 members of ACME" });

    await user.type(screen.getByLabelText("Email of a registered user"), "nobody@example.com");
    await user.click(screen.getByRole("button", { name: "Add member" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("No account uses this email: they need to sign up first.");
    await user.clear(screen.getByLabelText("Email of a registered user"));
    await user.type(screen.getByLabelText("Email of a registered user"), "dave@example.com");
    await user.selectOptions(screen.getByLabelText("Role"), "viewer");
    await user.click(screen.getByRole("button", { name: "Add member" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Added dave as viewer.");
    await screen.findByRole("table", { name: "3 members of ACME" });

    await user.selectOptions(screen.getByRole("combobox", { name: "Role of bob" }), "admin");
    await waitFor(() => expect(screen.getByRole("combobox", { name: "Role of bob" })).toHaveValue("admin"));
    await user.selectOptions(screen.getByRole("combobox", { name: "Role of alice" }), "viewer");
    expect(await screen.findByText("An organization needs at least one admin.")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Remove dave…" }));
    expect(calls.some((c) => c.startsWith("remove"))).toBe(false); // nothing until confirmed
    await user.click(screen.getByRole("button", { name: "Yes, remove dave" }));
    await waitFor(() => expect(screen.getByRole("table", { name: "2 members of ACME" })).toBeInTheDocument());
    expect(calls).toEqual([
      "add nobody@example.com developer",
      "add dave@example.com viewer",
      `role ${members[1]!.user_id} admin`,
      `role ${members[0]!.user_id} viewer`,
      `remove ${member("dave", "viewer").user_id}`,
    ]);
  });

  it("explains a 403 kindly", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/members", () => failure(403, "permission_denied", "role viewer may not member:read")),
    );
    const { user } = renderApp(<MembersPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("You do not have permission to do this in this organization.");
  });

  it("says when the facade cannot be reached", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/members", () => HttpResponse.error()),
    );
    const { user } = renderApp(<MembersPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("The server could not be reached.");
  });

  it("points to creating an organization when there is none", async () => {
    server.use(...signInHandlers(), http.get("/api/v1/organizations", () => pageOf([])));
    const { user } = renderApp(<MembersPage />);
    await signInThroughForm(user);
    expect(await screen.findByText("No organization")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Create an organization" })).toHaveAttribute("href", expect.stringMatching(/^\/organizations\/?$/));
  });
});
