#!/usr/bin/env bash
# Vendor the console's front-end assets: install the npm packages pinned in
# src/hangar/web/package-lock.json (only when node_modules is missing or older than the lock)
# and copy htmx into src/hangar/web/static/vendor/ (gitignored). Idempotent.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/src/hangar/web"
vendor="$web/static/vendor"
installed="$web/node_modules/.package-lock.json"  # npm writes it on every install

if ! command -v npm >/dev/null; then
  echo "web-assets: npm not found; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

if [[ ! -f "$installed" || "$web/package-lock.json" -nt "$installed" \
      || ! -f "$web/node_modules/htmx.org/dist/htmx.min.js" ]]; then
  echo "web-assets: npm ci in src/hangar/web" >&2
  npm ci --prefix "$web" --no-audit --no-fund
fi

mkdir -p "$vendor"
cp "$web/node_modules/htmx.org/dist/htmx.min.js" "$vendor/htmx.min.js"
cp "$web/node_modules/htmx.org/LICENSE" "$vendor/htmx.LICENSE.txt"
echo "web-assets: vendored htmx $(node -p "require('$web/node_modules/htmx.org/package.json').version" 2>/dev/null || echo '?') into src/hangar/web/static/vendor/" >&2
