import "@testing-library/jest-dom/vitest";

import { cleanup } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, vi } from "vitest";

import { server } from "./server";

import { location, routerPush } from "./router";

// The app router is not mounted in unit tests; pages only push to it after signing in.
vi.mock("next/navigation", async () => {
  const { routerPush: push, location } = await import("./router");
  return {
    useRouter: () => ({ push, replace: push, prefetch: () => {}, back: () => {} }),
    usePathname: () => "/",
    useSearchParams: () => location.search,
  };
});

// Every request must have a handler: an unexpected call fails the test.
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  cleanup();
  server.resetHandlers();
  routerPush.mockReset();
  location.search = new URLSearchParams();
});
afterAll(() => server.close());
