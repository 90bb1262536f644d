import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { afterEach, describe, expect, it, vi } from "vitest";

import { captureDownloads } from "@/test/downloads";
import { depth8, fraudExperiment, history } from "@/test/experiments";
import { fraud, model, version } from "@/test/registry";
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

function openRun(role: "admin" | "developer" | "viewer" = "admin"): URLSearchParams[] {
  const asked: URLSearchParams[] = [];
  location.search = new URLSearchParams({ run: depth8.id });
  server.use(
    ...signInHandlers(),
    http.get("/api/v1/organizations", () => pageOf([org("acme", role)])),
    http.get("/api/v1/organizations/:orgId/models", ({ request }) => {
      const name = new URL(request.url).searchParams.get("filter[name]") ?? "";
      return pageOf([fraud, model("fraud-gbm", 1)].filter((m) => m.name.includes(name)));
    }),
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
    expect(top.map((item) => item.textContent)).toEqual(["📁 model/📄 model.onnx · 2.0 KiBDownload", "📄 notes.txt · 12 BDownload"]);
    expect(within(tree).getAllByRole("button").map((button) => button.getAttribute("aria-label"))).toEqual(["Download model/model.onnx", "Download notes.txt"]);
  });

  describe("downloads", () => {
    afterEach(() => vi.restoreAllMocks());

    /** The facade's MLflow proxy: `runs/get` names `artifactUri`; the artifact proxy serves
     * `files` under the run's root. Each request's decoded path and token are kept. */
    function mlflowProxy(artifactUri: string, files: Record<string, string>) {
      const asked: { path: string; auth: string | null }[] = [];
      server.use(
        http.get("/api/v1/organizations/:orgId/mlflow/*", ({ request }) => {
          const url = new URL(request.url);
          const path = decodeURIComponent(url.pathname.replace(/^.*?\/mlflow\//, ""));
          asked.push({ path, auth: request.headers.get("Authorization") });
          if (path === "api/2.0/mlflow/runs/get" && url.searchParams.get("run_id") === depth8.id)
            return HttpResponse.json({ run: { info: { run_id: depth8.id, artifact_uri: artifactUri } } });
          const file = files[path];
          if (file === undefined)
            return HttpResponse.json({ error_code: "RESOURCE_DOES_NOT_EXIST", message: `File ${path} does not exist` }, { status: 404 });
          return new HttpResponse(file, { headers: { "Content-Type": "application/octet-stream" } });
        }),
      );
      return asked;
    }

    it("saves a file of the tree through the facade's MLflow proxy, with the bearer token", async () => {
      const saved = captureDownloads();
      openRun("viewer");
      const asked = mlflowProxy("mlflow-artifacts:/workspaces/mp-acme/7/run-8/artifacts", {
        "api/2.0/mlflow-artifacts/artifacts/workspaces/mp-acme/7/run-8/artifacts/notes.txt": "hello",
      });
      const { user } = renderApp(<RunPage />);
      await signInThroughForm(user);
      await user.click(await screen.findByRole("button", { name: "Download notes.txt" }));
      expect(await screen.findByRole("status")).toHaveTextContent("Saved notes.txt (5 B).");
      expect(saved.map((s) => s.name)).toEqual(["notes.txt"]);
      expect(await saved[0]?.blob.text()).toBe("hello");
      expect(asked.map((a) => a.path)).toEqual([
        "api/2.0/mlflow/runs/get",
        "api/2.0/mlflow-artifacts/artifacts/workspaces/mp-acme/7/run-8/artifacts/notes.txt",
      ]);
      expect(asked.every((a) => a.auth?.startsWith("Bearer "))).toBe(true);
    });

    it("shows MLflow's refusal in its words, and says when the files are not behind the proxy", async () => {
      const saved = captureDownloads();
      openRun();
      mlflowProxy("mlflow-artifacts:/7/run-8/artifacts", {});
      const { user } = renderApp(<RunPage />);
      await signInThroughForm(user);
      await user.click(await screen.findByRole("button", { name: "Download model/model.onnx" }));
      expect(await screen.findByRole("alert")).toHaveTextContent("File api/2.0/mlflow-artifacts/artifacts/7/run-8/artifacts/model/model.onnx does not exist");

      mlflowProxy("s3://team-bucket/7/run-8/artifacts", {});
      await user.click(screen.getByRole("button", { name: "Download notes.txt" }));
      expect(await screen.findByRole("alert")).toHaveTextContent(
        "This run's artifacts are stored at s3://team-bucket/7/run-8/artifacts, outside MLflow's artifact proxy",
      );
      expect(saved).toHaveLength(0);
    });
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

  it("registers the run's model as a new version of an existing model and links to it", async () => {
    openRun();
    const bodies: unknown[] = [];
    server.use(
      http.post("/api/v1/organizations/:orgId/models/:modelId/versions/from-run", async ({ request, params }) => {
        expect(params.modelId).toBe(fraud.id);
        bodies.push(await request.json());
        return envelope({ ...version(3, "ready", null), source: "mlflow_run", mlflow_run_id: depth8.id }, 201);
      }),
    );
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    const form = await screen.findByRole("form", { name: "Register as model version" });
    await user.type(within(form).getByLabelText("Model name"), "fraud");
    await user.clear(within(form).getByLabelText("Path in the run"));
    await user.type(within(form).getByLabelText("Path in the run"), "onnx-model");
    await user.click(within(form).getByRole("button", { name: "Register as model version" }));

    expect(await within(form).findByRole("status")).toHaveTextContent("Registered fraud version 3 from this run.");
    expect(bodies).toEqual([{ run_id: depth8.id, path: "onnx-model", description: "" }]);
    expect(within(form).getByRole("link", { name: "Open fraud version 3" })).toHaveAttribute(
      "href",
      expect.stringMatching(new RegExp(`^/models/version/?\\?model=${fraud.id}&version=${version(3, "ready", null).id}$`)),
    );
  });

  it("registers a new model first when no model has the name", async () => {
    openRun("developer");
    const created = model("fraud-onnx", null);
    const calls: string[] = [];
    server.use(
      http.post("/api/v1/organizations/:orgId/models", async ({ request }) => {
        calls.push(`model ${JSON.stringify(await request.json())}`);
        return envelope(created, 201);
      }),
      http.post("/api/v1/organizations/:orgId/models/:modelId/versions/from-run", async ({ request, params }) => {
        calls.push(`version of ${String(params.modelId)} ${JSON.stringify(await request.json())}`);
        return envelope({ ...version(1, "ready", null), model_id: created.id }, 202);
      }),
    );
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    const form = await screen.findByRole("form", { name: "Register as model version" });
    await user.type(within(form).getByLabelText("Model name"), "fraud-onnx");
    await user.selectOptions(within(form).getByLabelText("Task (of a new model)"), "regression");
    await user.type(within(form).getByLabelText("Description"), "depth 8");
    await user.click(within(form).getByRole("button", { name: "Register as model version" }));

    expect(await within(form).findByRole("status")).toHaveTextContent("Registered the new model fraud-onnx version 1 from this run.");
    expect(calls).toEqual([
      `model {"name":"fraud-onnx","task_type":"regression","description":""}`,
      `version of ${created.id} {"run_id":"${depth8.id}","path":"model","description":"depth 8"}`,
    ]);
    expect(within(form).getByRole("link", { name: "Open fraud-onnx version 1" })).toBeInTheDocument();
  });

  it("shows the facade's reason when the run logged no ONNX model", async () => {
    openRun();
    server.use(
      http.post("/api/v1/organizations/:orgId/models/:modelId/versions/from-run", () =>
        failure(422, "invalid_model", "run has only the sklearn flavour: convert it to ONNX first"),
      ),
    );
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    const form = await screen.findByRole("form", { name: "Register as model version" });
    await user.type(within(form).getByLabelText("Model name"), "fraud");
    await user.click(within(form).getByRole("button", { name: "Register as model version" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("run has only the sklearn flavour: convert it to ONNX first");
    expect(within(form).queryByRole("link")).not.toBeInTheDocument();
  });

  it("offers a viewer no registration, and says why", async () => {
    openRun("viewer");
    const { user } = renderApp(<RunPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { level: 1, name: "depth-8" })).toBeInTheDocument();
    expect(screen.getByText(/needs the developer or admin role/)).toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "Register as model version" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Register as model version" })).not.toBeInTheDocument();
  });
});
