"use client";

import { createContext, useContext, useMemo, useState, type ReactNode } from "react";

import { useOrganizations, type Organization } from "./queries";

export interface OrganizationValue {
  organizations: Organization[];
  /** The organization pages work in: the one chosen, else the first one. */
  current: Organization | null;
  select(id: string): void;
  isLoading: boolean;
  error: unknown;
  refetch(): void;
}

const OrganizationContext = createContext<OrganizationValue | null>(null);

/** The organization switcher's state, in memory (per session; mount it keyed by the user). */
export function OrganizationProvider({ children }: { children: ReactNode }) {
  const query = useOrganizations();
  const [selected, setSelected] = useState<string | null>(null);
  const value = useMemo<OrganizationValue>(() => {
    const organizations = query.data ?? [];
    return {
      organizations,
      current: organizations.find((o) => o.id === selected) ?? organizations[0] ?? null,
      select: setSelected,
      isLoading: query.isLoading,
      error: query.error,
      refetch: () => void query.refetch(),
    };
  }, [query, selected]);
  return <OrganizationContext.Provider value={value}>{children}</OrganizationContext.Provider>;
}

export function useOrganization(): OrganizationValue {
  const value = useContext(OrganizationContext);
  if (value === null) throw new Error("useOrganization needs an <OrganizationProvider>");
  return value;
}
