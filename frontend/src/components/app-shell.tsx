"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";

import { useAuth } from "@/lib/auth";
import { useOrganization } from "@/lib/organization";

import { AuthForm } from "./auth-form";
import { ErrorBoundary } from "./error-boundary";
import { Button, SelectField } from "./ui";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/organizations/", label: "Organizations" },
  { href: "/members/", label: "Members" },
  { href: "/projects/", label: "Projects" },
  { href: "/experiments/", label: "Experiments" },
  { href: "/models/", label: "Models" },
  { href: "/deployments/", label: "Deployments" },
  { href: "/monitors/", label: "Drift monitors" },
  { href: "/api-keys/", label: "API keys" },
  { href: "/audit/", label: "Audit log" },
  { href: "/usage/", label: "Usage" },
];

export function OrganizationSwitcher() {
  const { organizations, current, select, isLoading } = useOrganization();
  if (isLoading) return <span className="text-sm text-slate-500">Loading organizations…</span>;
  if (organizations.length === 0) return null;
  return (
    <SelectField
      label="Organization"
      hideLabel
      value={current?.id ?? ""}
      onChange={(event) => select(event.target.value)}
    >
      {organizations.map((org) => (
        <option key={org.id} value={org.id}>
          {org.display_name} ({org.role})
        </option>
      ))}
    </SelectField>
  );
}

function Header() {
  const { user, signOut } = useAuth();
  const pathname = usePathname();
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-3 px-4 py-3">
        <Link href="/" className="text-lg font-semibold text-indigo-700">
          Modelplane
        </Link>
        {user ? (
          <>
            <nav aria-label="Main" className="flex flex-1 flex-wrap gap-1">
              {NAV.map((item) => (
                <Link
                  key={item.href}
                  href={item.href}
                  aria-current={pathname === item.href ? "page" : undefined}
                  className="rounded-md px-3 py-1.5 text-sm text-slate-700 hover:bg-slate-100 aria-[current=page]:bg-slate-100 aria-[current=page]:font-medium"
                >
                  {item.label}
                </Link>
              ))}
            </nav>
            <OrganizationSwitcher />
            <span className="text-sm text-slate-600">
              <span className="sr-only">Signed in as </span>
              {user.display_name}
            </span>
            <Button variant="secondary" onClick={() => void signOut()}>
              Sign out
            </Button>
          </>
        ) : null}
      </div>
    </header>
  );
}

/** The frame of every page; pages that need a session show the sign-in form until there is one. */
export function AppShell({ children, requireAuth = true }: { children: ReactNode; requireAuth?: boolean }) {
  const { user } = useAuth();
  return (
    <>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <Header />
      <main id="main" className="mx-auto max-w-6xl px-4 py-8">
        <ErrorBoundary>{requireAuth && !user ? <AuthForm mode="sign-in" /> : children}</ErrorBoundary>
      </main>
    </>
  );
}
