#!/usr/bin/env bash
# Install everything Modelplane needs on this machine; idempotent and quick when nothing is
# missing. Called by every make target, so a fresh clone on a new machine needs nothing else.
#   1. Debian packages: PostgreSQL server, Redis, Prometheus, Alertmanager, and for the real node
#      runc, the CNI plugins, iptables, conntrack, buildah and mmdebstrap (only those missing;
#      needs root)
#   2. uv (from PyPI) and the Python workspace from uv.lock (.venv)
#   3. the Go binaries of the local platform, built once and cached in ~/.cache/modelplane
#   4. the dashboard's npm packages (frontend/, from its package-lock.json) and, for its
#      end-to-end tests, Debian's Chromium and fonts (Node.js ≥ 20.9 is required)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

need_apt=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v prometheus >/dev/null || need_apt+=(prometheus)
# Drift alerts are tested against a real Alertmanager (tests/operator/alerts).
[ -x /usr/bin/prometheus-alertmanager ] || need_apt+=(prometheus-alertmanager)
# The real node (cli/src/modelplane_cli/local/node.py) and its images (images.py).
[ -x /usr/sbin/runc ] || need_apt+=(runc)
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
command -v iptables >/dev/null || need_apt+=(iptables)
command -v conntrack >/dev/null || need_apt+=(conntrack)
command -v buildah >/dev/null || need_apt+=(buildah)
command -v mmdebstrap >/dev/null || need_apt+=(mmdebstrap)
# The dashboard (frontend/): Node.js to build it, Chromium and fonts for Playwright's tests.
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -d /usr/share/fonts/truetype/liberation ] || need_apt+=(fonts-liberation)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Debian's packages would start system-wide services; ours run on free loopback ports instead.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! command -v uv >/dev/null; then
  say "installing uv from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "uv>=0.9,<1" 2>&1 | grep -v WARNING || true
  command -v uv >/dev/null || { command -v pyenv >/dev/null && pyenv rehash; }
fi
UV=$(command -v uv || echo "python3 -m uv")
$UV sync --frozen --quiet

if ! $UV run --frozen python -c 'import sys; from modelplane_cli.local.binaries import ALL_BUILDS; sys.exit(0 if all(b.is_built() for b in ALL_BUILDS) else 1)'; then
  say "building the local platform's binaries (etcd, Kubernetes, kwok, MinIO, containerd, pause, CoreDNS, Prometheus) from Go modules"
  $UV run --frozen modelplane dev build
fi

# The dashboard's packages: `npm install` (not `npm ci`, which fails on the lockfile's missing
# non-Linux optional binaries), skipped when the lockfile has not changed since the last install.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 9) ? 0 : 1)'; then
  say "Node.js $(node --version) is too old for the dashboard (Next.js 16 needs 20.9 or newer)"
  exit 1
fi
stamp=frontend/node_modules/.modelplane-installed
lock_sum() { cat frontend/package.json frontend/package-lock.json | sha256sum | cut -d' ' -f1; }
if [ "$(cat "$stamp" 2>/dev/null)" != "$(lock_sum)" ]; then
  say "installing the dashboard's npm packages (frontend/)"
  (cd frontend && NEXT_TELEMETRY_DISABLED=1 npm install --no-audit --no-fund --loglevel=error)
  lock_sum > "$stamp"
fi
