"use client";

import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";

import { createApiClient, unwrap, type ApiClient, type Schemas, type TokenSource } from "./api/client";

export type User = Schemas["UserPublic"];
export type Account = Schemas["UserCreate"];

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

interface Snapshot {
  /** The signed-in user, or null. */
  user: User | null;
  /** Why the last session ended on its own (its refresh was refused), for the sign-in form. */
  notice: string | null;
}

/** Seconds before the access token expires at which it is refreshed. */
const REFRESH_MARGIN_SECONDS = 60;
const SESSION_ENDED = "Your session has ended. Sign in again.";

/**
 * A session with the facade, in memory only: the tokens live in this object (never in
 * localStorage, sessionStorage or cookies), so a reload signs out. The access token is refreshed
 * shortly before it expires, and on any 401, by rotating the refresh token — one rotation at a
 * time, so two requests failing together do not present the same refresh token twice.
 */
export class Session implements TokenSource {
  readonly client: ApiClient;
  private tokens: Tokens | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<boolean> | null = null;
  private snapshot: Snapshot = { user: null, notice: null };
  private readonly listeners = new Set<() => void>();

  /** `onEnd` runs whenever the session ends (sign-out or a refused refresh): drop cached data. */
  constructor(private readonly onEnd: () => void = () => {}) {
    this.client = createApiClient(this);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): Snapshot => this.snapshot;

  accessToken(): string | null {
    return this.tokens?.accessToken ?? null;
  }

  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    const current = this.tokens;
    if (!current) return Promise.resolve(false);
    this.inflight = this.rotate(current).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  signIn = async (email: string, password: string): Promise<void> => {
    const pair = unwrap(await this.client.POST("/api/v1/auth/login", { body: { email, password } })).data;
    this.accept(pair);
    try {
      const user = unwrap(await this.client.GET("/api/v1/auth/me")).data;
      this.publish({ user, notice: null });
    } catch (error) {
      this.end(null);
      throw error;
    }
  };

  signUp = async (account: Account): Promise<void> => {
    unwrap(await this.client.POST("/api/v1/auth/register", { body: account }));
    await this.signIn(account.email, account.password);
  };

  signOut = async (): Promise<void> => {
    const current = this.tokens;
    if (current) {
      try {
        await this.client.POST("/api/v1/auth/logout", { body: { refresh_token: current.refreshToken } });
      } catch {
        // Forgotten here either way; the server expires them.
      }
    }
    this.end(null);
  };

  dispose(): void {
    this.stopTimer();
  }

  private async rotate(current: Tokens): Promise<boolean> {
    try {
      const result = await this.client.POST("/api/v1/auth/refresh", {
        body: { refresh_token: current.refreshToken },
      });
      if (result.response.status === 401) {
        if (this.tokens === current) this.end(SESSION_ENDED);
        return false;
      }
      this.accept(unwrap(result).data);
      return true;
    } catch {
      return false; // offline or a 5xx: keep the session; the next request tries again
    }
  }

  private accept(pair: Schemas["TokenPublic"]): void {
    this.tokens = { accessToken: pair.access_token, refreshToken: pair.refresh_token };
    this.stopTimer();
    const delay = Math.max(5, pair.expires_in - REFRESH_MARGIN_SECONDS) * 1000;
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  private end(notice: string | null): void {
    this.tokens = null;
    this.stopTimer();
    this.publish({ user: null, notice });
    this.onEnd();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private publish(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener();
  }
}

export interface AuthValue extends Snapshot {
  client: ApiClient;
  /** For requests the typed client cannot make (uploads with progress): the current access
   * token and the same single-flight refresh. */
  tokens: TokenSource;
  signIn(email: string, password: string): Promise<void>;
  signUp(account: Account): Promise<void>;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

/** Holds the session for the pages below it; signing out also clears React Query's cache. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [session] = useState(() => new Session(() => queryClient.clear()));
  useEffect(() => () => session.dispose(), [session]);
  const snapshot = useSyncExternalStore(session.subscribe, session.getSnapshot, session.getSnapshot);
  const value = useMemo<AuthValue>(
    () => ({
      ...snapshot,
      client: session.client,
      tokens: session,
      signIn: session.signIn,
      signUp: session.signUp,
      signOut: session.signOut,
    }),
    [snapshot, session],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error("useAuth needs an <AuthProvider>");
  return value;
}
