import { screen } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp, signInThroughForm } from "@/test/render";
import { pageOf, server, signInHandlers } from "@/test/server";

import SignInPage from "./page";

describe("Sign-in page", () => {
  it("says when the credentials are wrong", async () => {
    server.use(...signInHandlers());
    const { user } = renderApp(<SignInPage />);
    await signInThroughForm(user, "wrong");
    expect(await screen.findByRole("alert")).toHaveTextContent("The email or password is not right.");
  });

  it("signs out from the header", async () => {
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([])),
      http.post("/api/v1/auth/logout", () => new HttpResponse(null, { status: 204 })),
    );
    const { user } = renderApp(<SignInPage />);
    await signInThroughForm(user);
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { name: "Sign in to Modelplane" })).toBeInTheDocument();
  });
});
