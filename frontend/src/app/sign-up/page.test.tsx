import { screen } from "@testing-library/react";
import { http } from "msw";
import { describe, expect, it } from "vitest";

import { renderApp } from "@/test/render";
import { routerPush } from "@/test/router";
import { alice, envelope, failure, pageOf, server, signInHandlers } from "@/test/server";

import SignUpPage from "./page";

describe("Sign-up page", () => {
  it("creates the account, signs in and goes to the organizations", async () => {
    const registered: unknown[] = [];
    server.use(
      ...signInHandlers(),
      http.get("/api/v1/organizations", () => pageOf([])),
      http.post("/api/v1/auth/register", async ({ request }) => {
        registered.push(await request.json());
        return envelope(alice, 201);
      }),
    );
    const { user } = renderApp(<SignUpPage />);
    await user.type(screen.getByLabelText("Name"), "Alice");
    await user.type(screen.getByLabelText("Email"), "alice@example.com");
    await user.type(screen.getByLabelText("Password"), "pw");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText(/Signed in as alice@example.com/)).toBeInTheDocument();
    expect(registered).toEqual([{ email: "alice@example.com", password: "pw", display_name: "Alice" }]);
    expect(routerPush).toHaveBeenCalledWith("/organizations/");
    expect(screen.getByRole("button", { name: "Sign out" })).toBeInTheDocument();
  });

  it("says when the email is taken", async () => {
    server.use(http.post("/api/v1/auth/register", () => failure(409, "already_exists", "exists")));
    const { user } = renderApp(<SignUpPage />);
    await user.type(screen.getByLabelText("Name"), "Alice");
    await user.type(screen.getByLabelText("Email"), "alice@example.com");
    await user.type(screen.getByLabelText("Password"), "a long password");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("An account with this email already exists.");
  });
});
