import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { acme, canarying, deployment, fraud, version } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import DeploymentPage from "./page";

const v1 = { ...version(1, "ready", null), signature: { inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }] } };
const v2 = version(2, "ready", null);
const rollouts = [
  {
    id: "00000000-0000-4000-c000-000000000002",
    deployment: "fraud-staging",
    from_version: "fraud-v1",
    to_version: "fraud-v2",
    strategy: {},
    outcome: "in_progress",
    reason: "",
    started_by: "alice@example.com",
    started_at: "2026-12-03T10:04:00Z",
    ended_by: null,
    ended_at: null,
  },
  {
    id: "00000000-0000-4000-c000-000000000001",
    deployment: "fraud-staging",
    from_version: "fraud-v0",
    to_version: "fraud-v1",
    strategy: {},
    outcome: "rolled_back",
    reason: "AnalysisFailed: errorRate 0.2 > 0.01",
    started_by: "alice@example.com",
    started_at: "2026-12-02T10:04:00Z",
    ended_by: null,
    ended_at: "2026-12-02T10:09:00Z",
  },
];

/** The facade of one deployment (`current`), its registry, rollouts and events, as `role`. */
function facade(current: ReturnType<typeof deployment>, role: "admin" | "developer" | "viewer" = "admin") {
  return [
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([role === "admin" ? acme : org("acme", role)])),
    http.get("/api/v1/organizations/:orgId/deployments/:name", ({ params }) =>
      params.name === current.name ? envelope(current) : failure(404, "not_found", "deployment not found"),
    ),
    http.get("/api/v1/organizations/:orgId/deployments/:name/rollouts", () => pageOf(rollouts)),
    http.get("/api/v1/organizations/:orgId/deployments/:name/events", () =>
      envelope([{ type: "Normal", reason: "CanaryStep", message: "weight 50", count: 1, last_timestamp: "2026-12-03T10:05:00Z" }]),
    ),
    http.get("/api/v1/organizations/:orgId/models", () => pageOf([fraud])),
    http.get("/api/v1/organizations/:orgId/models/:modelId/versions", () => pageOf([v2, v1])),
  ];
}

async function open(name: string) {
  location.search = new URLSearchParams({ name });
  const rendered = renderApp(<DeploymentPage />);
  await signInThroughForm(rendered.user);
  await screen.findByRole("heading", { level: 1, name });
  return rendered;
}

describe("Deployment page", () => {
  it("shows phase, versions, traffic, step, analysis, history and events of a canary", async () => {
    server.use(...facade(canarying));
    await open("fraud-staging");
    expect(screen.getByText("CanaryProgressing")).toBeInTheDocument();
    expect(screen.getByText("Step 3 of 5: set weight 50 %")).toBeInTheDocument();
    expect(screen.getByText("http://fraud-staging.mp-acme.svc")).toBeInTheDocument();
    expect(screen.getByRole("img", { name: "Traffic: 50 % to fraud-v1, 50 % to fraud-v2" })).toBeInTheDocument();
    expect(screen.getByText(/refreshes every 5 s/)).toBeInTheDocument();

    const checks = screen.getByRole("table", { name: "Latest measurement of each check" });
    expect(within(checks).getByRole("row", { name: /errorRate/ })).toHaveTextContent("0.40 %1.00 %passed130");
    expect(within(checks).getByRole("row", { name: /latencyP99/ })).toHaveTextContent("87 ms250 ms");

    const history = await screen.findByRole("table", { name: "Rollouts, newest first" });
    expect(within(history).getByRole("row", { name: /rolled back/ })).toHaveTextContent("AnalysisFailed: errorRate 0.2 > 0.01");
    expect(within(history).getByRole("row", { name: /in progress/ })).toHaveTextContent("alice@example.com");
    expect(await within(await screen.findByRole("table", { name: "Kubernetes events" })).findByText("weight 50")).toBeInTheDocument();
  });

  it("shows the rollback record of a rejected candidate", async () => {
    const rolledBack = deployment("fraud-staging", {
      phase: "Ready",
      rollout_state: "RolledBack",
      serving_version: "fraud-v1",
      traffic: { stable: 100, candidate: 0, mirror: 0 },
      rollback: { reason: "AnalysisFailed", message: "errorRate 0.2 > 0.01", at: "2026-12-03T10:09:00Z", rejectedVersion: "fraud-v2" },
    });
    server.use(...facade(rolledBack));
    await open("fraud-staging");
    const notice = screen.getByRole("region", { name: "Last rollback" });
    expect(notice).toHaveTextContent("AnalysisFailed: fraud-v2 was rejected at 3 Dec 2026, 10:09 UTC.");
    expect(notice).toHaveTextContent("errorRate 0.2 > 0.01");
    expect(screen.queryByText(/refreshes every/)).not.toBeInTheDocument();
  });

  it("says a deployment that does not exist is not found", async () => {
    server.use(...facade(canarying));
    location.search = new URLSearchParams({ name: "nope" });
    const { user } = renderApp(<DeploymentPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("deployment not found");
  });
});
