#!/usr/bin/env bash
# Installs what TalkTrace needs on Debian/Ubuntu (only what is missing) and finds Swift.
# Sourced by the other scripts; safe to run again.
set -euo pipefail

packages=(pkg-config libsndfile1-dev libfftw3-dev zlib1g-dev libisal-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev python3 ${TALKTRACE_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin "$HOME/.local/share/swiftly/bin"; do
    [ -x "$d/swift" ] && export PATH="$d:$PATH" && break
  done
fi
command -v swift >/dev/null 2>&1 || {
  echo "setup: Swift 6 is not installed; install it from https://www.swift.org/install/linux/ (or put it on PATH) and rerun" >&2
  exit 1
}
