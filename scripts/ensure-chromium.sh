#!/usr/bin/env bash
# Make sure a Chromium binary exists at /usr/bin/chromium: the cluster tests drive the Consul web UI
# with playwright-core (installed by npm), which brings no browser of its own.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

LIB_NAME=ensure-chromium
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -x "${CHROMIUM}" ]]; then
  say "${CHROMIUM} is present ($("${CHROMIUM}" --version 2>/dev/null || echo 'version unknown'))."
  exit 0
fi

# Only root on Debian can fix this here; Ubuntu's chromium is a snap stub, so it is not tried.
if ! can_apt_get || grep -qi ubuntu /etc/os-release 2>/dev/null; then
  die "${CHROMIUM} is missing. Install Chromium there (Debian: 'sudo apt-get install -y chromium'), then re-run."
fi

apt_install chromium || die "'apt-get install -y chromium' failed; install Chromium yourself so that ${CHROMIUM} exists."
[[ -x "${CHROMIUM}" ]] || die "chromium was installed but ${CHROMIUM} is still missing."
say "installed $("${CHROMIUM}" --version 2>/dev/null || echo chromium)."
