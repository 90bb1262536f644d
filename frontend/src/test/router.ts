import { vi } from "vitest";

/** What pages pushed to the (mocked) app router. */
export const routerPush = vi.fn();

/** The query string the (mocked) `useSearchParams` returns; tests set it. */
export const location = { search: new URLSearchParams() };
