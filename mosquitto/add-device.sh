#!/usr/bin/env bash
# Adds a display to the broker: its user name is its UUID (lower case), which the ACL
# (mosquitto/acl) uses to let it publish only its own infoscreen/<uuid>/... topics and read only
# its own infoscreen/<uuid>/commands. Run with --help for the options.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
die() { echo "add-device.sh: $*" >&2; exit 1; }

usage() {
  cat <<'USAGE'
Usage: mosquitto/add-device.sh [--generate] [--cert] UUID

Adds the display UUID (8-4-4-4-12 hexadecimal digits; stored in lower case) to the broker's
password file, or sets a new password for it (rotation).

  --generate   generate a random password (32 characters), write its entry and print the
               password once on stdout: copy it to the display's configuration now, it is
               stored only as a hash
  --cert       also issue a client certificate for mutual TLS (gen-certs.sh client UUID)
  -h, --help   show this help

Without --generate the password is the first line of stdin (add-device.sh UUID < secret-file),
or it is asked for twice when stdin is a terminal. It never appears on a command line.

Then reload the broker: SIGHUP (docker compose kill -s HUP mosquitto).
Settings (environment): PASSWD_FILE (default mosquitto/passwd), CERT_DIR (see gen-certs.sh).
USAGE
}

cert=false
generate=false
while [ $# -gt 0 ]; do
  case "$1" in
    --generate) generate=true; shift ;;
    --cert) cert=true; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option '$1'" ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { usage >&2; die "give exactly one UUID"; }
uuid="$(printf '%s' "$1" | tr 'A-F' 'a-f')"
[[ "$uuid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] \
  || die "'$1' is not a UUID (8-4-4-4-12 hexadecimal digits)"

if $generate; then
  "$here/add-user.sh" --generate "$uuid"
else
  "$here/add-user.sh" "$uuid"
fi
if $cert; then
  "$here/gen-certs.sh" client "$uuid"
fi
