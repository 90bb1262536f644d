import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { depth8, fraudExperiment, history } from "@/test/experiments";
import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import RunPage from "./page";

const detail = {
  ...depth8,
  tags: { team: "risk" },
  system_tags: { "mlflow.user": "alice", "mlflow.source.name": "train.py" },
  artifacts: [
    { path: "model", is_dir: true, size: null },
    { path: "notes.txt", is_dir: false, size: 12 },
    { path: "model/model.onnx", is_dir: false, size: 2048 },
  ],
  artifacts_truncated: false,
};

function openRun(): URLSearchParams[] {
  const asked: URLSearchParams[] = [];
  location.search = new URLSearchParams({ run: depth8.id });
  server.use(
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme")])),
    http.get("/api/v1/organizations/:orgId/experiments/:id", () => envelope(fraudExperiment)),
    http.get("/api/v1/organizations/:orgId/runs/metrics", ({ request }) => {
      const query = new URL(request.url).searchParams;
      asked.push(query);
      return envelope([history(depth8.id, query.get("key") ?? "", [1, 0.5, 0.25])]);
    }),
    http.get("/api/v1/organizations/:orgId/runs/:runId", ({ params }) =>
      params.runId === depth8.id ? envelope(detail) : failure(404, "not_found", "no such run"),
    ),
  );
  return asked;
}

describe("Run page", () => {
  it("shows a run's facts, latest metrics, params, tags and artifact tree", async () => {
    openRun();
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { level: 1, name: "depth-8" })).toBeInTheDocument();
    expect(await screen.findByRole("link", { name: "All runs of fraud" })).toHaveAttribute(
      "href",
      expect.stringMatching(/^\/experiments\/runs\/?\?experiment=7$/),
    );
    expect(screen.getByText(depth8.id)).toBeInTheDocument();
    expect(screen.getByText("2 min 5 s")).toBeInTheDocument();
    const metrics = screen.getByRole("table", { name: "Latest metrics" });
    expect(within(metrics).getByRole("row", { name: "auc 0.9" })).toBeInTheDocument();
    expect(within(metrics).getByRole("row", { name: "loss 0.048" })).toBeInTheDocument();
    expect(within(screen.getByRole("table", { name: "Parameters" })).getByRole("row", { name: "depth 8" })).toBeInTheDocument();
    expect(within(screen.getByRole("table", { name: "Tags" })).getByRole("row", { name: "team risk" })).toBeInTheDocument();
    expect(within(screen.getByRole("table", { name: "MLflow's own tags" })).getByRole("row", { name: "mlflow.user alice" })).toBeInTheDocument();

    const tree = screen.getByRole("list", { name: "Artifacts of depth-8" });
    const top = within(tree).getAllByRole("listitem").filter((item) => item.parentElement === tree);
    expect(top.map((item) => item.textContent)).toEqual(["📁 model/📄 model.onnx · 2.0 KiB", "📄 notes.txt · 12 B"]);
  });

  it("charts one metric of the run at a time, with a description and the numbers for screen readers", async () => {
    const asked = openRun();
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    const chart = await screen.findByRole("img", { name: /auc by step/ });
    expect(asked[0]?.getAll("run_id")).toEqual([depth8.id]);
    expect(asked[0]?.get("key")).toBe("auc");

    await user.selectOptions(screen.getByLabelText("Metric"), "loss");
    expect(await screen.findByRole("img", { name: /loss by step/ })).not.toBe(chart);
    expect(asked.at(-1)?.get("key")).toBe("loss");
    expect(screen.getByRole("img", { name: /loss by step/ })).toHaveAccessibleName(
      "loss by step depth-8: 3 points, step 0 to 2, from 1 to 0.25 (lowest 0.25, highest 1).",
    );
    expect(within(screen.getByRole("list", { name: "Legend" })).getByText("depth-8")).toBeInTheDocument();

    await user.click(screen.getByText("Show the numbers"));
    const numbers = await screen.findByRole("table", { name: "loss by step, as a table" });
    expect(within(numbers).getAllByRole("row").map((row) => row.textContent)).toEqual(["stepdepth-8", "01", "10.5", "20.25"]);
  });

  it("says so when the run is not in this organization", async () => {
    openRun();
    location.search = new URLSearchParams({ run: "f".repeat(32) });
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("no such run");
  });
});
