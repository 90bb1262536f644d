import type { NextConfig } from "next";

// A static export served by the facade at `/` (same origin, no CORS). During `next dev` the
// API is proxied to a running facade: MODELPLANE_API_URL, default http://127.0.0.1:8000.
const apiUrl = process.env.MODELPLANE_API_URL ?? "http://127.0.0.1:8000";
const dev = process.env.NODE_ENV === "development";

const config: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  ...(dev
    ? {
        // API paths have no trailing slash: keep Next from redirecting them to one.
        skipTrailingSlashRedirect: true,
        async rewrites() {
          return [{ source: "/api/:path*", destination: `${apiUrl}/api/:path*` }];
        },
      }
    : {}),
};

export default config;
