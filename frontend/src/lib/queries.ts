"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { unwrap, type Schemas } from "./api/client";
import { useAuth } from "./auth";

export type Organization = Schemas["OrganizationPublic"];
export type Member = Schemas["MemberPublic"];

export const keys = {
  organizations: ["organizations"] as const,
  members: (orgId: string) => ["organizations", orgId, "members"] as const,
};

/** Organizations the signed-in user belongs to (the first 100, by name). */
export function useOrganizations() {
  const { client, user } = useAuth();
  return useQuery({
    queryKey: keys.organizations,
    enabled: user !== null,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations", {
          params: { query: { limit: 100, sort: "display_name" } },
        }),
      ).data,
  });
}

export function useCreateOrganization() {
  const { client } = useAuth();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["OrganizationCreate"]) =>
      unwrap(await client.POST("/api/v1/organizations", { body })).data,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.organizations }),
  });
}

/** Members of an organization and their roles (the first 100). */
export function useMembers(orgId: string | null) {
  const { client } = useAuth();
  return useQuery({
    queryKey: keys.members(orgId ?? "-"),
    enabled: orgId !== null,
    queryFn: async () =>
      unwrap(
        await client.GET("/api/v1/organizations/{org_id}/members", {
          params: { path: { org_id: orgId ?? "" }, query: { limit: 100 } },
        }),
      ),
  });
}
