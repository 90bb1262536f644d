import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/api/client";

import { makeQueryClient } from "./providers";

describe("makeQueryClient", () => {
  it("retries a failed query once, unless the facade answered 4xx", () => {
    const retry = makeQueryClient().getDefaultOptions().queries?.retry;
    if (typeof retry !== "function") throw new Error("retry should be a function");
    const unavailable = new ApiError(503, "database_unavailable", "down");
    expect(retry(0, unavailable)).toBe(true);
    expect(retry(1, unavailable)).toBe(false);
    expect(retry(0, new ApiError(404, "not_found", "gone"))).toBe(false);
    expect(retry(0, new TypeError("Failed to fetch"))).toBe(true);
  });
});
