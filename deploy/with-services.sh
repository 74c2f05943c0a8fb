#!/usr/bin/env bash
# Runs a command with the local Kafka broker and PostgreSQL up and their
# REPORTS_* settings exported. Services this script started are stopped when
# the command ends, pass or fail; services that were already up are left up.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
services="$here/services.sh"

if bash "$services" status >/dev/null 2>&1; then
  started_here=false
else
  started_here=true
fi
if $started_here; then
  trap 'bash "$services" down' EXIT
fi

eval "$(bash "$services" up | grep '^export ')"
"$@"
