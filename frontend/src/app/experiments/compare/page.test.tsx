import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { depth4, depth8, history, run } from "@/test/experiments";
import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { envelope, org, pageOf, server, signInHandlers } from "@/test/server";

import ComparePage from "./page";

const seeded = run(3, "seeded", { depth: "8", lr: "0.1", seed: "42" }, { auc: 0.91 });
const runs = [depth4, depth8, seeded];

/** The facade's comparison of the three runs: params that differ first, then by key. */
const comparison = {
  runs,
  params: [
    { key: "depth", values: { [depth4.id]: "4", [depth8.id]: "8", [seeded.id]: "8" }, differs: true },
    { key: "seed", values: { [depth4.id]: null, [depth8.id]: null, [seeded.id]: "42" }, differs: true },
    { key: "lr", values: { [depth4.id]: "0.1", [depth8.id]: "0.1", [seeded.id]: "0.1" }, differs: false },
  ],
  metrics: [
    { key: "auc", values: { [depth4.id]: 0.8, [depth8.id]: 0.9, [seeded.id]: 0.91 }, differs: true },
    { key: "loss", values: { [depth4.id]: 0.05, [depth8.id]: 0.048, [seeded.id]: null }, differs: true },
  ],
};

function openComparison(ids: string[]) {
  const asked: URLSearchParams[] = [];
  location.search = new URLSearchParams({ runs: ids.join(",") });
  server.use(
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme")])),
    http.get("/api/v1/organizations/:orgId/runs/compare", ({ request }) => {
      asked.push(new URL(request.url).searchParams);
      return envelope(comparison);
    }),
    http.get("/api/v1/organizations/:orgId/runs/metrics", ({ request }) => {
      const query = new URL(request.url).searchParams;
      asked.push(query);
      return envelope(query.getAll("run_id").map((id, i) => history(id, query.get("key") ?? "", [1 / (i + 1), 0.5 / (i + 1)])));
    }),
  );
  return asked;
}

const texts = (rows: HTMLElement[]) => rows.map((row) => row.textContent);

describe("Compare runs page", () => {
  it("shows params side by side, marks those that differ and can show only them", async () => {
    const asked = openComparison(runs.map((r) => r.id));
    const { user } = renderApp(<ComparePage />);
    await signInThroughForm(user);
    const params = await screen.findByRole("table", { name: "Parameters side by side" });
    expect(asked[0]?.getAll("run_id")).toEqual(runs.map((r) => r.id));
    expect(screen.getByRole("heading", { level: 1, name: "Compare 3 runs" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Back to the runs" })).toHaveAttribute("href", expect.stringMatching(/\?experiment=7$/));
    expect(within(params).getAllByRole("columnheader").map((th) => th.textContent)).toEqual(["Key", "depth-4", "depth-8", "seeded"]);
    expect(texts(within(params).getAllByRole("row").slice(1))).toEqual([
      "depthdiffers488",
      "seeddiffersnot loggednot logged42",
      "lr0.10.10.1",
    ]);
    expect(screen.getByText("2 of 3 parameters differ.")).toBeInTheDocument();

    await user.click(screen.getByRole("checkbox", { name: "Only differences" }));
    expect(within(params).queryByRole("rowheader", { name: "lr" })).toBeNull();
    expect(within(params).getAllByRole("rowheader").map((th) => th.textContent)).toEqual(["depthdiffers", "seeddiffers"]);

    const metrics = screen.getByRole("table", { name: "Latest metrics side by side" });
    expect(texts(within(metrics).getAllByRole("row").slice(1))).toEqual(["aucdiffers0.80.90.91", "lossdiffers0.050.048not logged"]);
  });

  it("charts a metric of all the compared runs, one line each", async () => {
    const asked = openComparison(runs.map((r) => r.id));
    const { user } = renderApp(<ComparePage />);
    await signInThroughForm(user);
    const chart = await screen.findByRole("img", { name: /^auc by step/ });
    const histories = asked.find((query) => query.has("key"));
    expect(histories?.getAll("run_id")).toEqual(runs.map((r) => r.id));
    expect(chart.querySelectorAll("path")).toHaveLength(3);
    expect(within(screen.getByRole("list", { name: "Legend" })).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "depth-4 · last 0.5",
      "depth-8 · last 0.25",
      "seeded · last 0.1667",
    ]);
    await user.selectOptions(screen.getByRole("combobox", { name: "Metric" }), "loss");
    expect(await screen.findByRole("img", { name: /^loss by step/ })).toBeInTheDocument();
  });

  it("asks for 2 to 20 runs when given fewer or more", async () => {
    openComparison([depth4.id]);
    const { user } = renderApp(<ComparePage />);
    await signInThroughForm(user);
    expect(await screen.findByText("Compare 2 to 20 runs")).toBeInTheDocument();
    expect(screen.getByText(/1 chosen\./)).toBeInTheDocument();
  });
});
