#!/usr/bin/env bash
# `npm run setup`: everything `npm test` needs on a Debian machine with Node, installed when missing
# and only then. A second run checks and installs nothing (about a second).
#
#   npm run setup               # installs what is missing (as root, or through sudo)
#   npm run setup -- --check    # installs nothing: says what is missing and the line that would install it
#
# Without root and without sudo it installs what it can (node_modules) and prints the one line that
# installs the rest as root. It exits non-zero while anything is missing, so `npm run setup && npm test`
# never runs a suite that would skip a tier.
#
# The system packages are listed here, once: `need PACKAGE PROBE WHY` (PROBE is a shell test that
# succeeds when the package is usable). Add yours below with the tier that needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s%N)
check_only=no
for arg in "$@"; do
  case "$arg" in
    --check) check_only=yes ;;
    *) echo "usage: npm run setup [-- --check]" >&2; exit 2 ;;
  esac
done
say() { echo "[setup] $*"; }

packages=()   # every package listed, for the line printed without root
missing=()    # the ones whose probe failed
declare -A probe_of
need() {
  local pkg=$1 probe=$2 why=$3
  packages+=("$pkg")
  probe_of[$pkg]=$probe
  if (eval "$probe") >/dev/null 2>&1; then
    say "$(printf '%-14s' "$pkg") ok       $why"
  else
    say "$(printf '%-14s' "$pkg") MISSING  $why"
    missing+=("$pkg")
  fi
}

# ---- the system packages (Debian names) -------------------------------------------------------
need redis-server 'command -v redis-server' \
  'the store tests, the API outage tests and every call tier start their own throwaway redis-server'
need chromium '[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]' \
  "the web app's browser tests (test/web, through playwright-core)"
need faketime 'command -v faketime' \
  'the clock-moved tier: store, rules and API a year ahead (tools/test-clock-moved.ts)'
# ------------------------------------------------------------------------------------------------

# A real Asterisk 22.10.1 for the real-Asterisk tier: Debian has none, so it is built from the source
# kept in ../shared/asterisk (its build.sh installs its own build dependencies with apt; ~4 min, once).
ASTERISK_VERSION=22.10.1
asterisk_bin=${ASTERISK_BIN:-/opt/asterisk-$ASTERISK_VERSION/sbin/asterisk}
asterisk_build=$(realpath -m "$root/../shared/asterisk/build.sh")
asterisk_missing=no
if [ -x "$asterisk_bin" ] && "$asterisk_bin" -V 2>/dev/null | grep -q "Asterisk $ASTERISK_VERSION"; then
  say "$(printf '%-14s' asterisk) ok       the real-Asterisk tier: $asterisk_bin"
else
  say "$(printf '%-14s' asterisk) MISSING  the real-Asterisk tier: Asterisk $ASTERISK_VERSION at $asterisk_bin (built by $asterisk_build)"
  asterisk_missing=yes
fi

# Node and node_modules: the Node version package.json asks for, and node_modules exactly as
# package-lock.json has it (every package at its locked version; optional ones for other platforms
# may be absent). Reading ~600 package.json files is far faster than an `npm ci` that is not needed.
node_state=$(node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const want = /^>=\s*(\d+)(?:\.(\d+))?/.exec(pkg.engines?.node ?? "") ?? [];
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (want[1] && (maj < +want[1] || (maj === +want[1] && min < +(want[2] ?? 0)))) {
    console.log(`node ${process.versions.node}, but package.json needs ${pkg.engines.node}`);
    process.exit(0);
  }
  if (!fs.existsSync("node_modules")) { console.log("npm node_modules is missing"); process.exit(0); }
  const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
  for (const [p, meta] of Object.entries(lock.packages)) {
    if (!p || meta.link) continue;
    let v;
    try { v = JSON.parse(fs.readFileSync(p + "/package.json", "utf8")).version; } catch {}
    if (v === undefined && meta.optional) continue;
    if (v !== meta.version) {
      console.log(`npm ${p.replace(/^.*node_modules\//, "")} is ${v ?? "missing"}, package-lock.json has ${meta.version}`);
      process.exit(0);
    }
  }
  console.log("ok");
')
case "$node_state" in
  ok) say "$(printf '%-14s' node_modules) ok       as package-lock.json has it (node $(node -v))" ;;
  npm\ *) say "$(printf '%-14s' node_modules) MISSING  ${node_state#npm }: npm ci" ;;
  *) say "$node_state: install a Node that fits (https://nodejs.org, or Debian's nodesource packages)"; exit 1 ;;
esac

system_line() {
  local line=""
  [ "${#missing[@]}" -eq 0 ] || line="apt-get update && apt-get install -y ${missing[*]}"
  if [ "$asterisk_missing" = yes ]; then line="${line:+$line && }bash $asterisk_build"; fi
  echo "$line"
}
done_in() { echo "$(( ($(date +%s%N) - started) / 1000000 ))ms"; }

if [ "${#missing[@]}" -eq 0 ] && [ "$asterisk_missing" = no ] && [ "$node_state" = ok ]; then
  say "ready in $(done_in): nothing to install; npm test runs every tier"
  exit 0
fi
if [ "$check_only" = yes ]; then
  [ "$node_state" = ok ] || say "would run: npm ci"
  [ -z "$(system_line)" ] || say "would run as root: $(system_line)"
  exit 1
fi

# node_modules needs no root
if [ "$node_state" != ok ]; then
  say "npm ci: node_modules from package-lock.json"
  npm ci --no-audit --no-fund
fi

if [ -n "$(system_line)" ]; then
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || { [ -t 0 ] && sudo -v; }; }; then
      as_root=(sudo)
    else
      say "cannot install without root or sudo; as root, this one line does it:"
      echo "  $(system_line)"
      say "then: npm run setup && npm test"
      exit 1
    fi
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing with apt-get: ${missing[*]}"
    log=$(mktemp)
    export DEBIAN_FRONTEND=noninteractive
    if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
      tail -20 "$log"; rm -f "$log"; say "apt-get failed"; exit 1
    fi
    rm -f "$log"
    for pkg in "${missing[@]}"; do
      (eval "${probe_of[$pkg]}") >/dev/null 2>&1 || { say "$pkg is installed but its check still fails: ${probe_of[$pkg]}"; exit 1; }
    done
  fi
  if [ "$asterisk_missing" = yes ]; then
    [ -f "$asterisk_build" ] || { say "cannot build Asterisk: $asterisk_build is not there"; exit 1; }
    if [ -n "${ASTERISK_BIN:-}" ]; then
      say "ASTERISK_BIN=$ASTERISK_BIN is not Asterisk $ASTERISK_VERSION; unset it to build one into /opt"; exit 1
    fi
    say "building Asterisk $ASTERISK_VERSION into /opt/asterisk-$ASTERISK_VERSION (about 4 minutes on 2 cores, once)"
    bash "$asterisk_build"
  fi
fi
say "ready in $(done_in): npm test runs every tier"
