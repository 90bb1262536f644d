import { QueryClient } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";

import { Providers } from "@/components/providers";

/** Render inside the app's providers with a fresh query cache that does not retry. */
export function renderApp(ui: ReactElement) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const user = userEvent.setup();
  return { user, queryClient, ...render(<Providers queryClient={queryClient}>{ui}</Providers>) };
}

/** Sign in through the form every protected page shows while signed out. */
export async function signInThroughForm(user: ReturnType<typeof userEvent.setup>, password = "pw") {
  await user.type(screen.getByLabelText("Email"), "alice@example.com");
  await user.type(screen.getByLabelText("Password"), password);
  await user.click(screen.getByRole("button", { name: "Sign in" }));
}
