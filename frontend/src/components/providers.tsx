"use client";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";

import { ApiError } from "@/lib/api/client";
import { AuthProvider, useAuth } from "@/lib/auth";
import { OrganizationProvider } from "@/lib/organization";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        // A 4xx will not change by asking again; anything else is retried once.
        retry: (count, error) => count < 1 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      },
    },
  });
}

function PerUser({ children }: { children: ReactNode }) {
  const { user } = useAuth();
  // A new user starts with a fresh organization choice.
  return <OrganizationProvider key={user?.id ?? "signed-out"}>{children}</OrganizationProvider>;
}

export function Providers({ children, queryClient }: { children: ReactNode; queryClient?: QueryClient }) {
  const [client] = useState(() => queryClient ?? makeQueryClient());
  return (
    <QueryClientProvider client={client}>
      <AuthProvider>
        <PerUser>{children}</PerUser>
      </AuthProvider>
    </QueryClientProvider>
  );
}
