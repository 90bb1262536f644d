"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";

import { useAuth } from "@/lib/auth";

import { AppShell } from "./app-shell";
import { AuthForm } from "./auth-form";

/** The sign-in and sign-up pages: the form, then on to the organizations. */
export function AuthPage({ mode }: { mode: "sign-in" | "sign-up" }) {
  const { user } = useAuth();
  const router = useRouter();
  return (
    <AppShell requireAuth={false}>
      {user ? (
        <p className="text-center">
          Signed in as {user.email}.{" "}
          <Link className="font-medium text-indigo-700 underline" href="/organizations/">
            Go to your organizations
          </Link>
        </p>
      ) : (
        <AuthForm mode={mode} onDone={() => router.push("/organizations/")} />
      )}
    </AppShell>
  );
}
