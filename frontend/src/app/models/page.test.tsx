import { screen, within } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { location } from "@/test/router";
import { acme, fraud, model, version } from "@/test/registry";
import { envelope, pageOf, server, signInHandlers } from "@/test/server";

import ModelsPage from "./page";
import VersionsPage from "./versions/page";

describe("Models pages", () => {
  it("lists models and searches them by name", async () => {
    const asked: (string | null)[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models", ({ request }) => {
        const name = new URL(request.url).searchParams.get("filter[name]");
        asked.push(name);
        return pageOf([fraud, model("churn", null)].filter((m) => !name || m.name.includes(name)));
      }),
    );
    const { user } = renderApp(<ModelsPage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: "Models" });
    expect(within(table).getByRole("link", { name: "fraud" })).toHaveAttribute("href", expect.stringContaining(`model=${fraud.id}`));
    expect(within(table).getByRole("row", { name: /churn/ })).toHaveTextContent("none");

    await user.type(screen.getByLabelText("Search models"), "fra");
    await screen.findByText((_, element) => element?.tagName === "TBODY" && element.querySelectorAll("tr").length === 1);
    expect(asked).toContain("fra");
    await user.clear(screen.getByLabelText("Search models"));
    await user.type(screen.getByLabelText("Search models"), "zzz");
    expect(await screen.findByText('No model\'s name contains "zzz"')).toBeInTheDocument();
  });

  it("shows a model's versions with digest, state and conditions", async () => {
    location.search = new URLSearchParams({ model: fraud.id });
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get("/api/v1/organizations/:orgId/models/:modelId", () => envelope(fraud)),
      http.get("/api/v1/organizations/:orgId/models/:modelId/versions", () =>
        pageOf([version(2, "stalled", "DigestMismatch"), version(1, "ready", null)]),
      ),
    );
    const { user } = renderApp(<VersionsPage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("heading", { name: "fraud" })).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "Versions of fraud" });
    const v2 = within(table).getByRole("row", { name: /v2/ });
    expect(within(v2).getByText("stalled")).toBeInTheDocument();
    expect(within(v2).getByText("DigestMismatch")).toBeInTheDocument();
    expect(within(v2).getByText("2".repeat(64))).toBeInTheDocument();
    await user.click(within(v2).getByText("2 conditions"));
    expect(within(v2).getByText("sha256 checked")).toBeVisible();
    expect(within(within(table).getByRole("row", { name: /v1/ })).getByText("ready")).toBeInTheDocument();
  });
});
