import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { depth4, depth8, fraudExperiment, history, run } from "@/test/experiments";
import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { cursorPage, envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import RunsPage from "./page";

const depth2 = run(3, "depth-2", { depth: "2", lr: "0.3" }, { auc: 0.7 }, { status: "FAILED" });

/** An admin of acme opens the fraud experiment's runs; `answer` answers each search; returns
 * the searches' query strings. */
function openRuns(answer: (query: URLSearchParams) => Response): URLSearchParams[] {
  const queries: URLSearchParams[] = [];
  location.search = new URLSearchParams({ experiment: fraudExperiment.id });
  server.use(
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme")])),
    http.get("/api/v1/organizations/:orgId/experiments/:id", () => envelope(fraudExperiment)),
    http.get("/api/v1/organizations/:orgId/runs/metrics", ({ request }) => {
      const query = new URL(request.url).searchParams;
      return envelope(query.getAll("run_id").map((id) => history(id, query.get("key") ?? "", [0.5, 0.25])));
    }),
    http.get("/api/v1/organizations/:orgId/runs", ({ request }) => {
      const query = new URL(request.url).searchParams;
      queries.push(query);
      return answer(query);
    }),
  );
  return queries;
}

describe("Runs of an experiment", () => {
  it("shows params and latest metrics as columns, loads more by cursor and hides columns on request", async () => {
    const queries = openRuns((query) =>
      query.get("cursor") === "c2" ? cursorPage([depth2], null) : cursorPage([depth8, depth4], "c2"),
    );
    const { user } = renderApp(<RunsPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { name: "fraud" })).toBeInTheDocument();
    const table = await screen.findByRole("table", { name: "Runs of fraud" });
    expect(queries[0]?.getAll("experiment_id")).toEqual(["7"]);
    expect(queries[0]?.get("sort")).toBe("-started_at");
    const headers = within(table).getAllByRole("columnheader").map((th) => th.textContent);
    expect(headers).toEqual(["Selected", "Run↕", "Status↕", "Started▼", "Duration", "paramdepth↕", "paramlr↕", "metricauc↕", "metricloss↕"]);
    const row = within(table).getByRole("row", { name: /depth-8/ });
    expect(within(row).getByRole("link", { name: "depth-8" })).toHaveAttribute("href", expect.stringMatching(/^\/experiments\/run\/?\?run=0+2$/));
    expect(within(row).getAllByRole("cell").map((td) => td.textContent).slice(2)).toEqual([
      "finished",
      "3 Dec 2026, 10:00 UTC",
      "2 min 5 s",
      "8",
      "0.1",
      "0.9",
      "0.048",
    ]);

    await user.click(screen.getByRole("button", { name: "Load more runs" }));
    expect(await within(table).findByRole("link", { name: "depth-2" })).toBeInTheDocument();
    expect(queries.at(-1)?.get("cursor")).toBe("c2");
    expect(screen.getByText("3 runs, all shown.")).toBeInTheDocument();
    expect(within(within(table).getByRole("row", { name: /depth-2/ })).getByText("failed")).toBeInTheDocument();

    await user.click(screen.getByText("Columns (4 of 4 shown)"));
    await user.click(screen.getByRole("checkbox", { name: "params.lr" }));
    expect(within(table).queryByRole("columnheader", { name: /lr/ })).toBeNull();
    expect(screen.getByText("Columns (3 of 4 shown)")).toBeInTheDocument();
  });

  it("sorts by a clicked column, both ways, and says so with aria-sort", async () => {
    const queries = openRuns(() => cursorPage([depth8, depth4], null));
    const { user } = renderApp(<RunsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Runs of fraud" });
    const auc = () => within(table).getByRole("columnheader", { name: /auc/ });
    expect(auc()).toHaveAttribute("aria-sort", "none");

    await user.click(within(auc()).getByRole("button"));
    await expect.poll(() => queries.at(-1)?.get("sort")).toBe("-metrics.auc");
    expect(auc()).toHaveAttribute("aria-sort", "descending");
    expect(within(table).getByRole("columnheader", { name: /Started/ })).toHaveAttribute("aria-sort", "none");

    await user.click(within(auc()).getByRole("button"));
    await expect.poll(() => queries.at(-1)?.get("sort")).toBe("metrics.auc");
    expect(auc()).toHaveAttribute("aria-sort", "ascending");

    await user.click(within(within(table).getByRole("columnheader", { name: /depth/ })).getByRole("button"));
    await expect.poll(() => queries.at(-1)?.get("sort")).toBe("params.depth");
  });

  it("searches with MLflow's syntax and a status, and shows the facade's refusal of a bad query", async () => {
    const queries = openRuns((query) => {
      const search = query.get("query");
      if (search === "metrics.auc >") return failure(400, "bad_request", "Invalid clause(s) in filter string: 'metrics.auc >'");
      if (search === "metrics.auc > 0.85") return cursorPage([depth8], null);
      if (query.get("status") === "KILLED") return cursorPage([], null);
      return cursorPage([depth8, depth4], null);
    });
    const { user } = renderApp(<RunsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Runs of fraud" });
    const form = screen.getByRole("form", { name: "Search runs" });

    await user.type(within(form).getByLabelText("Search runs"), "metrics.auc > 0.85");
    await user.click(within(form).getByRole("button", { name: "Search" }));
    await expect.poll(() => within(table).queryByRole("link", { name: "depth-4" })).toBeNull();
    expect(within(table).getByRole("link", { name: "depth-8" })).toBeInTheDocument();

    await user.clear(within(form).getByLabelText("Search runs"));
    await user.type(within(form).getByLabelText("Search runs"), "metrics.auc >");
    await user.click(within(form).getByRole("button", { name: "Search" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The search was refused: Invalid clause(s) in filter string: 'metrics.auc >'",
    );
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();

    await user.clear(within(form).getByLabelText("Search runs"));
    await user.selectOptions(within(form).getByLabelText("Status"), "KILLED");
    await user.click(within(form).getByRole("button", { name: "Search" }));
    expect(await screen.findByText("No run matches this search")).toBeInTheDocument();
    expect(queries.at(-1)?.get("status")).toBe("KILLED");
    expect(queries.at(-1)?.has("query")).toBe(false);
  });

  it("compares the selected runs (2 to 20 of them) and charts their metrics", async () => {
    openRuns(() => cursorPage([depth8, depth4, depth2], null));
    const { user } = renderApp(<RunsPage />);
    await signInThroughForm(user);
    await screen.findByRole("table", { name: "Runs of fraud" });
    const bar = screen.getByRole("group", { name: "Selected runs" });
    expect(within(bar).getByText("Select at least 2 runs to compare them.")).toBeInTheDocument();

    await user.click(screen.getByRole("checkbox", { name: "Select depth-8" }));
    await user.click(screen.getByRole("checkbox", { name: "Select depth-2" }));
    expect(within(bar).getByText("2 runs selected")).toBeInTheDocument();
    expect(within(bar).getByRole("link", { name: "Compare 2 runs" })).toHaveAttribute(
      "href",
      expect.stringMatching(new RegExp(`^/experiments/compare/?\\?runs=${depth8.id},${depth2.id}$`)),
    );
    const charted = screen.getByRole("region", { name: "Metrics of the selected runs" });
    expect(await within(charted).findByRole("img", { name: /^auc by step depth-8: 2 points.* depth-2: 2 points/ })).toBeInTheDocument();

    await user.click(within(bar).getByRole("button", { name: "Clear selection" }));
    expect(screen.queryByRole("region", { name: "Metrics of the selected runs" })).toBeNull();
    expect(within(bar).getByText("0 runs selected")).toBeInTheDocument();
    expect(screen.getByRole("checkbox", { name: "Select depth-8" })).not.toBeChecked();
  });
});
