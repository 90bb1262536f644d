import { screen, waitFor, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { acme, canarying } from "@/test/registry";
import { renderApp, signInThroughForm } from "@/test/render";
import { location, routerPush } from "@/test/router";
import { envelope, failure, pageOf, server, signInHandlers } from "@/test/server";

import DeploymentPage from "./page";

const START = Date.parse("2026-12-03T10:00:00Z") / 1000;

/** A series of `values` one minute apart from 10:00 UTC. */
function series(...values: number[]) {
  return values.map((v, i) => ({ t: START + 60 * i, v }));
}

function versionMetrics(version: string, role: "stable" | "candidate" | null, scale: number) {
  return {
    version,
    role,
    requests_per_second: series(10 * scale, 12 * scale, 11 * scale),
    errors_4xx_ratio: series(0.01, 0.02, 0.01),
    errors_5xx_ratio: series(0, 0.001 * scale, 0),
    latency_p50_seconds: series(0.004, 0.005, 0.004),
    latency_p95_seconds: series(0.02, 0.03, 0.02),
    latency_p99_seconds: series(0.05, 0.08, 0.06),
    schema_violations_per_second: series(0, 0, 0.1),
    batch_size_mean: series(1, 2, 1.5),
    predictions: [
      {
        output: "label",
        kind: "categorical",
        rows_per_second: series(10, 12, 11),
        mean: [],
        p50: [],
        p90: [],
        classes: [
          { label: "0", share: series(1 - 0.1 * scale, 1 - 0.1 * scale, 1 - 0.1 * scale) },
          { label: "1", share: series(0.1 * scale, 0.1 * scale, 0.1 * scale) },
        ],
      },
      { output: "y", kind: "numerical", rows_per_second: series(10, 12, 11), mean: series(0.2 * scale, 0.3 * scale, 0.2 * scale), p50: series(0.1, 0.2, 0.1), p90: series(0.9, 0.8, 0.9), classes: [] },
    ],
  };
}

function metrics(versions: ReturnType<typeof versionMetrics>[]) {
  return { deployment: "fraud-staging", start: "2026-12-03T10:00:00Z", end: "2026-12-03T11:00:00Z", step_seconds: 30, window_seconds: 60, versions };
}

const emptyVersion = { ...versionMetrics("fraud-v1", "stable", 1), ...Object.fromEntries(
  ["requests_per_second", "errors_4xx_ratio", "errors_5xx_ratio", "latency_p50_seconds", "latency_p95_seconds", "latency_p99_seconds", "schema_violations_per_second", "batch_size_mean", "predictions"].map((key) => [key, []]),
) };

const rollouts = [
  { id: "r2", deployment: "fraud-staging", from_version: "fraud-v1", to_version: "fraud-v2", strategy: {}, outcome: "in_progress", reason: "", started_by: null, started_at: "2026-12-03T10:04:00Z", ended_by: null, ended_at: null },
  { id: "r1", deployment: "fraud-staging", from_version: "fraud-v0", to_version: "fraud-v1", strategy: {}, outcome: "promoted", reason: "", started_by: null, started_at: "2026-12-02T10:04:00Z", ended_by: null, ended_at: "2026-12-02T10:30:00Z" },
];

/** The facade of fraud-staging (a canary of fraud-v2) whose metrics endpoint answers `answer`;
 * returns the ranges asked for. */
function facade(answer: () => Response): string[] {
  const asked: string[] = [];
  server.use(
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([acme])),
    http.get("/api/v1/organizations/:orgId/deployments/:name", () => envelope(canarying)),
    http.get("/api/v1/organizations/:orgId/deployments/:name/metrics", ({ request }) => {
      asked.push(new URL(request.url).searchParams.get("range") ?? "");
      return answer();
    }),
    http.get("/api/v1/organizations/:orgId/deployments/:name/rollouts", () => pageOf(rollouts)),
    http.get("/api/v1/organizations/:orgId/deployments/:name/events", () =>
      envelope([{ type: "Normal", reason: "CanaryStep", message: "weight 50", count: 1, last_timestamp: "2026-12-03T10:05:00Z" }]),
    ),
    // What the Overview tab reads besides.
    http.get("/api/v1/organizations/:orgId/models", () => pageOf([])),
    http.get("/api/v1/organizations/:orgId/deployments/:name/payload-logs", () =>
      envelope({ bucket: "payloads", prefix: "mp-acme/fraud-staging/", sample_rate: null, windows: [], truncated: false }),
    ),
  );
  return asked;
}

async function openMonitoring(range = "1h") {
  location.search = new URLSearchParams({ name: "fraud-staging", tab: "monitoring", range });
  const rendered = renderApp(<DeploymentPage />);
  await signInThroughForm(rendered.user);
  await screen.findByRole("heading", { level: 1, name: "fraud-staging" });
  return rendered;
}

