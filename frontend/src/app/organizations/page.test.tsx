import { screen, waitFor, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import OrganizationsPage from "./page";

describe("Organizations page", () => {
  it("asks a signed-out visitor to sign in, then lists their organizations", async () => {
    server.use(...signInHandlers(), http.get("/api/v1/organizations", () => pageOf([org("acme"), org("beta", "viewer")])));
    const { user } = renderApp(<OrganizationsPage />);
    expect(screen.getByRole("heading", { name: "Sign in to Modelplane" })).toBeInTheDocument();
    await signInThroughForm(user);

    const table = await screen.findByRole("table", { name: "Your organizations" });
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(within(rows[1]!).getByText("ACME")).toBeInTheDocument();
    expect(within(rows[2]!).getByText("viewer")).toBeInTheDocument();
    // The switcher in the header offers both, the first one chosen.
    const switcher = screen.getByRole("combobox", { name: "Organization" });
    expect(switcher).toHaveDisplayValue("ACME (admin)");
  });

  it("shows a skeleton while loading and an empty state when there are none", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", async () => {
        await gate;
        return pageOf([]);
      }),
    );
    const { user } = renderApp(<OrganizationsPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("status", { name: "Loading organizations" })).toBeInTheDocument();
    release();
    expect(await screen.findByText("No organizations yet")).toBeInTheDocument();
    expect(screen.queryByRole("combobox", { name: "Organization" })).not.toBeInTheDocument();
  });

  it("creates an organization, lists it and makes it the current one", async () => {
    const created: unknown[] = [];
    const orgs = [org("acme")];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf(orgs)),
      http.post("/api/v1/organizations", async ({ request }) => {
        const body = (await request.json()) as { slug: string; display_name: string };
        created.push(body);
        const made = { ...org(body.slug), display_name: body.display_name };
        orgs.push(made);
        return envelope(made, 201);
      }),
    );
    const { user } = renderApp(<OrganizationsPage />);
    await signInThroughForm(user);
    await screen.findByRole("table", { name: "Your organizations" });

    await user.type(screen.getByLabelText("Name"), "Fraud team");
    await user.type(screen.getByLabelText("Slug"), "fraud");
    await user.keyboard("{Enter}");

    expect(await screen.findByRole("status")).toHaveTextContent("Created Fraud team.");
    expect(created).toEqual([{ slug: "fraud", display_name: "Fraud team", description: "" }]);
    await waitFor(() => expect(screen.getByRole("combobox", { name: "Organization" })).toHaveDisplayValue("Fraud team (admin)"));
    expect(within(screen.getByRole("table")).getByText("Fraud team")).toBeInTheDocument();
  });

  it("says kindly when the slug is taken", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([])),
      http.post("/api/v1/organizations", () => failure(409, "already_exists", "organization exists")),
    );
    const { user } = renderApp(<OrganizationsPage />);
    await signInThroughForm(user);
    await user.type(await screen.findByLabelText("Name"), "Acme");
    await user.type(screen.getByLabelText("Slug"), "acme");
    await user.click(screen.getByRole("button", { name: "Create organization" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("An organization with this slug already exists.");
  });

  it("shows an error with a retry when the list fails", async () => {
    let calls = 0;
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => (++calls === 1 ? failure(503, "database_unavailable", "down") : pageOf([org("acme")]))),
    );
    const { user } = renderApp(<OrganizationsPage />);
    await signInThroughForm(user);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The server had a problem. Try again in a moment.");
    await user.click(within(alert).getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("table", { name: "Your organizations" })).toBeInTheDocument();
  });
});
