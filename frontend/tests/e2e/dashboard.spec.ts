import { expect, test, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";

import { PASSWORD, adminOfNewOrganization, expectAccessible, signIn, unique } from "./support";

/** With E2E_SCREENSHOTS set (a directory), save what the page shows as <name>.png there. */
/** Save the viewport as `<name>.png` when `E2E_SCREENSHOTS` names a folder; `top` scrolls to the
 * page's top first (a page the test left scrolled down to what it clicked last). */
async function shot(page: Page, name: string, { top = false }: { top?: boolean } = {}) {
  const directory = process.env.E2E_SCREENSHOTS;
  if (!directory) return;
  if (top) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${directory}/${name}.png` });
}

/** Press Tab until `target` has the focus (at most `max` times), as a keyboard user would. */
async function tabTo(page: Page, target: Locator, max = 20) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((element) => element === document.activeElement)) return;
  }
  throw new Error(`Tab never reached ${target}`);
}

test("sign up, sign in, create an organization, see it in the switcher, members and audit log", async ({ page, request }) => {
  const email = `${unique("e2e")}@example.com`;
  const slug = unique("e2e");

  await page.goto("/sign-up/");
  await page.getByLabel("Name").fill("Dana Scientist");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/organizations\/$/);
  await expect(page.getByText("No organizations yet")).toBeVisible();

  // Sign out, then sign in again through the form the page shows in place.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Modelplane" })).toBeVisible();
  await shot(page, "sign-in");
  await expectAccessible(page);
  await signIn(page, email);

  await page.getByLabel("Name").fill("E2E Org");
  await page.getByLabel("Slug").fill(slug);
  await page.getByRole("button", { name: "Create organization" }).click();
  await expect(page.getByRole("status")).toHaveText("Created E2E Org.");
  const switcher = page.getByRole("combobox", { name: "Organization" });
  await expect(switcher.locator("option:checked")).toHaveText("E2E Org (admin)");
  await expect(page.getByRole("table", { name: "Your organizations" }).getByText(slug)).toBeVisible();
  await shot(page, "organizations");
  await expectAccessible(page);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Members" }).click();
  const members = page.getByRole("table", { name: "1 member of E2E Org" });
  const me = members.getByRole("row", { name: new RegExp(email) });
  await expect(me).toContainText("Dana Scientist");
  await expect(me.getByRole("combobox", { name: "Role of Dana Scientist" })).toHaveValue("admin");

  // Add a colleague who has an account, as a developer.
  const colleague = `${unique("colleague")}@example.com`;
  const registered = await request.post("/api/v1/auth/register", {
    data: { email: colleague, password: PASSWORD, display_name: "Chris Colleague" },
  });
  expect(registered.status()).toBe(201);
  await page.getByLabel("Email of a registered user").fill(colleague);
  await page.getByRole("button", { name: "Add member" }).click();
  await expect(page.getByRole("status")).toHaveText("Added Chris Colleague as developer.");
  const both = page.getByRole("table", { name: "2 members of E2E Org" });
  await expect(both.getByRole("combobox", { name: "Role of Chris Colleague" })).toHaveValue("developer");
  await shot(page, "members");
  await expectAccessible(page);

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Projects" }).click();
  await page.getByLabel("Project name").fill("Fraud detection");
  await page.getByRole("button", { name: "Create project" }).click();
  await expect(page.getByRole("table", { name: "Projects" }).getByText("Fraud detection")).toBeVisible();

  await nav.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Key name").fill("nightly-ci");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByLabel("API key secret")).toContainText(/\S{20,}/);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByRole("table", { name: "API keys" }).getByRole("cell", { name: "nightly-ci", exact: true })).toBeVisible();
  await shot(page, "api-keys"); // after Done: the secret is not in the picture
  await expectAccessible(page);

  await nav.getByRole("link", { name: "Audit log" }).click();
  const audit = page.getByRole("table", { name: "Audit events, newest first" });
  await expect(audit.getByText("organization.create")).toBeVisible();
  for (const action of ["member.create", "project.create", "api_key.create"]) {
    await expect(audit.getByText(action)).toBeVisible();
  }
  await shot(page, "audit-log");
  await expectAccessible(page);

  // Narrow screens: the page does not scroll sideways (wide tables scroll inside their frame).
  await page.setViewportSize({ width: 390, height: 844 });
  for (const link of ["Members", "Organizations"]) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link }).click();
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  }
  await shot(page, "organizations-narrow");

  // The session is held in memory only: a reload signs out, and nothing was stored.
  const stored = await page.evaluate(() => localStorage.length + sessionStorage.length + document.cookie.length);
  expect(stored).toBe(0);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign in to Modelplane" })).toBeVisible();
});

test("keyboard only: sign in and switch pages without a mouse", async ({ page, request }) => {
  const email = `${unique("kb")}@example.com`;
  const created = await request.post("/api/v1/auth/register", {
    data: { email, password: PASSWORD, display_name: "Kim Keyboard" },
  });
  expect(created.status()).toBe(201);

  await page.goto("/members/");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await tabTo(page, page.getByLabel("Email"));
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page.getByText("No organization", { exact: true })).toBeVisible();

  await tabTo(page, page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Organizations" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/organizations\/$/);
  await expect(page.getByRole("heading", { name: "Organizations" })).toBeVisible();
});

test("register a model and upload an ONNX file as its first version", async ({ page, request }) => {
  const onnx = process.env.E2E_ONNX_MODEL;
  test.skip(!onnx, "E2E_ONNX_MODEL names no ONNX file");
  const { email } = await adminOfNewOrganization(request, "Uma Uploader", "ML team");

  await page.goto("/models/");
  await signIn(page, email);
  const name = unique("fraud");
  await page.getByLabel("Model name").fill(name);
  await page.getByRole("button", { name: "Register model" }).click();
  await expect(page.getByRole("status")).toContainText(`Registered ${name}`);
  await expectAccessible(page);
  await page.getByRole("table", { name: "Models" }).getByRole("link", { name }).click();

  await expect(page.getByRole("heading", { name })).toBeVisible();
  await page.getByLabel("ONNX file").setInputFiles(onnx!);
  await page.getByLabel("Description").fill("first try");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByRole("status")).toContainText("Uploaded version 1");
  await expect(page.getByRole("progressbar", { name: "Upload progress" })).toHaveAttribute("value", "100");

  await page.getByRole("table", { name: `Versions of ${name}` }).getByRole("link", { name: "v1" }).click();
  await expect(page.getByRole("heading", { name: "Version 1" })).toBeVisible();
  // The facade read the signature from the graph: x [any, 4] → y [any, 1], FP32.
  await expect(page.getByRole("table", { name: "Inputs" }).getByRole("row", { name: "x FP32 [any, 4]", exact: true })).toBeVisible();
  await expect(page.getByRole("table", { name: "Outputs" }).getByRole("row", { name: "y FP32 [any, 1]", exact: true })).toBeVisible();
  await shot(page, "version");
  await expectAccessible(page);
});

test("deploy a version, see it listed, start a rollout, try it, promote it to production, delete it", async ({ page, request }) => {
  const onnx = process.env.E2E_ONNX_MODEL;
  test.skip(!onnx, "E2E_ONNX_MODEL names no ONNX file");
  const { email, headers, org } = await adminOfNewOrganization(request, "Dev Deployer", "Ops team");
  const name = unique("churn");
  const model = (await (await request.post(`/api/v1/organizations/${org}/models`, { headers, data: { name, task_type: "classification" } })).json()).data.id as string;
  const file = { name: "model.onnx", mimeType: "application/octet-stream", buffer: readFileSync(onnx!) };
  const versions: string[] = [];
  for (let i = 0; i < 2; i++) {
    const uploaded = await request.post(`/api/v1/organizations/${org}/models/${model}/versions`, { headers, multipart: { file } });
    expect(uploaded.status()).toBe(201);
    versions.push((await uploaded.json()).data.id as string);
  }

  // One click from the version's page (the test platform's stand-in operator made it Ready).
  await page.goto(`/models/version/?model=${model}&version=${versions[0]}`);
  await signIn(page, email);
  await page.getByRole("region", { name: "Deploy this version" }).getByRole("button", { name: "Deploy" }).click();
  const deployment = `${name}-staging`;
  await expect(page).toHaveURL(new RegExp(`/deployments/deployment/\\?name=${deployment}$`));
  await expect(page.getByRole("heading", { level: 1, name: deployment })).toBeVisible();
  // No operator runs on the test platform: the facade reports the deployment as Pending.
  await expect(page.getByText("the operator has not reconciled it yet")).toBeVisible();

  // Settings: two pods and half the requests logged, applied by the facade, still there after a
  // reload (which signs out: the session lives in memory).
  const settings = page.getByRole("region", { name: "Settings" });
  await expect(settings.getByText("1 pod per variant")).toBeVisible();
  await settings.getByRole("button", { name: "Edit settings" }).click();
  await settings.getByLabel("Pods per variant").fill("2");
  await settings.getByLabel("Log requests and predictions").check();
  await settings.getByLabel("Share of requests logged (%)").fill("50");
  await expectAccessible(page);
  await settings.getByRole("button", { name: "Save settings" }).click();
  await expect(settings.getByRole("status")).toHaveText("Saved: scaling, payload logging.");
  await page.reload();
  await signIn(page, email);
  await expect(settings.getByText("2 pods per variant")).toBeVisible();
  await expect(settings.getByText("50 % of requests, to the organization's bucket")).toBeVisible();

  // Payload logs: where they go, none yet (no pods serve here), and a sample of the last hour,
  // fetched with the bearer token and saved by the browser: the fixed columns, no rows.
  const logs = page.getByRole("region", { name: "Payload logs" });
  await expect(logs.getByText(/Logging 50 % of requests to/)).toContainText(`/${deployment}/`);
  await expect(logs.getByText("No payload logs in the last 7 days")).toBeVisible();
  const downloading = page.waitForEvent("download");
  await logs.getByRole("button", { name: "Download sample" }).click();
  const sample = await downloading;
  expect(sample.suggestedFilename()).toMatch(new RegExp(`^${deployment}-all-\\d{8}T\\d{4}-\\d{8}T\\d{4}\\.csv$`));
  expect(readFileSync(await sample.path(), "utf8")).toMatch(/^"?request_id"?,"?ts"?/);
  await expect(logs.getByRole("status")).toContainText("0 of 0 rows in the window.");

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Deployments" }).click();
  const row = page.getByRole("table", { name: "Deployments" }).getByRole("row", { name: new RegExp(deployment) });
  await expect(row).toContainText("Pending");
  await expect(row).toContainText("staging");
  await shot(page, "deployments");
  await expectAccessible(page);
  await page.getByLabel("Phase").selectOption("Ready");
  await expect(page.getByText("No deployment matches these filters")).toBeVisible();
  await page.getByLabel("Phase").selectOption("");
  await row.getByRole("link", { name: deployment }).click();

  // A rollout of version 2, as the facade answers it.
  const start = page.getByRole("form", { name: "Start a rollout" });
  await expect(start.getByLabel("Candidate version")).toContainText(`v2 (${name}-v2)`);
  await start.getByRole("button", { name: "Start rollout" }).click();
  const controls = page.getByRole("region", { name: "Actions" });
  await expect(controls.getByRole("status")).toHaveText(`Rollout of ${name}-v2 started.`);
  await expect(controls.getByRole("heading", { name: `Rollout of ${name}-v2` })).toBeVisible();
  await expect(page.getByRole("table", { name: "Rollouts, newest first" }).getByRole("row", { name: /in progress/ })).toContainText(`${name}-v1`);
  await controls.getByLabel("Reason (optional)").fill("hold on");
  await controls.getByRole("button", { name: "Pause" }).click();
  await expect(controls.getByText("Paused: the traffic split stays as it is.")).toBeVisible();

  // Try it: the request starts from the signature; no Service answers on the test platform.
  const tryIt = page.getByRole("form", { name: "Try an inference request" });
  await expect(tryIt.getByLabel("Inference request (OIP v2 JSON)")).toHaveValue(/"name": "x"/);
  await tryIt.getByRole("button", { name: "Send request" }).click();
  await expect(tryIt.getByRole("alert")).toContainText("503");
  await shot(page, "deployment", { top: true });
  await expectAccessible(page);

  // Monitoring: Prometheus answers, but no pod of this deployment ever served (the canary's
  // series are monitoring.spec.ts's), so the empty state; the tab and the range are kept in the URL.
  await page.getByRole("tab", { name: "Monitoring" }).click();
  await expect(page).toHaveURL(new RegExp(`\\?name=${deployment}&tab=monitoring&range=1h$`));
  const monitoring = page.getByRole("tabpanel", { name: "Monitoring" });
  await expect(monitoring.getByText("No traffic in this range yet")).toBeVisible();
  await monitoring.getByLabel("Range").selectOption("6h");
  await expect(page).toHaveURL(new RegExp(`&tab=monitoring&range=6h$`));
  await expect(monitoring.getByText("No traffic in this range yet")).toBeVisible();
  await expect(monitoring.getByText(/Nothing reached .* in the last 6 hours/)).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("tab", { name: "Overview" }).click();

  const production = page.getByRole("region", { name: "Actions" });
  await production.getByRole("button", { name: "Promote to production…" }).click();
  await production.getByRole("button", { name: "Copy to production" }).click();
  await expect(production.getByRole("status").last()).toContainText(`${name}-production`);

  await production.getByRole("button", { name: "Delete deployment…" }).click();
  await production.getByRole("button", { name: `Delete ${deployment}` }).click();
  await expect(page).toHaveURL(/\/deployments\/$/);
  const listed = page.getByRole("table", { name: "Deployments" });
  await expect(listed.getByRole("link", { name: `${name}-production` })).toBeVisible();
  await expect(listed.getByRole("link", { name: deployment })).toHaveCount(0);

  // A drift monitor on the production deployment. No operator runs here, so it stays pending
  // and its page shows only the empty states; the facade's refusal of a bad window in its words.
  await nav.getByRole("link", { name: "Drift monitors" }).click();
  await expect(page.getByText("No drift monitors yet")).toBeVisible();
  const create = page.getByRole("form", { name: "Create a drift monitor" });
  await create.getByLabel("Monitor name").fill(`${name}-drift`);
  await create.getByLabel("Deployment").selectOption(`${name}-production`);
  await create.getByLabel("Window size").fill("soon");
  await create.getByRole("button", { name: "Create monitor" }).click();
  await expect(create.getByRole("alert")).toContainText("spec.window.size");
  await create.getByLabel("Window size").fill("30m");
  await create.getByLabel("Default test").selectOption("psi");
  // Its own reference dataset, and two alert sinks (the webhook's URL stays in a Secret).
  await create.getByRole("radio", { name: "A dataset of its own" }).check();
  await create.getByLabel("Dataset URI").fill("s3://reference/fraud.csv");
  await create.getByLabel("Dataset SHA-256").fill("c".repeat(64));
  await create.getByLabel("Dataset format").selectOption("csv");
  await create.getByRole("button", { name: "Add a webhook" }).click();
  await create.getByLabel("Secret holding the URL of sink 1").fill("fraud-hooks");
  await create.getByRole("button", { name: "Add an Alertmanager" }).click();
  await create.getByLabel("Alertmanager URL of sink 2").fill("http://alertmanager.monitoring:9093");
  await create.getByLabel("Severity").nth(1).selectOption("critical");
  await expectAccessible(page);
  await create.getByRole("button", { name: "Create monitor" }).click();
  await expect(create.getByRole("status")).toHaveText(`Created ${name}-drift: it watches ${name}-production.`);
  const monitorRow = page.getByRole("table", { name: "Drift monitors" }).getByRole("row", { name: new RegExp(`${name}-drift`) });
  await expect(monitorRow).toContainText("pending");
  await expect(monitorRow).toContainText("not evaluated yet");
  await expectAccessible(page);
  await monitorRow.getByRole("link", { name: `${name}-drift` }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Drift monitor ${name}-drift` })).toBeVisible();
  await expect(page.getByText(/the operator has not reconciled it yet/)).toBeVisible();
  await expect(page.getByText("Not evaluated yet")).toBeVisible();
  await expect(page.getByText("No evaluations yet")).toBeVisible();
  await expect(page.getByRole("region", { name: "Live quality" })).toContainText("No quality section");
  await expect(page.getByRole("region", { name: "Candidate vs stable" })).toHaveCount(0);
  await expect(page.getByText(`s3://reference/fraud.csv (csv, sha256 ${"c".repeat(12)}…)`)).toBeVisible();
  await expect(page.getByRole("list", { name: "Alert sinks" }).getByRole("listitem")).toHaveText([
    "#0 webhook, URL in Secret fraud-hooks, key url; unsigned (warning)",
    "#1 Alertmanager at http://alertmanager.monitoring:9093 (critical)",
  ]);
  await shot(page, "monitor");
  await expectAccessible(page);
  // Edit it: the form starts from its spec (the reference and both sinks as created); a new
  // schedule and a live-quality section are saved through PUT and shown at once, the reference
  // and sinks kept.
  await page.getByRole("button", { name: "Edit monitor" }).click();
  const edit = page.getByRole("form", { name: `Edit drift monitor ${name}-drift` });
  await expect(edit.getByLabel("Schedule")).toHaveValue("*/15 * * * *");
  await expect(edit.getByLabel("Window size")).toHaveValue("30m");
  await expect(edit.getByLabel("Dataset URI")).toHaveValue("s3://reference/fraud.csv");
  await expect(edit.getByLabel("Secret holding the URL of sink 1")).toHaveValue("fraud-hooks");
  await expectAccessible(page);
  await edit.getByLabel("Schedule").fill("0 * * * *");
  // The live-quality section opens from the keyboard; a classification section is added.
  await edit.getByText("Live quality from feedback").focus();
  await page.keyboard.press("Enter");
  await edit.getByRole("checkbox", { name: /Score predictions against the ground truth/ }).press("Space");
  await edit.getByLabel("Minimum of metric 1").fill("0.9");
  await expectAccessible(page);
  await edit.getByRole("button", { name: "Save monitor" }).click();
  await expect(page.getByRole("region", { name: "Actions" }).getByRole("status")).toHaveText("Saved: the operator applies the new spec; the results so far stay.");
  await expect(page.locator("dt", { hasText: /^Schedule$/ }).locator("xpath=following-sibling::dd[1]")).toHaveText("0 * * * *");
  await expect(page.getByText(`s3://reference/fraud.csv (csv, sha256 ${"c".repeat(12)}…)`)).toBeVisible();
  await expect(page.getByRole("list", { name: "Alert sinks" }).getByRole("listitem")).toHaveCount(2);
  await expect(page.getByRole("region", { name: "Live quality" })).toContainText("Not scored yet");
  await page.getByRole("button", { name: "Delete monitor…" }).click();
  await page.getByRole("button", { name: `Delete ${name}-drift` }).click();
  await expect(page).toHaveURL(/\/monitors\/$/);
  await expect(page.getByText("No drift monitors yet")).toBeVisible();
});

