#!/usr/bin/env bash
# Install code-server (VS Code in the browser, the editor of Hangar's dev environments) into
# PREFIX with npm, pinned to one version: scripts/code-server.sh [PREFIX]
# PREFIX defaults to .tools/code-server in the repo root (gitignored). Idempotent: when PREFIX
# already holds the pinned version it does nothing. Progress goes to stderr; the last line of
# stdout is the absolute path of the launcher to execute (PREFIX/node_modules/.bin/code-server).
# The install can be bind-mounted read-only afterwards: code-server never writes inside it.
#
# Needs Node.js 20 with npm, and for the native modules a C/C++ toolchain, python3, pkg-config,
# libkrb5-dev (the kerberos module) and ripgrep (see below). Runs offline apart from the npm
# registry, as root or not; a fresh install takes about a minute and 300 MB.
set -euo pipefail

# The newest release that supports Node 20: 4.103 and later declare engines.node "22".
CODE_SERVER_VERSION=4.100.3
# code-server's postinstall runs `npm install` in lib/vscode, where @vscode/ripgrep's postinstall
# downloads a ripgrep binary from GitHub. It first looks in a cache under $TMPDIR, which we seed
# with Debian's rg (same ripgrep 13.0.0), so no GitHub access is needed. Both values come from
# lib/vscode/npm-shrinkwrap.json of the pinned release: bump them with CODE_SERVER_VERSION.
RIPGREP_NPM_VERSION=1.15.11
RIPGREP_RELEASE=v13.0.0-10
NODE_MAJOR=20

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${1:-$root/.tools/code-server}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
launcher="$prefix/node_modules/.bin/code-server"
stamp="$prefix/.installed-version"  # written last, after a successful install
# The native modules are built for one Node ABI: a different node means a reinstall (or an error).
want="$CODE_SERVER_VERSION node-abi-$(node -p 'process.versions.modules' 2>/dev/null || echo none)"

installed() { [[ -x "$launcher" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; }

if installed; then
  echo "$launcher"
  exit 0
fi

# One installer at a time per prefix (parallel test workers may all ask for it).
exec 9>"$prefix/.install.lock"
flock 9
if installed; then
  echo "$launcher"
  exit 0
fi

die() { echo "code-server: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null \
  || die "node and npm not found; install Node.js $NODE_MAJOR (with npm)"
node_version="$(node -p 'process.versions.node')"
[[ "${node_version%%.*}" == "$NODE_MAJOR" ]] \
  || die "code-server $CODE_SERVER_VERSION needs Node.js $NODE_MAJOR, found $node_version"
rg="$(command -v rg || true)"
[[ -n "$rg" ]] || die "ripgrep not found; install it (Debian: apt-get install ripgrep)"
case "$(node -p 'process.arch')" in
  x64) rg_target=x86_64-unknown-linux-musl ;;
  arm64) rg_target=aarch64-unknown-linux-musl ;;
  *) die "unsupported CPU architecture $(node -p 'process.arch')" ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Scratch space for npm, node-gyp and the ripgrep cache; removed on exit.
export TMPDIR="$tmp"
mkdir -p "$tmp/rg" "$tmp/vscode-ripgrep-cache-$RIPGREP_NPM_VERSION"
cp "$rg" "$tmp/rg/rg"
tar -czf "$tmp/vscode-ripgrep-cache-$RIPGREP_NPM_VERSION/ripgrep-$RIPGREP_RELEASE-$rg_target.tar.gz" \
  -C "$tmp/rg" rg

# Environment for npm and the lifecycle scripts (all inherit it, nested `npm install`s too).
# code-server's postinstall.sh refuses to run as root unless npm_config_unsafe_perm=true: npm 6
# exported that for --unsafe-perm, npm >= 7 dropped the option (scripts run as root anyway), so
# set the variable ourselves. npm 11 warns 'Unknown env config "unsafe-perm"': harmless.
export npm_config_unsafe_perm=true
# node-pty's postinstall runs `npx node-gyp`, which must not stop to ask (a user npmrc may say
# yes=false, which makes npx cancel).
export npm_config_yes=true
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# node-gyp compiles against these headers; without them it downloads them from nodejs.org.
# Distribution packages of Node put them in <prefix>/include/node. A `nodedir` in the npm user
# config does the same today, but npm 11 calls it an unknown config that will stop working.
if [[ -z "${npm_config_nodedir:-}" ]]; then
  node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  headers="$node_prefix/include/node/node_version.h"
  if [[ -f "$headers" ]]; then
    headers_version="$(awk '/define NODE_(MAJOR|MINOR|PATCH)_VERSION/ {printf "%s%s", sep, $3; sep="."}' "$headers")"
    if [[ "$headers_version" == "$node_version" ]]; then
      export npm_config_nodedir="$node_prefix"
    fi
  fi
fi

echo "code-server: installing $CODE_SERVER_VERSION into $prefix (about a minute)" >&2
rm -rf "$prefix/node_modules" "$prefix/package-lock.json" "$stamp"
# allowScripts: npm 11 only warns about unapproved install scripts today; approve the two that
# code-server needs up front (the nested installs in lib/vscode still print their list).
cat >"$prefix/package.json" <<EOF
{
  "name": "hangar-code-server",
  "private": true,
  "description": "Written by scripts/code-server.sh",
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
npm install --prefix "$prefix" --omit=dev --foreground-scripts >&2 \
  || die "npm install failed; the native modules need build-essential, python3, pkg-config and libkrb5-dev"

[[ -x "$prefix/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]] \
  || die "lib/vscode has no ripgrep binary; check RIPGREP_NPM_VERSION/RIPGREP_RELEASE"
# --config /dev/null: otherwise code-server writes ~/.config/code-server/config.yaml.
"$launcher" --config /dev/null --version >&2
echo "$want" >"$stamp"
echo "$launcher"
