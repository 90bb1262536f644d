import { screen, within } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { failure, org, pageOf, server, signInHandlers } from "@/test/server";

import UsagePage from "./page";

const acme = org("acme");

function usage(days: number) {
  return {
    success: true,
    data: {
      start: "2026-12-01",
      end: "2026-12-07",
      deployments: [
        {
          deployment: "fraud-api",
          requests: 1200 * days,
          predictions: 4800,
          days: [
            { day: "2026-12-06", requests: 200, predictions: 800 },
            { day: "2026-12-07", requests: 1000, predictions: 4000 },
          ],
        },
      ],
    },
    metadata: { timestamp: "2026-12-07T12:00:00Z", request_id: "r" },
  };
}

describe("Usage page", () => {
  it("lists requests and predictions per deployment and asks again for another range", async () => {
    const asked: string[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([acme])),
      http.get(`/api/v1/organizations/${acme.id}/usage`, ({ request }) => {
        const days = new URL(request.url).searchParams.get("days") ?? "";
        asked.push(days);
        return HttpResponse.json(usage(Number(days)));
      }),
    );
    const { user } = renderApp(<UsagePage />);
    await signInThroughForm(user);
    const table = await screen.findByRole("table", { name: /Requests and predictions per deployment/ });
    const row = within(table).getByRole("row", { name: /fraud-api/ });
    expect(row).toHaveTextContent("8,400");
    expect(row).toHaveTextContent("4,800");
    expect(row).toHaveTextContent("2026-12-07: 1,000");
    expect(asked).toEqual(["7"]);

    await user.selectOptions(screen.getByLabelText("Days"), "31");
    expect(await screen.findByText("37,200")).toBeInTheDocument();
    expect(asked).toEqual(["7", "31"]);
  });

  it("explains a 403 to members who are not admins", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([org("acme", "developer")])),
      http.get(`/api/v1/organizations/${acme.id}/usage`, () =>
        failure(403, "permission_denied", "role developer may not usage:read"),
      ),
    );
    const { user } = renderApp(<UsagePage />);
    await signInThroughForm(user);
    expect(await screen.findByRole("alert")).toHaveTextContent("You do not have permission");
  });
});
