#!/bin/sh
# Installs the pinned Node SDKs (package-lock.json) for NodeSdkIT. Run by the build
# (exec-maven-plugin, phase pre-integration-test) from this directory.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
if [ -z "$major" ] || [ "$major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20+ is required for the Node SDK acceptance tests: install Node.js 20 or newer (with npm) on PATH, found: $(node --version 2>/dev/null || echo 'no node'), $(npm --version 2>/dev/null || echo 'no npm'); or skip the integration tests with -DskipITs" >&2
  exit 1
fi
# node_modules installed by this script from this very lock file (same Node major): nothing to do.
# A fresh clone (CI) has no stamp and installs; a changed lock file or Node.js installs again.
stamp=node_modules/.twinhub-npm-ci
want="node $major; $(cksum < package-lock.json)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "Node SDKs already installed from this package-lock.json (delete node_modules to reinstall)"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error --prefer-offline && echo "$want" > "$stamp"
