import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";

import { captureDownloads } from "@/test/downloads";
import { acme, canarying, deployment, fraud, version } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { location, routerPush } from "@/test/router";
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
    http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs", () => envelope(noLogs)),
  ];
}

const noLogs = { bucket: "payloads", prefix: "mp-acme/fraud-staging/", sample_rate: null, windows: [], truncated: false };

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

describe("Deployment actions", () => {
  it("starts a rollout of another Ready version with a preset, then shows its controls", async () => {
    const bodies: unknown[] = [];
    let current = deployment("fraud-staging");
    server.use(
      http.get("/api/v1/organizations/:orgId/deployments/fraud-staging", () => envelope(current)),
      ...facade(current),
      http.post("/api/v1/organizations/:orgId/deployments/:name/rollouts", async ({ request }) => {
        bodies.push(await request.json());
        current = { ...canarying, phase: "Pending" };
        return envelope(current, 201);
      }),
    );
    const { user } = await open("fraud-staging");
    const form = await screen.findByRole("form", { name: "Start a rollout" });
    const picker = await within(form).findByRole("combobox", { name: "Candidate version" });
    await waitFor(() => expect(within(picker).getAllByRole("option").map((o) => o.textContent)).toEqual(["v2 (fraud-v2)"]));
    await user.selectOptions(within(form).getByLabelText("Strategy"), "all-at-once");
    await user.selectOptions(within(form).getByLabelText("Promotion"), "manual");
    await user.click(within(form).getByRole("button", { name: "Start rollout" }));
    const actions = screen.getByRole("region", { name: "Actions" });
    expect(await within(actions).findByRole("status")).toHaveTextContent("Rollout of fraud-v2 started.");
    expect(within(actions).getByRole("heading", { name: "Rollout of fraud-v2" })).toBeInTheDocument();
    expect(within(actions).queryByRole("form", { name: "Start a rollout" })).not.toBeInTheDocument();
    expect(bodies).toEqual([{ version_id: v2.id, preset: "all-at-once", on_failure: "rollback", promotion: "manual" }]);
  });

  it("says when the model's versions, the candidates of a rollout, cannot be read", async () => {
    let fail = true;
    server.use(
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions", () =>
        fail ? failure(503, "cluster_unavailable", "the registry did not answer") : pageOf([v2, v1]),
      ),
      ...facade(deployment("fraud-staging")),
    );
    const { user } = await open("fraud-staging");
    const actions = screen.getByRole("region", { name: "Actions" });
    expect(await within(actions).findByRole("alert")).toHaveTextContent("The server had a problem. Try again in a moment.");
    expect(within(actions).queryByRole("form", { name: "Start a rollout" })).not.toBeInTheDocument();
    fail = false;
    await user.click(within(actions).getByRole("button", { name: "Try again" }));
    expect(await within(actions).findByRole("form", { name: "Start a rollout" })).toBeInTheDocument();
  });

  it("promotes and rolls back a running rollout after confirmation, with the reason, and shows a refusal", async () => {
    const calls: [string, unknown][] = [];
    server.use(
      ...facade(canarying),
      http.post("/api/v1/organizations/:orgId/deployments/:name/:verb", async ({ params, request }) => {
        calls.push([String(params.verb), await request.json()]);
        return params.verb === "pause" ? failure(409, "conflict", "no rollout is in progress") : envelope(canarying);
      }),
    );
    const { user } = await open("fraud-staging");
    const actions = screen.getByRole("region", { name: "Actions" });
    expect(within(actions).queryByRole("form", { name: "Start a rollout" })).not.toBeInTheDocument();
    await user.type(within(actions).getByLabelText("Reason (optional)"), "looks good");
    await user.click(within(actions).getByRole("button", { name: "Promote…" }));
    await user.click(within(actions).getByRole("button", { name: "Promote to the next step" }));
    expect(await within(actions).findByRole("status")).toHaveTextContent("Promoted");
    await user.click(within(actions).getByRole("button", { name: "Roll back…" }));
    await user.click(within(actions).getByRole("button", { name: "Roll back: all traffic to the serving version" }));
    expect(await within(actions).findByText(/Rolled back/)).toBeInTheDocument();
    await user.click(within(actions).getByRole("button", { name: "Pause" }));
    expect(await within(actions).findByRole("alert")).toHaveTextContent("no rollout is in progress");
    expect(calls).toEqual([
      ["promote", { reason: "looks good" }],
      ["rollback", { reason: "looks good" }],
      ["pause", { reason: "looks good" }],
    ]);
  });

  it("lets admins promote to production and shows the facade's refusal in its words", async () => {
    let refuse = false;
    server.use(
      ...facade(deployment("fraud-staging", { serving_version: "fraud-v1", phase: "Ready" })),
      http.post("/api/v1/organizations/:orgId/deployments/:name/promote-to-production", () =>
        refuse
          ? failure(403, "permission_denied", "changing a production deployment needs the organization's admin role")
          : envelope({ action: "created", version: "fraud-v1", deployment: deployment("fraud-production", { environment: "production" }) }),
      ),
    );
    const { user } = await open("fraud-staging");
    const production = screen.getByRole("region", { name: "Actions" });
    await user.click(within(production).getByRole("button", { name: "Promote to production…" }));
    await user.click(within(production).getByRole("button", { name: "Copy to production" }));
    expect(await within(production).findByRole("status")).toHaveTextContent("Created fraud-production serving fraud-v1.");
    expect(within(production).getByRole("link", { name: "Open fraud-production" })).toBeInTheDocument();
    refuse = true;
    await user.click(within(production).getByRole("button", { name: "Promote to production…" }));
    await user.click(within(production).getByRole("button", { name: "Copy to production" }));
    expect(await within(production).findByRole("alert")).toHaveTextContent(
      "Not allowed: changing a production deployment needs the organization's admin role",
    );
  });

  it("shows developers promote-to-production disabled, with the reason", async () => {
    server.use(...facade(deployment("fraud-staging"), "developer"));
    await open("fraud-staging");
    const button = screen.getByRole("button", { name: "Promote to production" });
    expect(button).toBeDisabled();
    expect(button).toHaveAccessibleDescription("Only the organization's admins can promote to production.");
    expect(await screen.findByRole("button", { name: "Start rollout" })).toBeInTheDocument();
  });

  it("offers viewers no change, but lets them try the deployment", async () => {
    server.use(...facade(deployment("fraud-staging"), "viewer"));
    await open("fraud-staging");
    expect(screen.getByText("Viewers can watch deployments but not change them.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Start rollout|Delete|Promote/ })).not.toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Send request" })).toBeInTheDocument();
  });

  it("offers developers no change to a production deployment", async () => {
    server.use(...facade(deployment("fraud-production", { environment: "production" }), "developer"));
    await open("fraud-production");
    expect(screen.getByText("Only the organization's admins can change a production deployment.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Delete/ })).not.toBeInTheDocument();
  });

  it("deletes after confirmation, then lists the deployments", async () => {
    let deleted = false;
    server.use(
      ...facade(deployment("fraud-staging")),
      http.delete("/api/v1/organizations/:orgId/deployments/:name", () => {
        deleted = true;
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { user } = await open("fraud-staging");
    await user.click(screen.getByRole("button", { name: "Delete deployment…" }));
    expect(deleted).toBe(false);
    await user.click(screen.getByRole("button", { name: "Delete fraud-staging" }));
    await waitFor(() => expect(routerPush).toHaveBeenCalledWith("/deployments/"));
    expect(deleted).toBe(true);
  });
});

describe("Try it", () => {
  it("starts from the serving version's signature and shows the answer with its request id", async () => {
    let sent: unknown = null;
    server.use(
      ...facade(deployment("fraud-staging", { serving_version: "fraud-v1" })),
      http.post("/api/v1/organizations/:orgId/deployments/:name/infer", async ({ request }) => {
        sent = await request.json();
        return HttpResponse.json(
          { model_name: "fraud", outputs: [{ name: "y", shape: [1, 1], datatype: "FP32", data: [0.25] }] },
          { headers: { "X-Request-ID": "req-7" } },
        );
      }),
    );
    const { user } = await open("fraud-staging");
    const request = await screen.findByLabelText("Inference request (OIP v2 JSON)");
    await waitFor(() => expect(request).toHaveValue(JSON.stringify({ inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [0, 0, 0] }] }, null, 2)));
    await user.click(screen.getByRole("button", { name: "Send request" }));
    expect(await screen.findByRole("region", { name: "Inference response" })).toHaveTextContent('"data": [ 0.25 ]');
    expect(screen.getByText("req-7")).toBeInTheDocument();
    expect(sent).toEqual({ inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [0, 0, 0] }] });
  });

  it("shows the facade's and the model's errors, and refuses what is not JSON", async () => {
    let answer = failure(503, "deployment_unavailable", "the deployment fraud-staging does not answer");
    server.use(
      ...facade(deployment("fraud-staging")),
      http.post("/api/v1/organizations/:orgId/deployments/:name/infer", () => answer),
    );
    const { user } = await open("fraud-staging");
    const panel = await screen.findByRole("form", { name: "Try an inference request" });
    await user.click(within(panel).getByRole("button", { name: "Send request" }));
    expect(await within(panel).findByRole("alert")).toHaveTextContent("(503: the deployment fraud-staging does not answer)");

    answer = HttpResponse.json({ error: "input x: expected shape [-1, 3], got [1, 4]" }, { status: 400 });
    await user.click(within(panel).getByRole("button", { name: "Send request" }));
    await waitFor(() => expect(within(panel).getByRole("alert")).toHaveTextContent("input x: expected shape [-1, 3], got [1, 4]"));

    const request = within(panel).getByLabelText("Inference request (OIP v2 JSON)");
    await user.clear(request);
    await user.type(request, "not json");
    await user.click(within(panel).getByRole("button", { name: "Send request" }));
    expect(within(panel).getByRole("alert")).toHaveTextContent("The request is not valid JSON");
  });
});

