import { screen, waitFor, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { evaluated, monitor } from "@/test/monitors";
import { renderApp, signInThroughForm } from "@/test/render";
import { location, routerPush } from "@/test/router";
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

    expect(screen.getByRole("img", { name: /Share of drifted features/ })).toBeInTheDocument();
    const recent = within(screen.getByRole("table", { name: "Recent evaluations, newest first" })).getAllByRole("row");
    expect(recent.map((row) => row.textContent)).toEqual([
      "Window endModel versionSamplesDrifted shareDrifted",
      "4 Dec 2026, 04:00 UTCfraud-v281250 %yes",
      "4 Dec 2026, 03:00 UTCfraud-v279025 %no",
      "4 Dec 2026, 02:00 UTCfraud-v112–too few samples",
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
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Delete/ })).not.toBeInTheDocument();
    expect(screen.getByText("Viewers can read drift monitors; developers and admins delete them.")).toBeInTheDocument();
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
});
