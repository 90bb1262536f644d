import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";

import { adminOfNewOrganization, expectAccessible, signIn } from "./support";

// The demo's canary on the Monitoring tab, charted from real series. tests/frontend/conftest.py
// runs two serving runtimes as the canary's stable and candidate pods, a Prometheus that scrapes
// them with the labels of organization E2E_CANARY_ORG's namespace, deployment E2E_CANARY_MODEL
// and its versions 1 and 2, and traffic split three to one (every fifth request to the candidate
// malformed). This test creates what those labels name, through the facade, and looks; then it
// looks again through a second facade that has no Prometheus (E2E_NO_PROMETHEUS_URL).

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("the demo's canary: stable and candidate overlaid on the Monitoring tab, read from Prometheus", async ({ page, request }) => {
  test.setTimeout(90_000); // the tab refreshes once while it is open
  const slug = process.env.E2E_CANARY_ORG;
  const model = process.env.E2E_CANARY_MODEL;
  const onnx = process.env.E2E_ONNX_MODEL;
  test.skip(!slug || !model || !onnx, "E2E_CANARY_ORG, E2E_CANARY_MODEL and E2E_ONNX_MODEL name no canary");
  const { email, headers, org } = await adminOfNewOrganization(request, "Dana Scientist", "Fraud team", slug);
  const base = `/api/v1/organizations/${org}`;
  const registered = await request.post(`${base}/models`, { headers, data: { name: model, task_type: "classification" } });
  expect(registered.status()).toBe(201);
  const modelId = (await registered.json()).data.id as string;
  const file = { name: "model.onnx", mimeType: "application/octet-stream", buffer: readFileSync(onnx!) };
  const versions: string[] = [];
  for (let i = 0; i < 2; i++) {
    const uploaded = await request.post(`${base}/models/${modelId}/versions`, { headers, multipart: { file } });
    expect(uploaded.status()).toBe(201);
    versions.push((await uploaded.json()).data.id as string);
  }
  const deployed = await request.post(`${base}/deployments`, { headers, data: { version_id: versions[0], name: model } });
  expect(deployed.status()).toBe(201);
  const rollout = await request.post(`${base}/deployments/${model}/rollouts`, { headers, data: { version_id: versions[1], preset: "canary" } });
  expect(rollout.status()).toBe(201);

  await page.goto(`/deployments/deployment/?name=${model}&tab=monitoring&range=15m`);
  await signIn(page, email);
  await expect(page.getByRole("heading", { level: 1, name: model })).toBeVisible();
  const monitoring = page.getByRole("tabpanel", { name: "Monitoring" });
  await expect(monitoring.getByLabel("Range")).toHaveValue("15m");
  const [stable, candidate] = [`${model}-v1 (stable)`, `${model}-v2 (candidate)`];

  // Request rate: a line for each version (a path through two points at least), the stable one
  // first, each with its last value in the legend; three requests reach stable for each one the
  // candidate gets.
  const rate = monitoring.getByRole("figure", { name: "Request rate (requests/s)" });
  const legend = rate.getByRole("list", { name: "Legend" }).getByRole("listitem");
  await expect(legend).toHaveText([new RegExp(`^${escape(stable)} · last [\\d.]+$`), new RegExp(`^${escape(candidate)} · last [\\d.]+$`)]);
  const lines = rate.getByRole("img").locator("path");
  await expect(lines).toHaveCount(2);
  for (const d of await lines.evaluateAll((paths) => paths.map((path) => path.getAttribute("d") ?? ""))) {
    expect(d).toMatch(/^M[\d.-]+ [\d.-]+( L[\d.-]+ [\d.-]+)+$/);
  }
  const [stableRate, candidateRate] = (await legend.allTextContents()).map((text) => Number(text.split("last ")[1]));
  expect(stableRate).toBeGreaterThan(candidateRate!);
  expect(candidateRate).toBeGreaterThan(0);

  // The candidate's malformed requests: its 4xx ratio and its schema violations are series too.
  await expect(monitoring.getByRole("img", { name: new RegExp(`^Errors \\(% of requests\\).*${escape(candidate)} 4xx: \\d+ points`) })).toBeVisible();
  await expect(monitoring.getByRole("img", { name: new RegExp(`^Schema violations \\(violations/s\\).*${escape(candidate)}: \\d+ points`) })).toBeVisible();
  await expect(monitoring.getByRole("img", { name: new RegExp(`^Latency \\(ms\\).*${escape(stable)} p99: \\d+ points`) })).toBeVisible();
  // The rollout began seconds ago, after the last point; the tab's next refresh (every 30 s)
  // reaches past it, and its start is marked on the time axis and listed.
  await expect(monitoring.getByRole("list", { name: "Rollout moments" })).toContainText(`Rollout of ${model}-v2 started`, { timeout: 45_000 });
  await expectAccessible(page);

  // With E2E_SCREENSHOTS set (a directory, e.g. docs/img/dashboard), keep the chart as drawn.
  const directory = process.env.E2E_SCREENSHOTS;
  if (directory) await page.screenshot({ path: `${directory}/monitoring-canary.png`, fullPage: true });

  // The same tab from a second facade on the same database and cluster but with no Prometheus
  // configured: the 503 is explained, not shown as an error. (Another range than above: the
  // facades share Redis, where answers are kept for a few seconds.)
  const withoutPrometheus = process.env.E2E_NO_PROMETHEUS_URL;
  if (!withoutPrometheus) return;
  await page.goto(`${withoutPrometheus}/deployments/deployment/?name=${model}&tab=monitoring&range=1h`);
  await signIn(page, email);
  const unavailable = page.getByRole("tabpanel", { name: "Monitoring" }).getByRole("alert");
  await expect(unavailable).toContainText("Metrics are unavailable right now.");
  await expect(unavailable).toContainText("ask your platform team if this persists");
  await expect(page.getByRole("img", { name: /^Request rate/ })).toHaveCount(0);
  await expectAccessible(page);
});
