#!/bin/sh
# Installs the pinned Node SDKs (package-lock.json) for NodeSdkIT. Run by the build
# (exec-maven-plugin, phase pre-integration-test) from this directory.
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
if [ -z "$major" ] || [ "$major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js 20+ is required for the Node SDK acceptance tests: install Node.js 20 or newer (with npm) on PATH, found: $(node --version 2>/dev/null || echo 'no node'), $(npm --version 2>/dev/null || echo 'no npm'); or skip the integration tests with -DskipITs" >&2
  exit 1
fi
exec npm ci --no-audit --no-fund --loglevel=error
