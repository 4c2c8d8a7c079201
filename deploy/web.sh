#!/usr/bin/env bash
# Builds the dashboard page (gateway/web: TypeScript + ECharts, pinned by its
# package-lock.json) into build/web, which kam-board serves. Incremental: npm ci runs
# when the lock file changed, the build when a source is newer than the output.
#   deploy/web.sh            build into build/web
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
web=$root/gateway/web
out=$root/build/web
[ -f "$web/package.json" ] || { echo "web: gateway/web has no package.json"; exit 1; }
stamp=$web/node_modules/.kam-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s "$web/package-lock.json" "$stamp"; then
  echo "web: installing the page's pinned npm packages"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$web/package-lock.json" "$stamp"
fi
if [ ! -f "$out/app.js" ] || [ -n "$(find "$web" -path "$web/node_modules" -prune -o -type f -newer "$out/app.js" -print -quit)" ]; then
  echo "web: building the dashboard page into build/web"
  (cd "$web" && npm run --silent build -- "$out")
fi
