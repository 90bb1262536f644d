"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";

import { ApiError, describeError } from "@/lib/api/client";
import { useAuth } from "@/lib/auth";

import { Button, TextField } from "./ui";

type Mode = "sign-in" | "sign-up";

function explain(error: unknown, mode: Mode): string {
  if (error instanceof ApiError) {
    if (error.code === "invalid_credentials") return "The email or password is not right.";
    if (error.status === 409) return "An account with this email already exists. Sign in instead.";
    if (error.status === 422 && mode === "sign-up")
      return "Check the fields: a valid email and a password of at least 12 characters.";
  }
  return describeError(error);
}

/** Sign in, or create an account and sign in; `onDone` runs once signed in. */
export function AuthForm({ mode, onDone }: { mode: Mode; onDone?: () => void }) {
  const { signIn, signUp, notice } = useAuth();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const title = mode === "sign-in" ? "Sign in to Modelplane" : "Create your Modelplane account";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    setBusy(true);
    setError(null);
    try {
      if (mode === "sign-in") await signIn(email, password);
      else await signUp({ email, password, display_name: String(form.get("display_name") ?? "") });
      onDone?.();
    } catch (caught) {
      setError(explain(caught, mode));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="auth-title" className="mx-auto w-full max-w-sm rounded-xl bg-white p-6 shadow-sm ring-1 ring-slate-200">
      <h1 id="auth-title" className="text-xl font-semibold">
        {title}
      </h1>
      {notice && mode === "sign-in" ? (
        <p role="status" className="mt-3 rounded-md bg-amber-50 p-2 text-sm text-amber-900">
          {notice}
        </p>
      ) : null}
      <form className="mt-4 space-y-4" onSubmit={submit} aria-describedby={error ? "auth-error" : undefined}>
        {mode === "sign-up" ? (
          <TextField label="Name" name="display_name" autoComplete="name" required maxLength={200} />
        ) : null}
        <TextField label="Email" name="email" type="email" autoComplete="email" required />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete={mode === "sign-in" ? "current-password" : "new-password"}
          required
          minLength={mode === "sign-up" ? 12 : 1}
          hint={mode === "sign-up" ? "At least 12 characters." : undefined}
        />
        {error ? (
          <p id="auth-error" role="alert" className="text-sm text-red-700">
            {error}
          </p>
        ) : null}
        <Button type="submit" busy={busy} className="w-full">
          {mode === "sign-in" ? "Sign in" : "Create account"}
        </Button>
      </form>
      <p className="mt-4 text-sm text-slate-600">
        {mode === "sign-in" ? (
          <>
            New here?{" "}
            <Link className="font-medium text-indigo-700 underline" href="/sign-up/">
              Create an account
            </Link>
          </>
        ) : (
          <>
            Have an account?{" "}
            <Link className="font-medium text-indigo-700 underline" href="/sign-in/">
              Sign in
            </Link>
          </>
        )}
      </p>
    </section>
  );
}
