import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { envelope, org, pageOf, server, signInHandlers } from "@/test/server";

import ModelsPage from "./page";
import VersionsPage from "./versions/page";

const acme = org("acme");

function model(name: string, latest: number | null) {
  return {
    id: `00000000-0000-4000-a000-${name.padStart(12, "0")}`,
    organization_id: acme.id,
    project_id: null,
    name,
    description: "",
    task_type: "classification",
    tags: {},
    latest_version: latest,
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-02T10:00:00Z",
    created_by: null,
  };
}

const fraud = model("fraud", 2);

function version(n: number, state: "ready" | "stalled", reason: string | null) {
  return {
    id: `00000000-0000-4000-b000-00000000000${n}`,
    organization_id: acme.id,
    model_id: fraud.id,
    version: n,
    resource_name: `fraud-v${n}`,
    namespace: "mp-acme",
    description: "",
    source: "upload",
    mlflow_run_id: null,
    mlflow_version: null,
    mlflow_error: null,
    artifact_uri: `s3://models/mp-acme/fraud/${n}/model.onnx`,
    sha256: `${n}`.repeat(64),
    size_bytes: 2048,
    signature: {},
    features: [],
    reference_dataset: null,
    state,
    reason,
    message: null,
    conditions: [
      { type: "Ready", status: state === "ready" ? "True" : "False", reason: reason ?? "Verified", message: null },
      { type: "ArtifactVerified", status: state === "ready" ? "True" : "False", reason: reason ?? "DigestMatches", message: "sha256 checked" },
    ],
    used_by: [],
    created_at: "2026-12-01T11:00:00Z",
    created_by: null,
  };
}

describe("Models pages", () => {
  it("lists models and searches them by name", async () => {
    const asked: (string | null)[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models", ({ request }) => {
        const name = new URL(request.url).searchParams.get("filter[name]");
        asked.push(name);
        return pageOf([fraud, model("churn", null)].filter((m) => !name || m.name.includes(name)));
      }),
    );
    const { user } = renderApp(<ModelsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Models" });
    expect(within(table).getByRole("link", { name: "fraud" })).toHaveAttribute("href", expect.stringContaining(`model=${fraud.id}`));
    expect(within(table).getByRole("row", { name: /churn/ })).toHaveTextContent("none");

    await user.type(screen.getByLabelText("Search models"), "fra");
    await screen.findByText((_, element) => element?.tagName === "TBODY" && element.querySelectorAll("tr").length === 1);
    expect(asked).toContain("fra");
    await user.clear(screen.getByLabelText("Search models"));
    await user.type(screen.getByLabelText("Search models"), "zzz");
    expect(await screen.findByText('No model\'s name contains "zzz"')).toBeInTheDocument();
  });

  it("shows a model's versions with digest, state and conditions", async () => {
    location.search = new URLSearchParams({ model: fraud.id });
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models/:modelId", () => envelope(fraud)),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions", () =>
        pageOf([version(2, "stalled", "DigestMismatch"), version(1, "ready", null)]),
      ),
    );
    const { user } = renderApp(<VersionsPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { name: "fraud" })).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Versions of fraud" });
    const v2 = within(table).getByRole("row", { name: /v2/ });
    expect(within(v2).getByText("stalled")).toBeInTheDocument();
    expect(within(v2).getByText("DigestMismatch")).toBeInTheDocument();
    expect(within(v2).getByText("2".repeat(64))).toBeInTheDocument();
    await user.click(within(v2).getByText("2 conditions"));
    expect(within(v2).getByText("sha256 checked")).toBeVisible();
    expect(within(within(table).getByRole("row", { name: /v1/ })).getByText("ready")).toBeInTheDocument();
  });
});
