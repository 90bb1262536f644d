import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { acme, fraud, model, version } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import ModelsPage from "./page";
import VersionsPage from "./versions/page";

describe("Registering and uploading", () => {
  it("lets a developer register a model", async () => {
    const models = [fraud];
    const bodies: unknown[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "developer")])),
      http.get("/api/v1/organizations/:orgId/models", () => pageOf(models)),
      http.post("/api/v1/organizations/:orgId/models", async ({ request }) => {
        const body = (await request.json()) as { name: string };
        bodies.push(body);
        if (body.name === "fraud") return failure(409, "already_exists", "exists");
        models.push(model(body.name, null));
        return envelope(model(body.name, null), 201);
      }),
    );
    const { user } = renderApp(<ModelsPage />);
    await signInThroughForm(user);
    await screen.findByRole("table", { name: "Models" });
    await user.type(screen.getByLabelText("Model name"), "fraud");
    await user.click(screen.getByRole("button", { name: "Register model" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("A model with this name already exists.");
    await user.clear(screen.getByLabelText("Model name"));
    await user.type(screen.getByLabelText("Model name"), "churn");
    await user.selectOptions(screen.getByLabelText("Task"), "regression");
    await user.click(screen.getByRole("button", { name: "Register model" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Registered churn");
    expect(bodies.at(-1)).toEqual({ name: "churn", task_type: "regression", description: "" });
    expect(await within(screen.getByRole("table", { name: "Models" })).findByRole("link", { name: "churn" })).toBeInTheDocument();
  });

  it("uploads an ONNX file as the next version, with a progress bar, refreshing with a new token on 401", async () => {
    location.search = new URLSearchParams({ model: fraud.id });
    const versions = [version(1, "ready", null)];
    const received: { auth: string | null; file: boolean; metadata: string | null }[] = [];
    server.use(
      ...signInHandlers(),
      http.post("/api/v1/auth/refresh", () =>
        envelope({ access_token: "access-2", refresh_token: "refresh-2", token_type: "bearer", expires_in: 900 }),
      ),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models/:modelId", () => envelope(fraud)),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions", () => pageOf([...versions].reverse())),
      http.post("/api/v1/organizations/:orgId/models/:modelId/versions", async ({ request }) => {
        const auth = request.headers.get("Authorization");
        const form = await request.formData();
        // jsdom's XMLHttpRequest does not carry a File's name and bytes through to MSW, so only
        // the part's presence is checked here.
        received.push({ auth, file: form.has("file"), metadata: form.get("metadata") as string | null });
        if (auth !== "Bearer access-2") return failure(401, "invalid_token", "expired");
        versions.push(version(2, "ready", null));
        return HttpResponse.json({ success: true, data: { ...version(2, "ready", null), state: "pending" }, metadata: {} }, { status: 201 });
      }),
    );
    const { user } = renderApp(<VersionsPage />);
    await signInThroughForm(user);
    await screen.findByRole("heading", { name: "fraud" });

    await user.upload(screen.getByLabelText("ONNX file"), new File(["onnx-bytes"], "model.onnx", { type: "application/octet-stream" }));
    await user.type(screen.getByLabelText("Description"), "retrained");
    await user.click(screen.getByRole("button", { name: "Upload" }));

    expect(await screen.findByRole("status")).toHaveTextContent("Uploaded version 2 (pending)");
    expect(screen.getByRole("progressbar", { name: "Upload progress" })).toHaveAttribute("value", "100");
    expect(received).toEqual([
      { auth: "Bearer access-1", file: true, metadata: '{"description":"retrained"}' },
      { auth: "Bearer access-2", file: true, metadata: '{"description":"retrained"}' },
    ]);
    const list = screen.getByRole("table", { name: "Versions of fraud" });
    expect(await within(list).findByRole("link", { name: "v2" })).toHaveAttribute(
      "href",
      expect.stringContaining(`version=${version(2, "ready", null).id}`),
    );
  });

  it("offers a viewer no upload", async () => {
    location.search = new URLSearchParams({ model: fraud.id });
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "viewer")])),
      http.get("/api/v1/organizations/:orgId/models/:modelId", () => envelope(fraud)),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions", () => pageOf([version(1, "ready", null)])),
    );
    const { user } = renderApp(<VersionsPage />);
    await signInThroughForm(user);
    await screen.findByRole("table", { name: "Versions of fraud" });
    expect(screen.queryByRole("button", { name: "Upload" })).not.toBeInTheDocument();
  });
});
