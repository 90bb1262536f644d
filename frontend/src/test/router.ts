import { vi } from "vitest";

/** What pages pushed to the (mocked) app router. */
export const routerPush = vi.fn();
