#!/usr/bin/env bash
# Installs Debian's chromium for the inventory page's rendering test (tests/inventory),
# unless it is already there. Needs root (CI runs as root); apt-get only.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
