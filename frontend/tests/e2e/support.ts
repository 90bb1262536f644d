import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type Page } from "@playwright/test";

// What the dashboard's Playwright tests share: a password, unique names, signing in, axe-core's
// check and a new organization made through the facade's API.

export const PASSWORD = "correct horse battery staple";

export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export async function signIn(page: Page, email: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** axe-core's WCAG 2.1 A/AA rules on what the page shows: no serious or critical violation. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  expect(results.passes.length).toBeGreaterThan(0); // the rules ran
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}

/** A new user (signed up through the API) and the organization they created and administer
 * (`slug`, else a unique one). */
export async function adminOfNewOrganization(request: APIRequestContext, displayName: string, organization: string, slug = unique("org")) {
  const email = `${unique("user")}@example.com`;
  expect((await request.post("/api/v1/auth/register", { data: { email, password: PASSWORD, display_name: displayName } })).status()).toBe(201);
  const login = await request.post("/api/v1/auth/login", { data: { email, password: PASSWORD } });
  const headers = { Authorization: `Bearer ${(await login.json()).data.access_token as string}` };
  const created = await request.post("/api/v1/organizations", { headers, data: { slug, display_name: organization } });
  expect(created.status()).toBe(201);
  return { email, headers, slug, org: (await created.json()).data.id as string };
}
