import { cleanup, screen, waitFor, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { degraded, evaluated, monitor, pausedCandidate, tooFewLabels, unreadCandidate } from "@/test/monitors";
import { renderApp, signInThroughForm } from "@/test/render";
import { location, routerPush } from "@/test/router";
import type { MonitorSpec } from "@/lib/monitors";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import MonitorPage from "./page";

function facade(current: ReturnType<typeof monitor>, role: "admin" | "developer" | "viewer" = "developer") {
  location.search = new URLSearchParams({ name: current.name });
  return [
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme", role)])),
    http.get("/api/v1/organizations/:orgId/monitors/:name", ({ params }) =>
      params.name === current.name ? envelope(current) : failure(404, "not_found", "monitor not found"),
    ),
  ];
}

describe("Drift monitor page", () => {
  it("shows the conditions in words, the last evaluation, its history, the last failure and the alerts", async () => {
    server.use(...facade(evaluated));
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { name: "Drift monitor fraud-drift" })).toBeInTheDocument();
    expect(screen.getByText("Scheduled: the drift job runs on its schedule (Scheduled): runs */15 * * * *.")).toBeInTheDocument();
    expect(screen.getByText("Drift detected in the last window (DatasetDrift): 2 of 4 features drifted.")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("DataUnavailable at 4 Dec 2026, 04:15 UTC: the run could not evaluate.");
    expect(screen.getByRole("alert")).toHaveTextContent("the payload log bucket did not answer");

    const features = screen.getByRole("table", { name: "Input features" });
    const [, amount, country] = within(features).getAllByRole("row");
    expect(amount).toHaveTextContent(/amountks0\.311\.0e-5p < 0\.05yes812/);
    expect(amount).toHaveClass("bg-red-50");
    expect(country).toHaveTextContent(/countrypsi0\.05–statistic ≥ 0\.2no800/);
    expect(country).not.toHaveClass("bg-red-50");
    expect(screen.getByText(/50 % of the features drifted .* the dataset drifted\./)).toBeInTheDocument();
    expect(within(screen.getByRole("table", { name: "Model outputs" })).getByText("score")).toBeInTheDocument();

    expect(screen.getByRole("img", { name: /Share of drifted features \(stable\)/ })).toBeInTheDocument();
    const recent = within(screen.getByRole("table", { name: "Recent evaluations, newest first" })).getAllByRole("row");
    expect(recent.map((row) => row.textContent)).toEqual([
      "Window endModel versionRoleSamplesDrifted shareDrifted",
      "4 Dec 2026, 04:00 UTCfraud-v2stable81250 %yes",
      "4 Dec 2026, 04:00 UTCfraud-v3candidate9575 %yes",
      "4 Dec 2026, 03:00 UTCfraud-v2stable79025 %no",
      "4 Dec 2026, 02:00 UTCfraud-v1stable12–too few samples",
    ]);
    expect(screen.getByText("Reference data").nextElementSibling).toHaveTextContent("s3://reference/fraud.parquet (parquet, sha256 abababababab…)");
    expect(within(screen.getByRole("list", { name: "Alert sinks" })).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "#0 webhook, URL in Secret fraud-hooks, key url; signed with Secret fraud-signing, key key (critical)",
      "#1 Alertmanager at http://alertmanager.monitoring:9093 (warning)",
    ]);
    const alerts = within(screen.getByRole("table", { name: "Alert deliveries, one per sink and alert" })).getAllByRole("row");
    expect(alerts[1]).toHaveTextContent("#0 webhookdrift firingfailedHTTPError: 503 from the receiver3");
    expect(alerts[2]).toHaveTextContent("#1 alertmanagerdrift firingdeliveredAccepted1");
    expect(alerts[3]).toHaveTextContent("#1 alertmanagerquality resolveddeliveredAccepted1");
  });

  it("says what a monitor the operator has not seen yet is waiting for", async () => {
    server.use(...facade(monitor("fresh"), "viewer"));
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    expect(await screen.findByText(/the operator has not reconciled it yet/)).toBeInTheDocument();
    expect(screen.getByText("No conditions reported yet")).toBeInTheDocument();
    expect(screen.getByText("Not evaluated yet")).toBeInTheDocument();
    expect(screen.getByText("No evaluations yet")).toBeInTheDocument();
    expect(screen.getByText("No alerts sent")).toBeInTheDocument();
    expect(screen.getByText("No alert sinks: drift and live quality are reported on this page only.")).toBeInTheDocument();
    expect(screen.getByText("Reference data").nextElementSibling).toHaveTextContent("the stable version's reference dataset");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Delete/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Edit/ })).not.toBeInTheDocument();
    expect(screen.getByText("Viewers can read drift monitors; developers and admins edit and delete them.")).toBeInTheDocument();
  });

  it("deletes after a confirmation and returns to the list", async () => {
    let deleted = "";
    server.use(
      ...facade(monitor("fresh")),
      http.delete("/api/v1/organizations/:orgId/monitors/:name", ({ params }) => {
        deleted = String(params.name);
        return new Response(null, { status: 204 });
      }),
      http.get("/api/v1/organizations/:orgId/monitors", () => envelope([])),
    );
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Delete monitor…" }));
    await user.click(screen.getByRole("button", { name: "Delete fresh" }));
    await waitFor(() => expect(routerPush).toHaveBeenCalledWith("/monitors/"));
    expect(deleted).toBe("fresh");
  });

  it("shows the facade's 404 for a monitor that does not exist", async () => {
    server.use(...facade(monitor("fresh")));
    location.search = new URLSearchParams({ name: "gone" });
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("monitor not found");
  });

  async function open(current: ReturnType<typeof monitor>) {
    server.use(...facade(current));
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { name: `Drift monitor ${current.name}` })).toBeInTheDocument();
  }

  it("shows a degraded stable's metrics against their thresholds, its window and counts, and the condition", async () => {
    await open(degraded);
    const live = screen.getByRole("region", { name: "Live quality" });
    expect(within(live).getByText(/a metric of fraud-v2 is outside its thresholds/)).toHaveTextContent("Degraded: a metric of fraud-v2 is outside its thresholds.");
    const [, accuracy, auc, f1] = within(within(live).getByRole("table", { name: "Quality metrics" })).getAllByRole("row");
    expect(accuracy).toHaveTextContent(/^accuracy0\.87≥ 0\.9failed812$/);
    expect(accuracy).toHaveClass("bg-red-50");
    expect(auc).toHaveTextContent(/^auc0\.93≥ 0\.8passed790$/);
    expect(auc).not.toHaveClass("bg-red-50");
    expect(f1).toHaveTextContent(/^f10\.71noneno threshold812$/);
    expect(live).toHaveTextContent("Scored window4 Dec 2026, 03:00 UTC – 4 Dec 2026, 04:00 UTC");
    expect(live).toHaveTextContent("Labels observed until4 Dec 2026, 04:15 UTC");
    expect(live).toHaveTextContent("Labelled rows812 of 5120 predictions");
    expect(live).toHaveTextContent("Ambiguous rows3 — labelled requests with several rows in the window");
    expect(live).toHaveTextContent("Unmatched feedback37 — feedback observed in the window that matched no prediction of this version");
    const condition = screen.getByText("Live quality below its thresholds (BelowThreshold): fraud-v2: accuracy 0.87 < min 0.9 (812 labelled).");
    expect(condition).toHaveClass("text-red-800");
    expect(screen.queryByRole("region", { name: "Candidate vs stable" })).not.toBeInTheDocument();
  });

  it("says how many labels a window with too few had against minLabelledRows, and shows no metric", async () => {
    await open(tooFewLabels);
    const live = screen.getByRole("region", { name: "Live quality" });
    expect(live).toHaveTextContent("Too few labels (37 of 200 minLabelledRows): no metric was computed for fraud-v2 and nothing was decided.");
    expect(within(live).queryByRole("table")).not.toBeInTheDocument();
    expect(
      screen.getByText("Too few labels in the last scored window to judge live quality (TooFewLabels): 37 labelled predictions of fraud-v2 in the last scored window: too few to decide."),
    ).not.toHaveClass("text-red-800");
  });

  it("points a monitor without a quality section to the docs, and one not scored yet says so", async () => {
    await open(evaluated);
    const live = screen.getByRole("region", { name: "Live quality" });
    expect(live).toHaveTextContent("No quality section");
    expect(live).toHaveTextContent("Add a quality section to the monitor's spec to score predictions against ground truth — see “Live quality” in docs/drift.md.");
    cleanup();
    await open(monitor("fresh-quality", { spec: { ...evaluated.spec, quality: { task: "regression", labelDelay: "6h" } } }));
    expect(screen.getByRole("region", { name: "Live quality" })).toHaveTextContent(
      "Not scored yetA run scores a window's predictions against the ground truth sent to the feedback endpoint, 6h after the window ends.",
    );
  });

  it("shows a candidate worse than the stable beside it: drift and quality, the worse metric marked in words", async () => {
    await open(pausedCandidate);
    const side = screen.getByRole("region", { name: "Candidate vs stable" });
    expect(side).toHaveTextContent("Candidate fraud-v3 is being rolled out");
    expect(side).toHaveTextContent("The candidate is worse than the stable on mae.");
    const drift = within(within(side).getByRole("table", { name: "Drift, candidate beside stable" })).getAllByRole("row");
    expect(drift.map((row) => row.textContent)).toEqual([
      "MeasureStable fraud-v2Candidate fraud-v3",
      "Samples812260",
      "Drifted share50 %100 %",
      "Dataset driftedyesyes",
      "Drifted featuresamountamount, country",
    ]);
    expect(side).toHaveTextContent("Stable fraud-v2: 812 labelled of 5120 predictions; candidate fraud-v3: 240 labelled of 1300 predictions.");
    const [header, mae, rmse] = within(within(side).getByRole("table", { name: "Live quality, candidate beside stable" })).getAllByRole("row");
    expect(header).toHaveTextContent("MetricThresholdStable fraud-v2Candidate fraud-v3Candidate vs stable");
    expect(mae).toHaveTextContent(/^mae≤ 0\.20\.03 \(passed\)0\.51 \(failed\)fails its threshold$/);
    expect(mae).toHaveClass("bg-red-50");
    expect(rmse).toHaveTextContent(/^rmse≤ 0\.30\.05 \(passed\)0\.04 \(passed\)better$/);
    expect(rmse).not.toHaveClass("bg-red-50");
  });

  it("says the monitor paused the rollout, why, and links to the deployment to resume it", async () => {
    await open(pausedCandidate);
    const conditions = screen.getByRole("region", { name: "Conditions" });
    const paused = within(conditions).getByText(/^Rollout paused by this monitor/);
    expect(paused).toHaveTextContent(
      "Rollout paused by this monitor (QualityDegraded): paused the rollout of fraud-v3 on ModelDeployment fraud-staging: live quality mae 0.51 > max 0.2 in the window ending 2026-12-04T04:00:00Z; resuming is a person's decision",
    );
    expect(paused).toHaveClass("text-red-800");
    expect(within(paused).getByRole("link", { name: "Open fraud-staging to resume or roll back" })).toHaveAttribute(
      "href",
      expect.stringMatching(/^\/deployments\/deployment\/?\?name=fraud-staging$/),
    );
    expect(within(conditions).getByText("Live quality within its thresholds (WithinThresholds): fraud-v2: every metric within its thresholds (812 labelled).")).not.toHaveClass(
      "text-red-800",
    );
  });

  it("says why a candidate whose logs could not be read was not evaluated", async () => {
    await open(unreadCandidate);
    const side = screen.getByRole("region", { name: "Candidate vs stable" });
    expect(side).toHaveTextContent("The candidate could not be evaluated: no payload logs of fraud-v3 in the window. The stable's evaluation stands regardless.");
    expect(within(side).getByRole("row", { name: /Dataset drifted/ })).toHaveTextContent("Dataset driftedyesnot evaluated");
    expect(side).toHaveTextContent("candidate fraud-v3: no scored window.");
    expect(side).not.toHaveTextContent("worse than the stable");
    const conditions = screen.getByRole("region", { name: "Conditions" });
    expect(within(conditions).getByText(/^No rollout paused by this monitor \(NothingPaused\)/)).not.toHaveClass("text-red-800");
    expect(within(conditions).queryByRole("link")).not.toBeInTheDocument();
  });

  /** Every part of a spec the edit form does not show, beside the explicit reference and two sinks. */
  const fullSpec = {
    ...pausedCandidate.spec,
    window: { type: "sliding", size: "1h" },
    minSamples: 200,
    features: { defaultTest: "ks", alpha: 0.01, thresholds: { psi: 0.3 }, overrides: [{ name: "amount", test: "wasserstein", threshold: 0.2 }] },
    correction: "bonferroni",
    datasetDrift: { driftShare: 0.3 },
    predictionDrift: { enabled: true, test: "psi" },
    suspend: false,
  };

  it("edits the monitor from its spec, shows the facade's refusal in its words, and keeps what the form does not show", async () => {
    let current = monitor("fraud-quality", { ...pausedCandidate, spec: fullSpec });
    const sent: MonitorSpec[] = [];
    let reads = 0;
    server.use(
      // Ahead of facade()'s, which answers the monitor as it was.
      http.get("/api/v1/organizations/:orgId/monitors/:name", () => {
        reads += 1;
        return envelope(current);
      }),
      ...facade(current),
      http.get("/api/v1/organizations/:orgId/deployments", () => pageOf([{ name: "fraud-staging" }, { name: "churn" }])),
      http.put("/api/v1/organizations/:orgId/monitors/:name", async ({ request }) => {
        const { spec } = (await request.json()) as { spec: MonitorSpec };
        sent.push(spec);
        if (spec.schedule === "hourly")
          return HttpResponse.json(
            {
              success: false,
              error: { code: "validation_error", message: "request is not valid", details: [{ loc: ["body", "spec", "schedule"], message: "not a cron expression" }] },
              metadata: { timestamp: "2026-12-01T10:00:00Z", request_id: "test" },
            },
            { status: 422 },
          );
        current = { ...current, spec };
        return envelope(current);
      }),
    );
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Edit monitor" }));
    const form = await screen.findByRole("form", { name: "Edit drift monitor fraud-quality" });
    expect(within(form).getByLabelText("Deployment")).toHaveValue("fraud-staging");
    expect(within(form).getByLabelText("Schedule")).toHaveValue("*/15 * * * *");
    expect(within(form).getByLabelText("Minimum samples")).toHaveValue(200);
    expect(within(form).getByLabelText("Default test")).toHaveValue("ks");
    expect(within(form).getByLabelText("Dataset drift share (%)")).toHaveValue(30);
    expect(within(form).getByRole("radio", { name: "A dataset of its own" })).toBeChecked();
    expect(within(form).getByLabelText("Dataset URI")).toHaveValue("s3://reference/fraud.parquet");
    expect(within(form).getByLabelText("Secret holding the URL of sink 1")).toHaveValue("fraud-hooks");
    expect(within(form).getByLabelText("Signing Secret of sink 1 (optional)")).toHaveValue("fraud-signing");
    expect(within(form).getByLabelText("Alertmanager URL of sink 2")).toHaveValue("http://alertmanager.monitoring:9093");
    expect(within(form).getAllByLabelText("Severity").map((select) => (select as HTMLSelectElement).value)).toEqual(["critical", "warning"]);

    await user.clear(within(form).getByLabelText("Schedule"));
    await user.type(within(form).getByLabelText("Schedule"), "hourly");
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("request is not valid: spec.schedule: not a cron expression");

    await user.clear(within(form).getByLabelText("Schedule"));
    await user.type(within(form).getByLabelText("Schedule"), "0 * * * *");
    const before = reads;
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Saved: the operator applies the new spec; the results so far stay.");
    expect(screen.queryByRole("form", { name: "Edit drift monitor fraud-quality" })).not.toBeInTheDocument();
    // The whole spec went back, only the schedule changed: quality, actions, prediction drift,
    // per-feature tests, the sliding window and the sinks are all still there.
    expect(sent.at(-1)).toEqual({ ...fullSpec, schedule: "0 * * * *" });
    expect(screen.getByText("Schedule").nextElementSibling).toHaveTextContent("0 * * * *");
    await waitFor(() => expect(reads).toBeGreaterThan(before));
  });

  it("edits the optional sections: a changed value reaches the PUT, the untouched ones are kept, a rule the facade would refuse is named first", async () => {
    const sent: MonitorSpec[] = [];
    const current = monitor("fraud-quality", { ...pausedCandidate, spec: fullSpec });
    server.use(
      ...facade(current),
      http.get("/api/v1/organizations/:orgId/deployments", () => pageOf([{ name: "fraud-staging" }])),
      http.put("/api/v1/organizations/:orgId/monitors/:name", async ({ request }) => {
        const { spec } = (await request.json()) as { spec: MonitorSpec };
        sent.push(spec);
        return envelope({ ...current, spec });
      }),
    );
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Edit monitor" }));
    const form = await screen.findByRole("form", { name: "Edit drift monitor fraud-quality" });
    // Sections the spec uses start open, with its values.
    const qualitySection = within(form).getByText("Live quality from feedback").closest("details");
    expect(qualitySection).toHaveAttribute("open");
    expect(within(form).getByRole("checkbox", { name: /Score predictions against the ground truth/ })).toBeChecked();
    expect(within(form).getByLabelText("Task")).toHaveValue("regression");
    expect(within(form).getByLabelText("Maximum of metric 1")).toHaveValue(0.2);
    expect(within(form).getByLabelText("Window type")).toHaveValue("sliding");
    expect(within(form).getByLabelText("Alpha")).toHaveValue(0.01);
    expect(within(form).getByLabelText("Feature of override 1")).toHaveValue("amount");
    expect(within(form).getByRole("checkbox", { name: "Test the model's outputs too" })).toBeChecked();

    // A score column on a regression: refused here in the facade's words, nothing sent.
    await user.type(within(form).getByLabelText("Score column (optional)"), "output.probability.1");
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("quality.task: score, positiveLabel and average apply only to classification");
    expect(sent).toEqual([]);

    await user.clear(within(form).getByLabelText("Score column (optional)"));
    await user.clear(within(form).getByLabelText("Maximum of metric 1"));
    await user.type(within(form).getByLabelText("Maximum of metric 1"), "0.25");
    await user.click(within(form).getByRole("button", { name: "Add a metric" }));
    await user.selectOptions(within(form).getByLabelText("Metric 3"), "mae");
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("quality.metrics: each metric at most once");
    await user.click(within(form).getByRole("button", { name: "Remove metric 3" }));
    await user.selectOptions(within(form).getByLabelText("Window type"), "tumbling");
    await user.click(within(form).getByRole("checkbox", { name: "Test the model's outputs too" }));
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Saved");
    expect(sent).toEqual([
      {
        ...fullSpec,
        window: { type: "tumbling", size: "1h" },
        predictionDrift: { enabled: false, test: "psi" },
        quality: { ...pausedCandidate.spec.quality!, metrics: [{ metric: "mae", max: 0.25 }, { metric: "rmse", max: 0.3 }] },
      },
    ]);
  });

  it("sends the generation it read, says kindly when someone changed the monitor since, and reloads their version", async () => {
    let current = monitor("fraud-drift", { generation: 3 });
    const sent: { spec: MonitorSpec; generation?: number | null }[] = [];
    server.use(
      http.get("/api/v1/organizations/:orgId/monitors/:name", () => envelope(current)),
      ...facade(current),
      http.get("/api/v1/organizations/:orgId/deployments", () => pageOf([{ name: "fraud-staging" }])),
      http.put("/api/v1/organizations/:orgId/monitors/:name", async ({ request }) => {
        const body = (await request.json()) as { spec: MonitorSpec; generation?: number | null };
        sent.push(body);
        if (body.generation !== current.generation)
          return HttpResponse.json(
            {
              success: false,
              error: {
                code: "conflict",
                message: "monitor 'fraud-drift' was changed by someone else since it was read: reload it and make the change again",
                details: { reason: "MonitorChanged", read_generation: body.generation, current_generation: current.generation },
              },
              metadata: { timestamp: "2026-12-01T10:00:00Z", request_id: "test" },
            },
            { status: 409 },
          );
        current = { ...current, spec: body.spec, generation: (current.generation ?? 0) + 1 };
        return envelope(current);
      }),
    );
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Edit monitor" }));
    const form = await screen.findByRole("form", { name: "Edit drift monitor fraud-drift" });
    // Someone else changes the schedule while the form is open.
    current = { ...current, spec: { ...current.spec, schedule: "*/5 * * * *" }, generation: 4 };
    await user.clear(within(form).getByLabelText("Window size"));
    await user.type(within(form).getByLabelText("Window size"), "30m");
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    const alert = await within(form).findByRole("alert");
    expect(alert).toHaveTextContent("This monitor was changed by someone else while you were editing it, so your changes were not saved.");
    expect(sent.map((b) => b.generation)).toEqual([3]);
    expect(current.spec.schedule).toBe("*/5 * * * *");

    await user.click(within(alert).getByRole("button", { name: "Reload the monitor" }));
    await waitFor(() => expect(within(form).getByLabelText("Schedule")).toHaveValue("*/5 * * * *"));
    expect(within(form).queryByRole("alert")).not.toBeInTheDocument();
    expect(within(form).getByLabelText("Window size")).toHaveValue("1h");
    await user.clear(within(form).getByLabelText("Window size"));
    await user.type(within(form).getByLabelText("Window size"), "30m");
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Saved");
    expect(sent.at(-1)?.generation).toBe(4);
    expect(sent.at(-1)?.spec).toMatchObject({ schedule: "*/5 * * * *", window: { size: "30m" } });
  });

  it("keeps the monitor as it was when the edit is cancelled, and shows a 404 in the facade's words", async () => {
    server.use(
      ...facade(evaluated, "admin"),
      http.get("/api/v1/organizations/:orgId/deployments", () => pageOf([{ name: "fraud-staging" }])),
      http.put("/api/v1/organizations/:orgId/monitors/:name", () => failure(404, "not_found", "deployment gone-deployment not found")),
    );
    const { user } = renderApp(<MonitorPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Edit monitor" }));
    const form = await screen.findByRole("form", { name: "Edit drift monitor fraud-drift" });
    await user.click(within(form).getByRole("button", { name: "Save monitor" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("deployment gone-deployment not found");
    await user.click(within(form).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("form")).not.toBeInTheDocument();
    expect(screen.getByText("Schedule").nextElementSibling).toHaveTextContent("*/15 * * * *");
  });
});
