#!/usr/bin/env bash
# Adds a display to the broker: its user name is its UUID (lower case), which the ACL
# (mosquitto/acl) uses to let it publish only its own infoscreen/<uuid>/... topics and read only
# its own infoscreen/<uuid>/commands.
#
#   mosquitto/add-device.sh UUID                prints a generated password once (provisioning)
#   mosquitto/add-device.sh UUID < secret-file  uses the password on the first line of stdin
#   mosquitto/add-device.sh --cert UUID         also issues a client certificate (mutual TLS)
#
# Then reload the broker (SIGHUP). Settings: PASSWD_FILE, CERT_DIR (see add-user.sh, gen-certs.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
die() { echo "add-device.sh: $*" >&2; exit 1; }

cert=false
if [ "${1:-}" = "--cert" ]; then cert=true; shift; fi
uuid="$(printf '%s' "${1:-}" | tr 'A-F' 'a-f')"
[ $# -eq 1 ] || die "usage: add-device.sh [--cert] UUID"
[[ "$uuid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] \
  || die "'$1' is not a UUID (8-4-4-4-12 hexadecimal digits)"

if [ -t 0 ]; then
  "$here/add-user.sh" --generate "$uuid"
else
  "$here/add-user.sh" "$uuid"
fi
if $cert; then
  "$here/gen-certs.sh" client "$uuid"
fi
