import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { acme, fraud, version } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { envelope, pageOf, server, signInHandlers } from "@/test/server";

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