describe("Settings", () => {
  it("lets a developer change scaling and payload logging, sending only what changed, and shows the result", async () => {
    const bodies: unknown[] = [];
    let current: ReturnType<typeof deployment> & { spec: Record<string, unknown> } = deployment("fraud-staging");
    server.use(
      http.get("/api/v1/organizations/:orgId/deployments/fraud-staging", () => envelope(current)),
      ...facade(current, "developer"),
      http.patch("/api/v1/organizations/:orgId/deployments/:name", async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        bodies.push(body);
        current = { ...current, spec: { ...current.spec, scaling: body.scaling, payloadLogging: body.payload_logging } };
        return envelope(current);
      }),
    );
    const { user } = await open("fraud-staging");
    const settings = screen.getByRole("region", { name: "Settings" });
    expect(within(settings).getByText("1 pod per variant")).toBeInTheDocument();
    await user.click(within(settings).getByRole("button", { name: "Edit settings" }));
    const form = within(settings).getByRole("form", { name: "Deployment settings" });
    expect(within(form).getByRole("option", { name: "production" })).toBeDisabled();
    expect(within(form).getByLabelText("Environment")).toHaveAccessibleDescription(
      "Only the organization's admins can move a deployment into production.",
    );
    const pods = within(form).getByLabelText("Pods per variant");
    await user.clear(pods);
    await user.type(pods, "3");
    await user.click(within(form).getByLabelText("Log requests and predictions"));
    const share = within(form).getByLabelText("Share of requests logged (%)");
    await user.clear(share);
    await user.type(share, "20");
    await user.click(within(form).getByRole("button", { name: "Save settings" }));

    expect(await within(settings).findByRole("status")).toHaveTextContent("Saved: scaling, payload logging.");
    expect(within(settings).getByText("3 pods per variant")).toBeInTheDocument();
    expect(within(settings).getByText("20 % of requests, to the organization's bucket")).toBeInTheDocument();
    expect(bodies).toEqual([{ scaling: { replicas: 3 }, payload_logging: { sampleRate: 0.2 } }]);
  });

  it("points at fields the CRD would refuse, and sends nothing", async () => {
    let sent = 0;
    server.use(
      ...facade(deployment("fraud-staging")),
      http.patch("/api/v1/organizations/:orgId/deployments/:name", () => {
        sent += 1;
        return envelope(deployment("fraud-staging"));
      }),
    );
    const { user } = await open("fraud-staging");
    await user.click(screen.getByRole("button", { name: "Edit settings" }));
    const form = screen.getByRole("form", { name: "Deployment settings" });
    await user.click(within(form).getByLabelText("Autoscale on CPU"));
    await user.type(within(form).getByLabelText("Fewest pods"), "5");
    await user.type(within(form).getByLabelText("Most pods"), "2");
    await user.type(within(form).getByLabelText("Target CPU (%)"), "150");
    await user.click(within(form).getByRole("button", { name: "Save settings" }));
    expect(within(form).getByRole("alert")).toHaveTextContent("Some settings need another look");
    expect(within(form).getByLabelText("Fewest pods")).toHaveAccessibleDescription(/At most the maximum\./);
    expect(within(form).getByLabelText("Target CPU (%)")).toBeInvalid();
    expect(within(form).getByLabelText("Target CPU (%)")).toHaveAccessibleDescription(/A whole number from 1 to 100\./);

    await user.click(within(form).getByLabelText("A fixed number of pods"));
    await user.click(within(form).getByRole("button", { name: "Save settings" }));
    expect(within(form).getByRole("status")).toHaveTextContent("Nothing changed");
    expect(sent).toBe(0);
  });

  it("shows the facade's refusal in its words: a rule of the CRD, a concurrent change, production", async () => {
    let answer = HttpResponse.json(
      {
        success: false,
        error: {
          code: "bad_request",
          message: "request is not valid",
          details: [{ loc: ["body", "runtime", "image"], message: "image is not on the allow-list", type: "value_error" }],
        },
        metadata: { timestamp: "2026-12-01T10:00:00Z", request_id: "test" },
      },
      { status: 400 },
    );
    server.use(
      ...facade(deployment("fraud-staging")),
      http.patch("/api/v1/organizations/:orgId/deployments/:name", () => answer),
    );
    const { user } = await open("fraud-staging");
    await user.click(screen.getByRole("button", { name: "Edit settings" }));
    const form = screen.getByRole("form", { name: "Deployment settings" });
    await user.type(within(form).getByLabelText("Serving image"), "evil/runtime:1");
    await user.click(within(form).getByRole("button", { name: "Save settings" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("request is not valid: runtime.image: image is not on the allow-list");

    answer = failure(409, "conflict", "the deployment was changed meanwhile: read it again");
    await user.click(within(form).getByRole("button", { name: "Save settings" }));
    await waitFor(() => expect(within(form).getByRole("alert")).toHaveTextContent("the deployment was changed meanwhile: read it again"));

    answer = failure(403, "permission_denied", "changing a production deployment needs the organization's admin role");
    await user.selectOptions(within(form).getByLabelText("Environment"), "production");
    await user.click(within(form).getByRole("button", { name: "Save settings" }));
    await waitFor(() =>
      expect(within(form).getByRole("alert")).toHaveTextContent("Not allowed: changing a production deployment needs the organization's admin role"),
    );
  });

  it("shows viewers, and developers on production, the settings read-only with the reason", async () => {
    const logged = { spec: { ...deployment("x").spec, scaling: { replicas: 2 }, payloadLogging: { sampleRate: 0.05 } } };
    server.use(...facade(deployment("fraud-staging", logged), "viewer"));
    await open("fraud-staging");
    let settings = screen.getByRole("region", { name: "Settings" });
    expect(within(settings).getByText("2 pods per variant")).toBeInTheDocument();
    expect(within(settings).getByText("5 % of requests, to the organization's bucket")).toBeInTheDocument();
    expect(within(settings).getByText("Viewers can read these settings but not change them.")).toBeInTheDocument();
    expect(within(settings).queryByRole("button", { name: "Edit settings" })).not.toBeInTheDocument();
    cleanup();

    server.use(...facade(deployment("fraud-production", { environment: "production" }), "developer"));
    await open("fraud-production");
    settings = screen.getByRole("region", { name: "Settings" });
    expect(within(settings).getByText("Only the organization's admins can change a production deployment's settings.")).toBeInTheDocument();
    expect(within(settings).queryByRole("button", { name: "Edit settings" })).not.toBeInTheDocument();
  });
});

describe("Payload logs", () => {
  const logging = {
    bucket: "payloads",
    prefix: "mp-acme/fraud-staging/",
    sample_rate: 0.1,
    windows: [
      { variant: "fraud-v2", start: "2026-12-07T09:00:00Z", end: "2026-12-07T10:00:00Z", files: 3, size_bytes: 3 * 1024 },
      { variant: "fraud-v1", start: "2026-12-07T09:00:00Z", end: "2026-12-07T10:00:00Z", files: 12, size_bytes: 2.5 * 1024 * 1024 },
    ],
    truncated: false,
  };
  afterEach(() => vi.restoreAllMocks());

  it("lists the hour windows per variant and downloads a window's sample with the bearer token", async () => {
    const saved = captureDownloads();
    const asked: { query: URLSearchParams; auth: string | null }[] = [];
    server.use(
      http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs", ({ request }) => {
        expect(new URL(request.url).searchParams.get("since")).toMatch(/^\d{4}-\d\d-\d\dT/);
        return envelope(logging);
      }),
      http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs/sample", ({ request }) => {
        asked.push({ query: new URL(request.url).searchParams, auth: request.headers.get("Authorization") });
        return new HttpResponse("request_id,ts\nr1,2026-12-07T09:01:00Z\n", {
          headers: {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="fraud-staging-fraud-v1-20261207T0900-20261207T1000.csv"',
            "X-Modelplane-Matched-Rows": "5230",
            "X-Modelplane-Skipped-Files": "1",
          },
        });
      }),
      ...facade(deployment("fraud-staging", { candidate_version: "fraud-v2" }), "developer"),
    );
    const { user } = await open("fraud-staging");
    const panel = screen.getByRole("region", { name: "Payload logs" });
    expect(await within(panel).findByText(/Logging 10 % of requests to/)).toHaveTextContent("s3://payloads/mp-acme/fraud-staging/");
    const table = within(panel).getByRole("table", { name: "Payload log windows, newest first" });
    expect(within(table).getByRole("row", { name: /fraud-v1/ })).toHaveTextContent("7 Dec 2026, 09:00 UTCfraud-v1122.5 MiB");

    await user.click(within(table).getByRole("button", { name: "Download a sample of fraud-v1 at 7 Dec 2026, 09:00 UTC" }));
    expect(await within(panel).findByRole("status")).toHaveTextContent(
      "Downloaded fraud-staging-fraud-v1-20261207T0900-20261207T1000.csv: 1000 of 5230 rows in the window. 1 unreadable file was skipped.",
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]?.auth).toBe("Bearer access-1");
    expect(Object.fromEntries(asked[0]?.query ?? [])).toEqual({
      variant: "fraud-v1",
      start: "2026-12-07T09:00:00Z",
      end: "2026-12-07T10:00:00Z",
      rows: "1000",
      seed: "0",
      format: "csv",
    });
    expect(saved.map((s) => s.name)).toEqual(["fraud-staging-fraud-v1-20261207T0900-20261207T1000.csv"]);
    expect(await saved[0]?.blob.text()).toContain("r1,2026-12-07T09:01:00Z");
  });

  it("downloads a chosen window as Parquet, checks the options first, and shows the facade's refusal", async () => {
    const saved = captureDownloads();
    const asked: URLSearchParams[] = [];
    let answer: Response = new HttpResponse(new Uint8Array([80, 65, 82, 49]), {
      headers: { "Content-Type": "application/vnd.apache.parquet", "Content-Disposition": 'attachment; filename="s.parquet"', "X-Modelplane-Matched-Rows": "20" },
    });
    server.use(
      http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs", () => envelope(logging)),
      http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs/sample", ({ request }) => {
        asked.push(new URL(request.url).searchParams);
        return answer;
      }),
      ...facade(deployment("fraud-staging"), "admin"),
    );
    const { user } = await open("fraud-staging");
    const form = screen.getByRole("form", { name: "Download a payload sample" });
    await within(form).findByRole("option", { name: "fraud-v2" });
    await user.selectOptions(within(form).getByLabelText("Variant"), "fraud-v2");
    fireEvent.change(within(form).getByLabelText("From (UTC)"), { target: { value: "2026-12-07T09:00" } });
    fireEvent.change(within(form).getByLabelText("To (UTC)"), { target: { value: "2026-12-07T08:00" } });
    await user.clear(within(form).getByLabelText("Rows"));
    await user.type(within(form).getByLabelText("Rows"), "0");
    await user.click(within(form).getByRole("button", { name: "Download sample" }));
    expect(within(form).getByLabelText("To (UTC)")).toHaveAccessibleDescription("After the start.");
    expect(within(form).getByLabelText("Rows")).toHaveAccessibleDescription(/A whole number from 1 to 100000\./);
    expect(asked).toHaveLength(0);

    fireEvent.change(within(form).getByLabelText("To (UTC)"), { target: { value: "2026-12-07T11:30" } });
    await user.clear(within(form).getByLabelText("Rows"));
    await user.type(within(form).getByLabelText("Rows"), "50");
    await user.clear(within(form).getByLabelText("Seed"));
    await user.type(within(form).getByLabelText("Seed"), "7");
    await user.selectOptions(within(form).getByLabelText("Format"), "parquet");
    await user.click(within(form).getByRole("button", { name: "Download sample" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Downloaded s.parquet: 20 of 20 rows in the window.");
    expect(Object.fromEntries(asked[0] ?? [])).toEqual({
      variant: "fraud-v2",
      start: "2026-12-07T09:00:00.000Z",
      end: "2026-12-07T11:30:00.000Z",
      rows: "50",
      seed: "7",
      format: "parquet",
    });
    expect(saved.map((s) => s.name)).toEqual(["s.parquet"]);

    answer = failure(400, "bad_request", "the window holds 312 files (80000000 bytes): more than one sample reads; narrow `start`/`end` or name a `variant`");
    await user.click(within(form).getByRole("button", { name: "Download sample" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("the window holds 312 files");
    expect(saved).toHaveLength(1);
  });

  it("says when the deployment logs nothing, and where the logs would be", async () => {
    server.use(...facade(deployment("fraud-staging")));
    await open("fraud-staging");
    const panel = screen.getByRole("region", { name: "Payload logs" });
    expect(await within(panel).findByText("No payload logs in the last 7 days")).toBeInTheDocument();
    expect(within(panel).getByText(/Turn payload logging on in the settings above/)).toBeInTheDocument();
    expect(within(panel).getByText(/does not log payloads now/)).toHaveTextContent("s3://payloads/mp-acme/fraud-staging/");
  });

  it("tells viewers why they cannot read payloads, without asking the facade", async () => {
    let listed = 0;
    server.use(
      http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs", () => {
        listed += 1;
        return envelope(logging);
      }),
      ...facade(deployment("fraud-staging"), "viewer"),
    );
    await open("fraud-staging");
    const panel = screen.getByRole("region", { name: "Payload logs" });
    expect(panel).toHaveTextContent("only the organization's developers and admins can read them");
    expect(within(panel).queryByRole("form")).not.toBeInTheDocument();
    expect(listed).toBe(0);
  });

  it("shows the facade's refusal to list, in its words", async () => {
    server.use(
      http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs", () =>
        failure(409, "conflict", "deployment 'fraud-staging' has no payload bucket: set spec.payloadLogging.uri, or the facade's PAYLOAD_BUCKET"),
      ),
      ...facade(deployment("fraud-staging"), "developer"),
    );
    await open("fraud-staging");
    const panel = screen.getByRole("region", { name: "Payload logs" });
    expect(await within(panel).findByRole("alert")).toHaveTextContent("has no payload bucket");
  });
});
