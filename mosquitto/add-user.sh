#!/usr/bin/env bash
# Adds a broker user, or sets a new password for an existing one (rotation), in the Mosquitto
# password file (mosquitto_passwd, salted PBKDF2-SHA512 hashes; the file holds no clear text).
#
#   mosquitto/add-user.sh NAME                prompts for the password (terminal)
#   mosquitto/add-user.sh NAME < secret-file  reads the password from the first line of stdin
#   mosquitto/add-user.sh --generate NAME     generates a random password and prints it once
#
# The roles live in mosquitto/acl: the service is "infoscreen-fleet", the read-only monitor
# "infoscreen-monitor"; displays are added with add-device.sh. The password never appears on a
# command line (it is piped to mosquitto_passwd). Then reload the broker: SIGHUP
# (docker compose kill -s HUP mosquitto); connected clients keep their session, the next login
# uses the new password.
#
# Settings (environment): PASSWD_FILE  password file (default: mosquitto/passwd next to this script)
set -euo pipefail
umask 077

here="$(cd "$(dirname "$0")" && pwd)"
file="${PASSWD_FILE:-$here/passwd}"
die() { echo "add-user.sh: $*" >&2; exit 1; }
command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (Debian: apt-get install mosquitto)"

usage() {
  cat <<'USAGE'
Usage: mosquitto/add-user.sh [--generate] NAME

Adds the broker user NAME (letters, digits, '.', '_', '-') to the password file, or sets a new
password for it (rotation). Roles are in mosquitto/acl; displays: add-device.sh.

  --generate   generate a random password, write its entry and print the password once on stdout
  -h, --help   show this help

Without --generate the password is the first line of stdin, or it is asked for twice when stdin
is a terminal. Then reload the broker (SIGHUP). Setting: PASSWD_FILE (default mosquitto/passwd).
USAGE
}

generate=false
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --generate) generate=true; shift ;;
  -*) usage >&2; die "unknown option '$1'" ;;
esac
name="${1:-}"
[ -n "$name" ] && [ $# -eq 1 ] || { usage >&2; die "give exactly one NAME"; }
# ':' ends the user name in the password file; '+', '#' and '/' would break the ACL's %u patterns
case "$name" in *[!A-Za-z0-9._-]*) die "user name may contain only letters, digits, '.', '_' and '-'";; esac

if $generate; then
  password="$(openssl rand -base64 36 | tr -d '/+=\n' | cut -c1-32)"
elif [ -t 0 ]; then
  password=""
else
  IFS= read -r password || true
  [ -n "$password" ] || die "empty password on stdin"
fi

create=()
[ -f "$file" ] || create=(-c)
if [ -n "$password" ]; then
  printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd "${create[@]}" "$file" "$name" >/dev/null
else
  mosquitto_passwd "${create[@]}" "$file" "$name"
fi
chmod 600 "$file"
echo "user '$name' written to $file; reload the broker (SIGHUP) to apply" >&2
if $generate; then
  echo "$password"
fi
