import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { ErrorBoundary } from "./error-boundary";

let explode = true;

function Fragile() {
  const [label] = useState("fine now");
  if (explode) throw new Error("kaboom");
  return <p>{label}</p>;
}

describe("ErrorBoundary", () => {
  it("shows the error instead of a blank page and lets the user try again", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    render(
      <ErrorBoundary>
        <Fragile />
      </ErrorBoundary>,
    );
    expect(screen.getByRole("alert")).toHaveTextContent("kaboom");
    explode = false;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(screen.getByText("fine now")).toBeInTheDocument();
  });
});