describe("Deployment page, Monitoring tab", () => {
  it("overlays the stable and candidate versions in their own colours, with the rollout's moments marked", async () => {
    const asked = facade(() => envelope(metrics([versionMetrics("fraud-v2", "candidate", 0.5), versionMetrics("fraud-v1", "stable", 1)])));
    await openMonitoring();
    expect(screen.getByRole("tab", { name: "Monitoring" })).toHaveAttribute("aria-selected", "true");

    const rate = await screen.findByRole("img", { name: /^Request rate \(requests\/s\)/ });
    expect(rate).toHaveAccessibleName(
      "Request rate (requests/s) fraud-v1 (stable): 3 points, time (UTC) 10:00 to 10:02, from 10 to 11 (lowest 10, highest 12). " +
        "fraud-v2 (candidate): 3 points, time (UTC) 10:00 to 10:02, from 5 to 5.5 (lowest 5, highest 6).",
    );
    const [stable, candidate] = [...rate.querySelectorAll("path")].map((path) => path.getAttribute("class"));
    expect(stable).toBe("stroke-indigo-600");
    expect(candidate).toBe("stroke-amber-600");
    const rateFigure = rate.closest("figure")!;
    expect(within(within(rateFigure).getByRole("list", { name: "Legend" })).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "fraud-v1 (stable) · last 11",
      "fraud-v2 (candidate) · last 5.5",
    ]);

    // Latency in ms, errors in %: each percentile and error class a line per version.
    const latency = screen.getByRole("img", { name: /^Latency \(ms\)/ });
    expect(latency.querySelectorAll("path")).toHaveLength(6);
    expect(latency).toHaveAccessibleName(expect.stringContaining("fraud-v1 (stable) p99: 3 points, time (UTC) 10:00 to 10:02, from 50 to 60"));
    expect(screen.getByRole("img", { name: /^Errors \(% of requests\).*fraud-v2 \(candidate\) 5xx: 3 points/ })).toBeInTheDocument();
    for (const title of ["Schema violations (violations/s)", "Mean batch size (requests)"]) {
      expect(screen.getByRole("img", { name: new RegExp(`^${title.replace(/[()/]/g, "\\$&")}`) })).toBeInTheDocument();
    }

    // The prediction distribution: each class's share and a numerical output's statistics, per version.
    const classes = screen.getByRole("img", { name: /^Predictions: label \(% of rows per class\)/ });
    expect(classes).toHaveAccessibleName(expect.stringContaining("fraud-v1 (stable) 1: 3 points, time (UTC) 10:00 to 10:02, from 10 to 10"));
    expect(classes).toHaveAccessibleName(expect.stringContaining("fraud-v2 (candidate) 1: 3 points, time (UTC) 10:00 to 10:02, from 5 to 5"));
    expect(classes.querySelectorAll("path")).toHaveLength(4);
    const values = screen.getByRole("img", { name: /^Predictions: y \(value\)/ });
    expect(values).toHaveAccessibleName(expect.stringContaining("fraud-v2 (candidate) mean: 3 points, time (UTC) 10:00 to 10:02, from 0.1 to 0.1 (lowest 0.1, highest 0.15)"));
    expect([...values.querySelectorAll("path")].map((path) => path.getAttribute("class"))).toEqual([
      "stroke-indigo-600", "stroke-indigo-600", "stroke-indigo-600", "stroke-amber-600", "stroke-amber-600", "stroke-amber-600",
    ]);

    // Only the moments inside the range: yesterday's rollout is not marked.
    const moments = await screen.findByRole("list", { name: "Rollout moments" });
    expect(within(moments).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "10:04 Rollout of fraud-v2 started",
      "10:05 CanaryStep: weight 50",
    ]);
    expect(rate.querySelectorAll("line[stroke-dasharray='3 3']")).toHaveLength(2);
    expect(asked).toEqual(["1h"]);
    expect(screen.getByText(/Refreshed every 30 s; a point every 30 s, rates over 60 s windows/)).toBeInTheDocument();
  });

  it("keeps the range in the URL, asks the facade for it and reads it again every 30 s", async () => {
    const asked = facade(() => envelope(metrics([versionMetrics("fraud-v1", "stable", 1)])));
    const { user, queryClient } = await openMonitoring("6h");
    expect(await screen.findByLabelText("Range")).toHaveValue("6h");
    await screen.findByRole("img", { name: /^Request rate/ });
    // Read again every 30 s while the tab is open.
    const query = queryClient.getQueryCache().findAll({ queryKey: ["organizations", acme.id, "deployments", "fraud-staging", "metrics"] });
    expect(query.flatMap((q) => q.observers.map((o) => o.options.refetchInterval))).toEqual([30_000]);
    await user.selectOptions(screen.getByLabelText("Range"), "7d");
    expect(routerPush).toHaveBeenLastCalledWith("/deployments/deployment/?name=fraud-staging&tab=monitoring&range=7d", { scroll: false });
    await waitFor(() => expect(asked).toEqual(["6h", "7d"]));
  });

  it("says so when nothing was served in the range", async () => {
    facade(() => envelope(metrics([emptyVersion])));
    await openMonitoring();
    expect(await screen.findByText("No traffic in this range yet")).toBeInTheDocument();
    expect(screen.queryByRole("img", { name: /^Request rate/ })).not.toBeInTheDocument();
  });

  it("explains a 503 when Prometheus cannot answer", async () => {
    facade(() => failure(503, "metrics_unavailable", "Prometheus at http://prometheus:9090 did not answer"));
    await openMonitoring();
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Metrics are unavailable right now.");
    expect(alert).toHaveTextContent("Prometheus at http://prometheus:9090 did not answer");
  });

  it("opens on the Overview; the Monitoring tab is reached with the arrow keys and put in the URL", async () => {
    facade(() => envelope(metrics([versionMetrics("fraud-v1", "stable", 1)])));
    location.search = new URLSearchParams({ name: "fraud-staging" });
    const { user } = renderApp(<DeploymentPage />);
    await signInThroughForm(user);
    const overview = await screen.findByRole("tab", { name: "Overview" });
    expect(overview).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tabpanel", { name: "Overview" })).toHaveTextContent("CanaryProgressing");
    overview.focus();
    await user.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "Monitoring" })).toHaveFocus();
    expect(routerPush).toHaveBeenLastCalledWith("/deployments/deployment/?name=fraud-staging&tab=monitoring&range=1h", { scroll: false });
    expect(await screen.findByRole("img", { name: /^Request rate/ })).toBeInTheDocument();
  });
});
