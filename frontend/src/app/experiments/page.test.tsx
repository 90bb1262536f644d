import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { experiment } from "@/test/experiments";
import { renderApp, signInThroughForm } from "@/test/render";
import { cursorPage, envelope, failure, org, pageOf, server, signInHandlers } from "@/test/server";

import ExperimentsPage from "./page";

/** An admin of acme signs in; `answer` answers each list of experiments; returns their queries. */
function listExperiments(answer: (query: URLSearchParams) => Response): URLSearchParams[] {
  const queries: URLSearchParams[] = [];
  server.use(
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme")])),
    http.get("/api/v1/organizations/:orgId/experiments", ({ request }) => {
      const query = new URL(request.url).searchParams;
      queries.push(query);
      return answer(query);
    }),
  );
  return queries;
}

describe("Experiments page", () => {
  it("lists experiments, loads more by cursor and says how to point the mlflow client at the org", async () => {
    const queries = listExperiments((query) =>
      query.get("cursor") === "next"
        ? cursorPage([experiment("3", "baseline")], null)
        : cursorPage([experiment("7", "fraud"), experiment("5", "churn")], "next"),
    );
    const { user } = renderApp(<ExperimentsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Experiments" });
    expect(within(table).getByRole("link", { name: "fraud" })).toHaveAttribute("href", expect.stringMatching(/^\/experiments\/runs\/?\?experiment=7$/));
    expect(queries[0]?.get("sort")).toBe("-created_at");
    expect(screen.getByLabelText("mlflow client settings")).toHaveTextContent(
      "export MLFLOW_TRACKING_URI=http://localhost:3000/api/v1/organizations/acme/mlflow",
    );
    expect(screen.getByLabelText("mlflow client settings")).toHaveTextContent("MLFLOW_TRACKING_TOKEN=<an API key of acme>");

    await user.click(screen.getByRole("button", { name: "Load more experiments" }));
    expect(await within(table).findByRole("link", { name: "baseline" })).toBeInTheDocument();
    expect(queries.at(-1)?.get("cursor")).toBe("next");
    expect(screen.getByText("3 experiments, all shown.")).toBeInTheDocument();
  });

  it("sorts, filters by name and shows the facade's refusal of a filter", async () => {
    const queries = listExperiments((query) => {
      const name = query.get("filter[name]");
      if (name?.includes("%")) return failure(400, "bad_request", "filter[name] may not contain quotes, backslashes, % or _");
      if (name) return cursorPage([experiment("9", `${name}-2027`)], null);
      return cursorPage([experiment("7", "fraud"), experiment("5", "churn")], null);
    });
    const { user } = renderApp(<ExperimentsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Experiments" });

    await user.selectOptions(screen.getByLabelText("Sort"), "name");
    await expect.poll(() => queries.at(-1)?.get("sort")).toBe("name");

    await user.type(screen.getByLabelText("Search experiments"), "ch");
    expect(await within(table).findByRole("link", { name: "ch-2027" })).toBeInTheDocument();
    expect(queries.at(-1)?.get("filter[name]")).toBe("ch");
    expect(queries.at(-1)?.get("sort")).toBe("name");

    await user.type(screen.getByLabelText("Search experiments"), "%");
    expect(await screen.findByRole("alert")).toHaveTextContent("filter[name] may not contain quotes, backslashes, % or _");
  });

  it("lets an admin create, rename (a taken name said plainly) and delete after confirming", async () => {
    const experiments = [experiment("7", "fraud"), experiment("5", "churn")];
    const created: unknown[] = [];
    const deleted: string[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme")])),
      http.get("/api/v1/organizations/:orgId/experiments", () => cursorPage([...experiments], null)),
      http.post("/api/v1/organizations/:orgId/experiments", async ({ request }) => {
        const body = (await request.json()) as { name: string };
        created.push(body);
        if (experiments.some((e) => e.name === body.name)) return failure(409, "conflict", "experiment name taken");
        experiments.unshift(experiment("11", body.name));
        return envelope(experiments[0], 201);
      }),
      http.patch("/api/v1/organizations/:orgId/experiments/:id", async ({ params, request }) => {
        const { name } = (await request.json()) as { name: string };
        if (experiments.some((e) => e.name === name)) return failure(409, "conflict", "experiment name taken");
        const found = experiments.find((e) => e.id === params.id)!;
        found.name = name;
        return envelope(found);
      }),
      http.delete("/api/v1/organizations/:orgId/experiments/:id", ({ params }) => {
        deleted.push(String(params.id));
        experiments.splice(experiments.findIndex((e) => e.id === params.id), 1);
        return new HttpResponse(null, { status: 204 });
      }),
    );
    const { user } = renderApp(<ExperimentsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Experiments" });

    const form = screen.getByRole("form", { name: "Create an experiment" });
    await user.type(within(form).getByLabelText("Experiment name"), "fraud");
    await user.click(within(form).getByRole("button", { name: "Create experiment" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("An experiment with this name already exists in this organization.");
    await user.clear(within(form).getByLabelText("Experiment name"));
    await user.type(within(form).getByLabelText("Experiment name"), "  upsell ");
    await user.click(within(form).getByRole("button", { name: "Create experiment" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Created upsell.");
    expect(created).toEqual([{ name: "fraud" }, { name: "upsell" }]);
    expect(await within(table).findByRole("link", { name: "upsell" })).toBeInTheDocument();

    await user.click(within(table).getByRole("button", { name: "Rename churn" }));
    const rename = within(table).getByRole("form", { name: "Rename churn" });
    await user.clear(within(rename).getByLabelText("New name"));
    await user.type(within(rename).getByLabelText("New name"), "fraud");
    await user.click(within(rename).getByRole("button", { name: "Save" }));
    expect(await within(rename).findByRole("alert")).toHaveTextContent("An experiment with this name already exists");
    await user.clear(within(rename).getByLabelText("New name"));
    await user.type(within(rename).getByLabelText("New name"), "churn-2027");
    await user.click(within(rename).getByRole("button", { name: "Save" }));
    expect(await within(table).findByRole("link", { name: "churn-2027" })).toBeInTheDocument();

    await user.click(within(table).getByRole("button", { name: "Delete fraud…" }));
    expect(deleted).toEqual([]);
    await user.click(within(table).getByRole("button", { name: "Yes, delete fraud and its runs" }));
    await within(table).findByRole("link", { name: "upsell" });
    await expect.poll(() => within(table).queryByRole("link", { name: "fraud" })).toBeNull();
    expect(deleted).toEqual(["7"]);
  });

  it.each([
    ["viewer", [], /As a viewer you read experiments and runs; developers and admins create and rename them/],
    ["developer", ["Rename fraud"], /As a developer you create and rename experiments; only admins delete them/],
  ] as const)("offers a %s only what the role may do, and says who may do the rest", async (role, buttons, note) => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", role)])),
      http.get("/api/v1/organizations/:orgId/experiments", () => cursorPage([experiment("7", "fraud")], null)),
    );
    const { user } = renderApp(<ExperimentsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Experiments" });
    expect(within(table).queryAllByRole("button").map((button) => button.getAttribute("aria-label") ?? button.textContent)).toEqual(buttons);
    expect(screen.queryAllByRole("form", { name: "Create an experiment" })).toHaveLength(role === "viewer" ? 0 : 1);
    expect(screen.getByText(note)).toBeInTheDocument();
    expect(screen.getByText(/Ask an admin of this organization for an API key/)).toBeInTheDocument();
  });
});
