import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import ProjectsPage from "./page";

function project(name: string) {
  return {
    id: `00000000-0000-4000-d000-${name.padStart(12, "0")}`,
    organization_id: org("acme").id,
    name,
    description: `${name} models`,
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-01T10:00:00Z",
    created_by: null,
  };
}

describe("Projects page", () => {
  it("lists projects and lets a developer create one", async () => {
    const projects = [project("fraud")];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "developer")])),
      http.get("/api/v1/organizations/:orgId/projects", () => pageOf(projects)),
      http.post("/api/v1/organizations/:orgId/projects", async ({ request }) => {
        const body = (await request.json()) as { name: string };
        if (body.name === "fraud") return failure(409, "already_exists", "exists");
        projects.push(project(body.name));
        return envelope(project(body.name), 201);
      }),
    );
    const { user } = renderApp(<ProjectsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Projects" });
    expect(within(table).getByText("fraud models")).toBeInTheDocument();

    await user.type(screen.getByLabelText("Project name"), "fraud");
    await user.click(screen.getByRole("button", { name: "Create project" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("A project with this name already exists.");

    await user.clear(screen.getByLabelText("Project name"));
    await user.type(screen.getByLabelText("Project name"), "churn");
    await user.click(screen.getByRole("button", { name: "Create project" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Created churn.");
    expect(await within(table).findByText("churn models")).toBeInTheDocument();
  });

  it("offers a viewer no create form, and says why", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "viewer")])),
      http.get("/api/v1/organizations/:orgId/projects", () => pageOf([])),
    );
    const { user } = renderApp(<ProjectsPage />);
    await signInThroughForm(user);
    expect(await screen.findByText("No projects yet")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create project" })).not.toBeInTheDocument();
    expect(screen.getByText("Viewers can read projects; developers and admins create them.")).toBeInTheDocument();
  });
});
