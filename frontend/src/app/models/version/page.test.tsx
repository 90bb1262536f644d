import { screen, waitFor, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { acme, deployment, fraud, version } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { location, routerPush } from "@/test/router";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import VersionPage from "./page";

const detail = {
  ...version(1, "ready", null),
  mlflow_run_id: "run-42",
  signature: {
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "score", datatype: "FP32", shape: [-1, 1] }],
  },
  features: [
    { name: "amount", type: "numerical", input: "input", index: 0 },
    { name: "country", type: "categorical", input: "input", index: 1 },
  ],
  used_by: ["fraud-api"],
  events: [{ type: "Normal", reason: "Verified", message: "digest and signature match", count: 1, last_timestamp: "2026-12-01T11:01:00Z" }],
};

describe("Version page", () => {
  it("shows digest, provenance, signature, feature schema, conditions and events", async () => {
    location.search = new URLSearchParams({ model: fraud.id, version: detail.id });
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions/:versionId", ({ params }) =>
        params.versionId === detail.id ? envelope(detail) : envelope(null, 404),
      ),
    );
    const { user } = renderApp(<VersionPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { name: "Version 1" })).toBeInTheDocument();
    expect(screen.getByText("1".repeat(64))).toBeInTheDocument();
    expect(screen.getByText("run-42")).toBeInTheDocument();
    expect(screen.getByText("fraud-api")).toBeInTheDocument();

    const inputs = screen.getByRole("table", { name: "Inputs" });
    expect(within(inputs).getByRole("row", { name: /input/ })).toHaveTextContent("FP32[any, 4]");
    expect(within(screen.getByRole("table", { name: "Outputs" })).getByText("score")).toBeInTheDocument();
    const schema = screen.getByRole("table", { name: "Features" });
    expect(within(schema).getByRole("row", { name: /country/ })).toHaveTextContent("categorical");
    expect(within(screen.getByRole("table", { name: "Conditions" })).getByText("DigestMatches")).toBeInTheDocument();
    expect(within(screen.getByRole("table", { name: "Kubernetes events" })).getByText("digest and signature match")).toBeInTheDocument();
  });
});

describe("Deploy from a version", () => {
  const ready = { ...version(1, "ready", null), events: [] };

  it("deploys a Ready version to staging with the replicas given, then opens the deployment", async () => {
    location.search = new URLSearchParams({ model: fraud.id, version: ready.id });
    const bodies: unknown[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "developer")])),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions/:versionId", () => envelope(ready)),
      http.post("/api/v1/organizations/:orgId/deployments", async ({ request }) => {
        bodies.push(await request.json());
        return envelope(deployment("fraud-staging"), 201);
      }),
    );
    const { user } = renderApp(<VersionPage />);
    await signInThroughForm(user);
    const deploy = await screen.findByRole("region", { name: "Deploy this version" });
    expect(within(deploy).getByRole("option", { name: "production (admins only)" })).toBeDisabled();
    await user.type(within(deploy).getByLabelText("Replicas (optional)"), "2");
    await user.click(within(deploy).getByRole("button", { name: "Deploy" }));
    await waitFor(() => expect(routerPush).toHaveBeenCalledWith("/deployments/deployment/?name=fraud-staging"));
    expect(bodies).toEqual([{ version_id: ready.id, environment: "staging", scaling: { replicas: 2 } }]);
  });

  it("offers no deploy for a version that is not Ready, and says why", async () => {
    const stalled = { ...version(1, "stalled", "DigestMismatch"), events: [] };
    location.search = new URLSearchParams({ model: fraud.id, version: stalled.id });
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions/:versionId", () => envelope(stalled)),
    );
    const { user } = renderApp(<VersionPage />);
    await signInThroughForm(user);
    const button = await screen.findByRole("button", { name: "Deploy" });
    expect(button).toBeDisabled();
    expect(button).toHaveAccessibleDescription("Only a Ready version can be deployed; this one is stalled.");
  });

  it("shows the facade's refusal, and where to go when the model is deployed there already", async () => {
    location.search = new URLSearchParams({ model: fraud.id, version: ready.id });
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions/:versionId", () => envelope(ready)),
      http.post("/api/v1/organizations/:orgId/deployments", () => failure(409, "already_exists", "deployment fraud-staging already exists")),
    );
    const { user } = renderApp(<VersionPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Deploy" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("deployment fraud-staging already exists");
    const deploy = screen.getByRole("region", { name: "Deploy this version" });
    expect(within(deploy).getByText(/start a rollout of it/)).toContainElement(within(deploy).getByRole("link", { name: "Deployments" }));
    expect(routerPush).not.toHaveBeenCalled();
  });
});
