import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { acme, canarying, deployment } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { pageOf, server, signInHandlers } from "@/test/server";

import DeploymentsPage from "./page";

const production = deployment("fraud-production", { environment: "production", phase: "Ready", reason: "Serving", serving_version: "fraud-v1" });
const churn = deployment("churn-staging", { model: "churn", phase: "Stalled", reason: "ModelVersionNotReady", stable_version: "churn-v3" });

describe("Deployments page", () => {
  it("lists deployments with their phase and filters them by model, environment and phase", async () => {
    const asked: string[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/deployments", ({ request }) => {
        const query = new URL(request.url).searchParams;
        asked.push(query.toString());
        const model = query.get("filter[model]");
        const environment = query.get("filter[environment]");
        const phase = query.get("filter[phase]");
        return pageOf(
          [canarying, churn, production].filter(
            (d) => (!model || d.model === model) && (!environment || d.environment === environment) && (!phase || d.phase === phase),
          ),
        );
      }),
    );
    const { user } = renderApp(<DeploymentsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Deployments" });
    const row = within(table).getByRole("row", { name: /fraud-staging/ });
    expect(within(row).getByRole("link", { name: "fraud-staging" })).toHaveAttribute("href", expect.stringMatching(/^\/deployments\/deployment\/?\?name=fraud-staging$/));
    expect(within(row).getByText("Progressing")).toBeInTheDocument();
    expect(within(row).getByText("fraud-v2")).toBeInTheDocument();
    expect(within(within(table).getByRole("row", { name: /churn-staging/ })).getByText("ModelVersionNotReady")).toBeInTheDocument();
    expect(within(within(table).getByRole("row", { name: /fraud-production/ })).getByText("production")).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText("Environment"), "production");
    await screen.findByText((_, element) => element?.tagName === "TBODY" && element.querySelectorAll("tr").length === 1);
    expect(asked.at(-1)).toContain("filter%5Benvironment%5D=production");

    await user.selectOptions(screen.getByLabelText("Phase"), "Stalled");
    expect(await screen.findByText("No deployment matches these filters")).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText("Environment"), "");
    await user.type(screen.getByLabelText("Model"), "churn");
    expect(await screen.findByRole("link", { name: "churn-staging" })).toBeInTheDocument();
    expect(asked.at(-1)).toContain("filter%5Bmodel%5D=churn");
  });

  it("says how to deploy when there is nothing yet", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/deployments", () => pageOf([])),
    );
    const { user } = renderApp(<DeploymentsPage />);
    await signInThroughForm(user);
    expect(await screen.findByText("No deployments yet")).toBeInTheDocument();
    expect(within(screen.getByRole("main")).getByRole("link", { name: "Models" })).toHaveAttribute("href", expect.stringMatching(/^\/models/));
  });
});