test("create, rename and delete experiments, and find how to point the mlflow client at the organization", async ({ page, request }) => {
  const { email, slug } = await adminOfNewOrganization(request, "Eve Experimenter", "Research");
  await page.goto("/experiments/");
  await signIn(page, email);
  await expect(page.getByText("No experiments yet")).toBeVisible();
  await page.getByText("Log runs with the mlflow client").click();
  const settings = page.getByLabel("mlflow client settings");
  await expect(settings).toContainText(`MLFLOW_TRACKING_URI=${new URL(page.url()).origin}/api/v1/organizations/${slug}/mlflow`);
  await expect(settings).toContainText("MLFLOW_TRACKING_TOKEN=");

  const create = page.getByRole("form", { name: "Create an experiment" });
  for (const name of ["fraud-detection", "churn"]) {
    await create.getByLabel("Experiment name").fill(name);
    await create.getByRole("button", { name: "Create experiment" }).click();
    await expect(create.getByRole("status")).toHaveText(`Created ${name}.`);
  }
  const table = page.getByRole("table", { name: "Experiments" });
  await expect(table.getByRole("link", { name: "fraud-detection" })).toBeVisible();
  // MLflow's "name taken", as the facade's 409, said plainly.
  await create.getByLabel("Experiment name").fill("churn");
  await create.getByRole("button", { name: "Create experiment" }).click();
  await expect(create.getByRole("alert")).toHaveText("An experiment with this name already exists in this organization.");
  await shot(page, "experiments");
  await expectAccessible(page);

  await table.getByRole("button", { name: "Rename churn" }).click();
  const rename = table.getByRole("form", { name: "Rename churn" });
  await rename.getByLabel("New name").fill("churn-2027");
  await rename.getByRole("button", { name: "Save" }).click();
  await expect(table.getByRole("link", { name: "churn-2027" })).toBeVisible();

  await page.getByLabel("Search experiments").fill("FRAUD");
  await expect(table.getByRole("link")).toHaveText(["fraud-detection"]);
  await page.getByLabel("Search experiments").fill("");

  await table.getByRole("button", { name: "Delete churn-2027…" }).click();
  await table.getByRole("button", { name: "Yes, delete churn-2027 and its runs" }).click();
  await expect(table.getByRole("link", { name: "churn-2027" })).toHaveCount(0);
  await page.reload();
  await signIn(page, email);
  await expect(page.getByRole("table", { name: "Experiments" }).getByRole("link")).toHaveText(["fraud-detection"]);
});

