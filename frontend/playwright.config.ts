import { defineConfig } from "@playwright/test";

// Runs against a facade that serves the static export: tests/frontend/test_e2e.py starts one on
// the real PostgreSQL and Redis and passes its address in E2E_BASE_URL. Debian's Chromium is used
// (never `playwright install`); Playwright 1.64 matches its major version.
export default defineConfig({
  testDir: "tests/e2e",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: process.env.E2E_BASE_URL ?? "http://127.0.0.1:8000",
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
