import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import type { MonitorCreate } from "@/lib/monitors";
import { degraded, evaluated, monitor, tooFewLabels } from "@/test/monitors";
import { renderApp, signInThroughForm } from "@/test/render";
import { envelope, org, pageOf, server, signInHandlers } from "@/test/server";

import MonitorsPage from "./page";

function facade(role: "admin" | "developer" | "viewer", monitors = [evaluated]) {
  return [
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme", role)])),
    http.get("/api/v1/organizations/:orgId/monitors", () => envelope(monitors)),
    http.get("/api/v1/organizations/:orgId/deployments", () => pageOf([{ name: "fraud-staging" }, { name: "churn" }])),
  ];
}

/** The facade's create route, keeping each body in `sent`; `refuse` may answer instead. */
function creates(sent: MonitorCreate[], refuse: (body: MonitorCreate) => Response | null = () => null) {
  return http.post("/api/v1/organizations/:orgId/monitors", async ({ request }) => {
    const body = (await request.json()) as MonitorCreate;
    sent.push(body);
    return refuse(body) ?? envelope(monitor(body.name, { deployment: body.spec.deploymentRef.name }), 201);
  });
}

describe("Drift monitors page", () => {
  it("lists each monitor's state, deployment and last result", async () => {
    server.use(...facade("developer", [evaluated, monitor("churn-drift", { deployment: "churn" })]));
    const { user } = renderApp(<MonitorsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Drift monitors" });
    const [, first, second] = within(table).getAllByRole("row");
    expect(within(first!).getByRole("link", { name: "fraud-drift" })).toHaveAttribute("href", expect.stringMatching(/^\/monitors\/monitor\/?\?name=fraud-drift$/));
    expect(first).toHaveTextContent("ready Scheduled");
    expect(first).toHaveTextContent("fraud-staging");
    expect(first).toHaveTextContent("50 %");
    expect(first).toHaveTextContent("yes");
    expect(first).toHaveTextContent("4 Dec 2026, 03:00 UTC – 4 Dec 2026, 04:00 UTC");
    expect(first).toHaveTextContent(/–$/);
    expect(second).toHaveTextContent("pending");
    expect(second).toHaveTextContent("not evaluated yet");
  });

  it("says each monitor's live quality in words", async () => {
    server.use(...facade("viewer", [degraded, { ...tooFewLabels, name: "few-labels" }, monitor("ok", { last_quality: { ...degraded.last_quality, degraded: false } })]));
    const { user } = renderApp(<MonitorsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Drift monitors" });
    const cells = within(table)
      .getAllByRole("row")
      .slice(1)
      .map((row) => within(row).getAllByRole("cell").at(-1));
    expect(cells.map((cell) => cell?.textContent)).toEqual(["degraded", "too few labels", "within thresholds"]);
    expect(cells[0]).toHaveClass("text-red-700");
  });

  it("creates a monitor for a chosen deployment and shows the facade's refusal in its words", async () => {
    const sent: MonitorCreate[] = [];
    server.use(
      ...facade("developer", []),
      creates(sent, (body) =>
        body.spec.window?.size === "soon"
          ? HttpResponse.json(
              {
                success: false,
                error: {
                  code: "validation_error",
                  message: "request is not valid",
                  details: [{ loc: ["body", "spec", "window", "size"], message: "String should match pattern" }],
                },
                metadata: { timestamp: "2026-12-01T10:00:00Z", request_id: "test" },
              },
              { status: 422 },
            )
          : null,
      ),
    );
    const { user } = renderApp(<MonitorsPage />);
    await signInThroughForm(user);
    expect(await screen.findByText("No drift monitors yet")).toBeInTheDocument();
    const form = await screen.findByRole("form", { name: "Create a drift monitor" });
    await user.type(within(form).getByLabelText("Monitor name"), "churn-drift");
    await user.selectOptions(within(form).getByLabelText("Deployment"), "churn");
    await user.clear(within(form).getByLabelText("Window size"));
    await user.type(within(form).getByLabelText("Window size"), "soon");
    await user.click(within(form).getByRole("button", { name: "Create monitor" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("request is not valid: spec.window.size: String should match pattern");

    await user.clear(within(form).getByLabelText("Window size"));
    await user.type(within(form).getByLabelText("Window size"), "30m");
    await user.selectOptions(within(form).getByLabelText("Default test"), "ks");
    await user.clear(within(form).getByLabelText("Dataset drift share (%)"));
    await user.type(within(form).getByLabelText("Dataset drift share (%)"), "25");
    await user.click(within(form).getByRole("button", { name: "Create monitor" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Created churn-drift: it watches churn.");
    expect(sent.at(-1)).toEqual({
      name: "churn-drift",
      spec: {
        deploymentRef: { name: "churn" },
        schedule: "*/15 * * * *",
        window: { type: "tumbling", size: "30m" },
        minSamples: 500,
        features: { defaultTest: "ks", alpha: 0.05 },
        correction: "bh-fdr",
        datasetDrift: { driftShare: 0.25 },
        suspend: false,
      },
    });
  });

  it("creates a monitor with live quality and a per-feature test from the collapsed sections", async () => {
    const sent: MonitorCreate[] = [];
    server.use(...facade("developer", []), creates(sent));
    const { user } = renderApp(<MonitorsPage />);
    await signInThroughForm(user);
    const form = await screen.findByRole("form", { name: "Create a drift monitor" });
    await user.type(within(form).getByLabelText("Monitor name"), "churn-quality");
    const quality = within(form).getByText("Live quality from feedback");
    expect(quality.closest("details")).not.toHaveAttribute("open");
    await user.click(quality);
    expect(quality.closest("details")).toHaveAttribute("open");
    expect(within(form).queryByLabelText("Task")).not.toBeInTheDocument();
    await user.click(within(form).getByRole("checkbox", { name: /Score predictions against the ground truth/ }));
    await user.selectOptions(within(form).getByLabelText("Metric 1"), "auc");
    await user.type(within(form).getByLabelText("Minimum of metric 1"), "0.8");
    await user.click(within(form).getByRole("button", { name: "Create monitor" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("Not sent, the facade would refuse it: quality.score: auc and logLoss need a score column");
    expect(sent).toEqual([]);
    await user.type(within(form).getByLabelText("Score column (optional)"), "output.probability.1");
    await user.click(within(form).getByText("Drift tests: alpha, thresholds, per-feature tests"));
    await user.click(within(form).getByRole("button", { name: "Add a feature override" }));
    await user.type(within(form).getByLabelText("Feature of override 1"), "amount");
    await user.selectOptions(within(form).getByLabelText("Test of override 1"), "psi");
    await user.type(within(form).getByLabelText("Threshold of override 1"), "0.25");
    await user.click(within(form).getByRole("button", { name: "Create monitor" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Created churn-quality");
    expect(sent.at(-1)?.spec).toMatchObject({
      window: { type: "tumbling", size: "1h" },
      features: { defaultTest: "auto", alpha: 0.05, overrides: [{ name: "amount", test: "psi", threshold: 0.25 }] },
      quality: { task: "classification", prediction: "output.label.0", score: "output.probability.1", metrics: [{ metric: "auc", min: 0.8 }] },
    });
    expect(sent.at(-1)?.spec.predictionDrift).toBeUndefined();
  });

  it("creates a monitor with its own reference dataset and alert sinks, added and removed", async () => {
    const sent: MonitorCreate[] = [];
    server.use(
      ...facade("admin", []),
      creates(sent),
    );
    const { user } = renderApp(<MonitorsPage />);
    await signInThroughForm(user);
    const form = await screen.findByRole("form", { name: "Create a drift monitor" });
    await user.type(within(form).getByLabelText("Monitor name"), "fraud-drift");
    expect(within(form).queryByLabelText("Dataset URI")).not.toBeInTheDocument();
    expect(within(form).getByText("No alerts: drift and live quality are only reported on the monitor's page.")).toBeInTheDocument();
    await user.click(within(form).getByRole("radio", { name: "A dataset of its own" }));
    await user.type(within(form).getByLabelText("Dataset URI"), "s3://reference/fraud.parquet");
    await user.type(within(form).getByLabelText("Dataset SHA-256"), "a".repeat(64));

    await user.click(within(form).getByRole("button", { name: "Add a webhook" }));
    await user.click(within(form).getByRole("button", { name: "Add an Alertmanager" }));
    await user.click(within(form).getByRole("button", { name: "Add a webhook" }));
    expect(within(form).getAllByRole("listitem").map((item) => item.getAttribute("aria-label"))).toEqual(["Sink 1: webhook", "Sink 2: alertmanager", "Sink 3: webhook"]);
    expect(within(form).getByLabelText("Secret holding the URL of sink 1")).toHaveAccessibleDescription("A Secret in mp-acme, created with kubectl.");
    await user.click(within(form).getByRole("button", { name: "Remove sink 1" }));
    await user.type(within(form).getByLabelText("Alertmanager URL of sink 1"), "http://alertmanager.monitoring:9093");
    await user.selectOptions(within(form).getAllByLabelText("Severity")[0]!, "critical");
    await user.type(within(form).getByLabelText("Secret holding the URL of sink 2"), "fraud-hooks");
    await user.type(within(form).getByLabelText("Signing Secret of sink 2 (optional)"), "fraud-signing");
    await user.click(within(form).getByRole("button", { name: "Create monitor" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Created fraud-drift: it watches fraud-staging.");
    expect(sent.at(-1)?.spec).toMatchObject({
      deploymentRef: { name: "fraud-staging" },
      reference: { uri: "s3://reference/fraud.parquet", sha256: "a".repeat(64), format: "parquet" },
      alerts: [
        { alertmanager: { url: "http://alertmanager.monitoring:9093" }, severity: "critical" },
        { webhook: { urlSecretRef: { name: "fraud-hooks", key: "url" }, signingSecretRef: { name: "fraud-signing", key: "key" } }, severity: "warning" },
      ],
    });
    // The form starts afresh: the stable version's dataset, no sinks.
    expect(within(form).getByRole("radio", { name: "The stable version's reference dataset" })).toBeChecked();
    expect(within(form).queryByLabelText("Dataset URI")).not.toBeInTheDocument();
    expect(within(form).queryAllByRole("listitem")).toHaveLength(0);
  });

  it("offers a viewer no create form, and says why", async () => {
    server.use(...facade("viewer"));
    const { user } = renderApp(<MonitorsPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("table", { name: "Drift monitors" })).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "Create a drift monitor" })).not.toBeInTheDocument();
    expect(screen.getByText("Viewers can read drift monitors; developers and admins create and delete them.")).toBeInTheDocument();
  });
});