/** Log runs into a new experiment as the mlflow client does, through the facade's MLflow
 * proxy: depth 2, 4 and 8 (the deepest does best), each with a 20-step loss history, an auc, an
 * lr param and a notes file; depth-2 failed; depth-4 also logged the E2E_ONNX_MODEL file as an
 * ONNX model at `model`. Returns the experiment's id and the runs' ids. */
async function logRuns(request: APIRequestContext, headers: Record<string, string>, org: { id: string; slug: string }, experiment: string) {
  const made = await request.post(`/api/v1/organizations/${org.id}/experiments`, { headers, data: { name: experiment } });
  expect(made.status()).toBe(201);
  const experimentId = (await made.json()).data.id as string;
  const mlflow = `/api/v1/organizations/${org.slug}/mlflow/api/2.0`;
  const runs: Record<string, string> = {};
  for (const [index, depth] of ["2", "4", "8"].entries()) {
    const started = Date.now() - 60_000;
    const created = await request.post(`${mlflow}/mlflow/runs/create`, {
      headers,
      data: { experiment_id: experimentId, run_name: `depth-${depth}`, start_time: started },
    });
    expect(created.status()).toBe(200);
    const info = (await created.json()).run.info as { run_id: string; artifact_uri: string };
    const loss = Array.from({ length: 20 }, (_, step) => ({ key: "loss", value: 1 / (step + 1 + index), timestamp: started, step }));
    const batch = await request.post(`${mlflow}/mlflow/runs/log-batch`, {
      headers,
      data: {
        run_id: info.run_id,
        metrics: [...loss, { key: "auc", value: 0.7 + index / 10, timestamp: started, step: 0 }],
        params: [
          { key: "depth", value: depth },
          { key: "lr", value: "0.1" },
        ],
        tags: [{ key: "team", value: "risk" }],
      },
    });
    expect(batch.status()).toBe(200);
    const artifacts = info.artifact_uri.replace(/^mlflow-artifacts:\//, "").replace(/^\/+/, "");
    const put = await request.put(`${mlflow}/mlflow-artifacts/artifacts/${artifacts}/notes/readme.txt`, { headers, data: `depth ${depth}` });
    expect(put.ok()).toBe(true);
    if (depth === "4" && process.env.E2E_ONNX_MODEL) {
      // What mlflow.onnx.log_model(…, name="model") uploads: the MLmodel file and the graph.
      for (const [file, data] of [
        ["MLmodel", "artifact_path: model\nflavors:\n  onnx:\n    data: model.onnx\n  python_function:\n    loader_module: mlflow.onnx\n"],
        ["model.onnx", readFileSync(process.env.E2E_ONNX_MODEL)],
      ] as const) {
        expect((await request.put(`${mlflow}/mlflow-artifacts/artifacts/${artifacts}/model/${file}`, { headers, data })).ok()).toBe(true);
      }
    }
    const status = depth === "2" ? "FAILED" : "FINISHED";
    const ended = await request.post(`${mlflow}/mlflow/runs/update`, { headers, data: { run_id: info.run_id, status, end_time: Date.now() } });
    expect(ended.status()).toBe(200);
    runs[`depth-${depth}`] = info.run_id;
  }
  return { experimentId, runs };
}

test("runs logged through the facade's MLflow: the table, sorting, search, a run's page and its chart, comparison", async ({ page, request }) => {
  const { email, headers, slug, org } = await adminOfNewOrganization(request, "Rita Researcher", "Risk");
  const { runs } = await logRuns(request, headers, { id: org, slug }, "fraud");

  await page.goto("/experiments/");
  await signIn(page, email);
  await page.getByRole("table", { name: "Experiments" }).getByRole("link", { name: "fraud" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "fraud" })).toBeVisible();
  const table = page.getByRole("table", { name: "Runs of fraud" });
  // Newest first: depth-8 was logged last.
  await expect(table.getByRole("link")).toHaveText(["depth-8", "depth-4", "depth-2"]);
  await expect(table.getByRole("row", { name: /depth-8/ })).toContainText("finished");
  await expect(table.getByRole("row", { name: /depth-2/ })).toContainText("failed");
  await expect(table.getByRole("row", { name: /depth-4/ }).getByRole("cell")).toContainText(["4", "0.1", "0.8", "0.04762"]);
  await shot(page, "runs");
  await expectAccessible(page);

  const auc = table.getByRole("columnheader", { name: /auc/ });
  await auc.getByRole("button").click();
  await expect(auc).toHaveAttribute("aria-sort", "descending");
  await expect(table.getByRole("link")).toHaveText(["depth-8", "depth-4", "depth-2"]);
  await auc.getByRole("button").click();
  await expect(auc).toHaveAttribute("aria-sort", "ascending");
  await expect(table.getByRole("link")).toHaveText(["depth-2", "depth-4", "depth-8"]);

  const search = page.getByRole("form", { name: "Search runs" });
  await search.getByLabel("Search runs").fill("metrics.auc > 0.75 and params.depth != '8'");
  await search.getByRole("button", { name: "Search" }).click();
  await expect(table.getByRole("link")).toHaveText(["depth-4"]);
  // MLflow's parser refuses a half-written clause; its words reach the page.
  await search.getByLabel("Search runs").fill("metrics.auc >");
  await search.getByRole("button", { name: "Search" }).click();
  await expect(page.getByRole("main").getByRole("alert")).toContainText("The search was refused: Invalid clause(s) in filter string");
  await search.getByLabel("Search runs").fill("");
  await search.getByLabel("Status").selectOption("FAILED");
  await search.getByRole("button", { name: "Search" }).click();
  await expect(page.getByRole("table", { name: "Runs of fraud" }).getByRole("link")).toHaveText(["depth-2"]);
  await search.getByLabel("Status").selectOption("");
  await search.getByRole("button", { name: "Search" }).click();

  // A run's page: its facts, params, metrics, tags, the file it logged and a metric's history.
  await table.getByRole("link", { name: "depth-4" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "depth-4" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Parameters" }).getByRole("row", { name: "depth 4" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Latest metrics" }).getByRole("row", { name: "auc 0.8" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Tags" }).getByRole("row", { name: "team risk" })).toBeVisible();
  await expect(page.getByRole("list", { name: "Artifacts of depth-4" })).toContainText("readme.txt · 7 B");
  // A logged file saved from the tree, through the facade's MLflow proxy (with the token).
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download notes/readme.txt" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("readme.txt");
  expect(readFileSync(await download.path(), "utf8")).toBe("depth 4");
  await expect(page.getByRole("status").filter({ hasText: "Saved notes/readme.txt (7 B)." })).toBeVisible();
  await expect(page.getByRole("img", { name: /^auc by step depth-4: 1 point, step 0 to 0/ })).toBeVisible();
  await page.getByRole("combobox", { name: "Metric" }).selectOption("loss");
  const chart = page.getByRole("img", { name: /^loss by step/ });
  await expect(chart).toHaveAccessibleName("loss by step depth-4: 20 points, step 0 to 19, from 0.5 to 0.04762 (lowest 0.04762, highest 0.5).");
  await expect(chart.locator("path")).toHaveCount(1);
  await shot(page, "run");
  await expectAccessible(page);

  // Register the run's ONNX model as the first version of a new model, then open that version.
  if (process.env.E2E_ONNX_MODEL) {
    const registration = page.getByRole("form", { name: "Register as model version" });
    await registration.getByLabel("Model name").fill("fraud-depth-4");
    await registration.getByRole("button", { name: "Register as model version" }).click();
    await expect(registration.getByRole("status")).toHaveText("Registered the new model fraud-depth-4 version 1 from this run.");
    await expectAccessible(page);
    await registration.getByRole("link", { name: "Open fraud-depth-4 version 1" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Version 1" })).toBeVisible();
    await expect(page.getByText(runs["depth-4"]!, { exact: true })).toBeVisible();
    await expect(page.getByRole("table", { name: "Inputs" }).getByRole("row", { name: "x FP32 [any, 4]", exact: true })).toBeVisible();
    // A second try with a path the run has no model at: the facade's reason is shown.
    await page.goBack();
    await registration.getByLabel("Model name").fill("fraud-depth-4");
    await registration.getByLabel("Path in the run").fill("no-such-folder");
    await registration.getByRole("button", { name: "Register as model version" }).click();
    await expect(registration.getByRole("alert")).toContainText("no-such-folder");
  }
  await page.getByRole("link", { name: "All runs of fraud" }).click();

  await table.getByRole("checkbox", { name: "Select depth-8" }).check();
  await table.getByRole("checkbox", { name: "Select depth-4" }).check();
  const selectedChart = page.getByRole("region", { name: "Metrics of the selected runs" });
  await expect(selectedChart.getByRole("img", { name: /^auc by step depth-8: 1 point.* depth-4: 1 point/ })).toBeVisible();
  await page.getByRole("link", { name: "Compare 2 runs" }).click();

  // Side by side: depth differs, lr does not; the latest metrics; both losses on one chart.
  await expect(page.getByRole("heading", { level: 1, name: "Compare 2 runs" })).toBeVisible();
  const params = page.getByRole("table", { name: "Parameters side by side" });
  await expect(params.getByRole("columnheader")).toHaveText(["Key", "depth-8", "depth-4"]);
  await expect(params.getByRole("row", { name: /^depth/ })).toHaveText("depthdiffers84");
  await expect(page.getByText("1 of 2 parameters differs.")).toBeVisible();
  await expect(params.getByRole("rowheader", { name: "lr" })).toBeVisible();
  await page.getByRole("checkbox", { name: "Only differences" }).check();
  await expect(params.getByRole("rowheader")).toHaveText(["depthdiffers"]);
  await expect(page.getByRole("table", { name: "Latest metrics side by side" }).getByRole("row", { name: /^auc/ })).toHaveText("aucdiffers0.90.8");
  await page.getByRole("combobox", { name: "Metric" }).selectOption("loss");
  await expect(page.getByRole("img", { name: /^loss by step depth-8: 20 points.* depth-4: 20 points/ }).locator("path")).toHaveCount(2);
  await shot(page, "compare");
  await expectAccessible(page);
  await page.getByRole("link", { name: "Back to the runs" }).click();
  await expect(page.getByRole("table", { name: "Runs of fraud" })).toBeVisible();
});

test("roles: a viewer reads every page but is offered no write, a refused write says why; another organization's user sees none of it", async ({ page, request }) => {
  const onnx = process.env.E2E_ONNX_MODEL;
  test.skip(!onnx, "E2E_ONNX_MODEL names no ONNX file");
  // The owner's organization: a model with a version, its staging deployment, runs in MLflow.
  const owner = await adminOfNewOrganization(request, "Olga Owner", "Secret Lab");
  const { headers, org } = owner;
  const name = unique("risk");
  const made = await request.post(`/api/v1/organizations/${org}/models`, { headers, data: { name, task_type: "classification" } });
  expect(made.status()).toBe(201);
  const model = (await made.json()).data.id as string;
  const file = { name: "model.onnx", mimeType: "application/octet-stream", buffer: readFileSync(onnx!) };
  const uploaded = await request.post(`/api/v1/organizations/${org}/models/${model}/versions`, { headers, multipart: { file } });
  expect(uploaded.status()).toBe(201);
  const version = (await uploaded.json()).data.id as string;
  const deployed = await request.post(`/api/v1/organizations/${org}/deployments`, { headers, data: { version_id: version, name: `${name}-live` } });
  expect(deployed.status()).toBe(201);
  const monitored = await request.post(`/api/v1/organizations/${org}/monitors`, {
    headers,
    data: {
      name: `${name}-drift`,
      spec: {
        deploymentRef: { name: `${name}-live` },
        quality: { task: "regression", prediction: "output.score.0", metrics: [{ metric: "mae", max: 0.2 }], labelDelay: "6h" },
      },
    },
  });
  expect(monitored.status()).toBe(201);
  await logRuns(request, headers, { id: org, slug: owner.slug }, "fraud");

  // A colleague joins as a developer.
  const colleague = `${unique("colleague")}@example.com`;
  expect((await request.post("/api/v1/auth/register", { data: { email: colleague, password: PASSWORD, display_name: "Vic Viewer" } })).status()).toBe(201);
  const added = await request.post(`/api/v1/organizations/${org}/members`, { headers, data: { email: colleague, role: "developer" } });
  expect(added.status()).toBe(201);
  const colleagueId = (await added.json()).data.user_id as string;

  await test.step("demoted to viewer while the page is open: the write is refused in the facade's words", async () => {
    await page.goto(`/models/version/?model=${model}&version=${version}`);
    await signIn(page, colleague);
    const deploy = page.getByRole("region", { name: "Deploy this version" });
    await expect(deploy.getByRole("button", { name: "Deploy" })).toBeEnabled();
    const demoted = await request.patch(`/api/v1/organizations/${org}/members/${colleagueId}`, { headers, data: { role: "viewer" } });
    expect(demoted.status()).toBe(200);
    await deploy.getByRole("button", { name: "Deploy" }).click();
    await expect(deploy.getByRole("alert")).toHaveText("Not allowed: role viewer may not deployment:create");
  });

  await test.step("as a viewer: the pages, and no write action on them", async () => {
    await page.reload(); // signs out: the session lives in memory
    await signIn(page, colleague);
    await expect(page.getByRole("heading", { level: 1, name: "Version 1" })).toBeVisible();
    await expect(page.getByRole("combobox", { name: "Organization" }).locator("option:checked")).toHaveText("Secret Lab (viewer)");
    await expect(page.getByRole("region", { name: "Deploy this version" })).toHaveCount(0);

    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Models" }).click();
    const models = page.getByRole("table", { name: "Models" });
    await expect(models.getByRole("link", { name })).toBeVisible();
    await expect(page.getByRole("button", { name: "Register model" })).toHaveCount(0);
    await models.getByRole("link", { name }).click();
    await expect(page.getByRole("table", { name: `Versions of ${name}` }).getByRole("link", { name: "v1" })).toBeVisible();
    await expect(page.getByLabel("ONNX file")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Upload" })).toHaveCount(0);

    await nav.getByRole("link", { name: "Deployments" }).click();
    await page.getByRole("table", { name: "Deployments" }).getByRole("link", { name: `${name}-live` }).click();
    await expect(page.getByRole("heading", { level: 1, name: `${name}-live` })).toBeVisible();
    await expect(page.getByText("Viewers can watch deployments but not change them.")).toBeVisible();
    await expect(page.getByText("Viewers can read these settings but not change them.")).toBeVisible();
    await expect(page.getByText(/only the organization's developers and admins can read them/)).toBeVisible();
    for (const button of ["Start rollout", "Edit settings", "Promote to production…", "Delete deployment…", "Download sample"]) {
      await expect(page.getByRole("button", { name: button })).toHaveCount(0);
    }
    await expectAccessible(page);

    await nav.getByRole("link", { name: "Experiments" }).click();
    await expect(page.getByRole("button", { name: "Create experiment" })).toHaveCount(0);
    await page.getByRole("table", { name: "Experiments" }).getByRole("link", { name: "fraud" }).click();
    await page.getByRole("table", { name: "Runs of fraud" }).getByRole("link", { name: "depth-4" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "depth-4" })).toBeVisible();
    await expect(page.getByText("Registering a run's model as a version needs the developer or admin role.")).toBeVisible();
    await expect(page.getByRole("button", { name: "Register as model version" })).toHaveCount(0);

    await nav.getByRole("link", { name: "Members" }).click();
    await expect(page.getByRole("table", { name: /2 members of Secret Lab/ })).toBeVisible();
    await expect(page.getByRole("button", { name: "Add member" })).toHaveCount(0);

    await nav.getByRole("link", { name: "Drift monitors" }).click();
    await expect(page.getByText("Viewers can read drift monitors; developers and admins create and delete them.")).toBeVisible();
    await expect(page.getByRole("form", { name: "Create a drift monitor" })).toHaveCount(0);
    await page.getByRole("table", { name: "Drift monitors" }).getByRole("link", { name: `${name}-drift` }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Drift monitor ${name}-drift` })).toBeVisible();
    await expect(page.getByText("Viewers can read drift monitors; developers and admins edit and delete them.")).toBeVisible();
    await expect(page.getByRole("region", { name: "Live quality" })).toContainText("Not scored yet");
    await expect(page.getByRole("region", { name: "Live quality" })).toContainText("6h after the window ends");
    await expect(page.getByRole("button", { name: "Delete monitor…" })).toHaveCount(0);
  });

  await test.step("a user of another organization sees none of it", async () => {
    const outsider = `${unique("outsider")}@example.com`;
    expect((await request.post("/api/v1/auth/register", { data: { email: outsider, password: PASSWORD, display_name: "Otto Outsider" } })).status()).toBe(201);
    await page.goto("/organizations/");
    await signIn(page, outsider);
    await expect(page.getByText("No organizations yet")).toBeVisible();
    await expect(page.getByText("Secret Lab")).toHaveCount(0);
    await expect(page.getByRole("combobox", { name: "Organization" })).toHaveCount(0);
    // Even a guessed link to the other organization's model pages shows nothing of it.
    await page.goto(`/models/versions/?model=${model}`);
    await signIn(page, outsider);
    await expect(page.getByText("No organization", { exact: true })).toBeVisible();
    await expect(page.getByText(owner.slug)).toHaveCount(0);
  });
});

test("first load of the main page: bytes and time (E2E_METRICS=<file> keeps them)", async ({ browser }) => {
  const context = await browser.newContext(); // empty cache
  const page = await context.newPage();
  await page.goto("/", { waitUntil: "load" });
  await expect(page.getByRole("heading", { name: "Sign in to Modelplane" })).toBeVisible();
  const metrics = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType("navigation") as PerformanceNavigationTiming[];
    const resources = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
    const scripts = resources.filter((r) => r.initiatorType === "script" || r.name.endsWith(".js"));
    const styles = resources.filter((r) => r.name.endsWith(".css"));
    const bytes = (list: PerformanceResourceTiming[]) => list.reduce((sum, r) => sum + r.encodedBodySize, 0);
    return {
      html_bytes: nav?.encodedBodySize ?? 0,
      js_files: scripts.length,
      js_bytes: bytes(scripts),
      css_bytes: bytes(styles),
      ttfb_ms: Math.round(nav?.responseStart ?? 0),
      dom_content_loaded_ms: Math.round(nav?.domContentLoadedEventEnd ?? 0),
      load_ms: Math.round(nav?.loadEventEnd ?? 0),
    };
  });
  const sink = process.env.E2E_METRICS;
  if (sink) writeFileSync(sink, JSON.stringify(metrics, null, 2) + "\n");
  expect(metrics.js_files).toBeGreaterThan(0);
  expect(metrics.load_ms).toBeLessThan(10_000);
  await context.close();
});
