import { screen, within } from "@testing-library/react";
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
    const bob = within(table).getByRole("row", { name: /bob/ });
    expect(within(bob).getByText("developer")).toBeInTheDocument();

    // Keyboard: focus the switcher and choose the other organization.
    const switcher = screen.getByRole("combobox", { name: "Organization" });
    await user.selectOptions(switcher, "BETA (viewer)");
    const other = await screen.findByRole("table", { name: "2 members of BETA" });
    expect(within(within(other).getByRole("row", { name: /carol/ })).getByText("admin")).toBeInTheDocument();
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
