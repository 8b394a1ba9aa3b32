#!/usr/bin/env bash
# Internal PKI for the infoscreen-fleet Mosquitto broker (OpenSSL 1.1.1 or newer).
#
#   mosquitto/gen-certs.sh [server]     CA (created once, if missing) + a new server certificate
#   mosquitto/gen-certs.sh client NAME  a client certificate for mutual TLS (NAME = user name or UUID)
#   mosquitto/gen-certs.sh ca           a new CA (CA rotation; the old one is kept as ca.crt.prev)
#   mosquitto/gen-certs.sh show         subject, SANs and expiry of every certificate
#
# Output in CERT_DIR (default: mosquitto/certs/, never committed): ca.crt + ca.key,
# server.crt + server.key, client-NAME.crt + client-NAME.key. Private keys are written with mode
# 600 (readable by their owner only). A replaced server or client certificate is kept as
# *.prev for a rollback (docs/runbooks/mqtt-tls.md). Keep ca.key offline in production.
#
# Settings (environment):
#   CERT_DIR     output directory                         (mosquitto/certs next to this script)
#   CA_CN        CA common name                           (infoscreen-fleet internal CA)
#   CA_DAYS      CA validity in days                      (3650)
#   SERVER_CN    server certificate common name           (mosquitto)
#   SERVER_DNS   DNS names of the broker, comma-separated (mosquitto,localhost)
#   SERVER_IPS   IP addresses of the broker, comma-sep.   (127.0.0.1)
#   SERVER_DAYS  server certificate validity in days      (397)
#   CLIENT_DAYS  client certificate validity in days      (397)
#   KEY_TYPE     rsa (3072 bit) or ec (P-256)             (rsa)
set -euo pipefail
umask 077

here="$(cd "$(dirname "$0")" && pwd)"
dir="${CERT_DIR:-$here/certs}"
CA_CN="${CA_CN:-infoscreen-fleet internal CA}"
CA_DAYS="${CA_DAYS:-3650}"
SERVER_CN="${SERVER_CN:-mosquitto}"
SERVER_DNS="${SERVER_DNS-mosquitto,localhost}"
SERVER_IPS="${SERVER_IPS-127.0.0.1}"
SERVER_DAYS="${SERVER_DAYS:-397}"
CLIENT_DAYS="${CLIENT_DAYS:-397}"
KEY_TYPE="${KEY_TYPE:-rsa}"

die() { echo "gen-certs.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl not found"

new_key() { # path
  case "$KEY_TYPE" in
    rsa) openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1" 2>/dev/null \
           || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$1" ;;
    ec)  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
    *)   die "KEY_TYPE must be rsa or ec, not '$KEY_TYPE'" ;;
  esac
  chmod 600 "$1"
}

serial() { echo "0x$(openssl rand -hex 16)"; }

keep_previous() { # base name: moves base.crt/base.key to *.prev
  local suffix
  for suffix in crt key; do
    if [ -f "$dir/$1.$suffix" ]; then mv -f "$dir/$1.$suffix" "$dir/$1.$suffix.prev"; fi
  done
}

new_ca() {
  keep_previous ca
  new_key "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$CA_DAYS" -set_serial "$(serial)" \
    -subj "/CN=$CA_CN" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$dir/ca.crt"
  chmod 644 "$dir/ca.crt"
  echo "CA:     $dir/ca.crt (valid $CA_DAYS days)"
}

ensure_ca() {
  if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
    [ -f "$dir/ca.crt" ] && die "$dir/ca.crt exists without ca.key: cannot sign with it"
    new_ca
  fi
}

sign() { # base name, subject CN, validity days, extensions file
  local base="$1" csr ext
  csr="$(mktemp)"; ext="$4"
  keep_previous "$base"
  new_key "$dir/$base.key"
  openssl req -new -key "$dir/$base.key" -subj "/CN=$2" -out "$csr"
  openssl x509 -req -in "$csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "$(serial)" \
    -sha256 -days "$3" -extfile "$ext" -out "$dir/$base.crt"
  chmod 644 "$dir/$base.crt"
  rm -f "$csr" "$ext"
}

server() {
  ensure_ca
  local san="" ext item
  IFS=',' read -ra items <<< "$SERVER_DNS"
  for item in "${items[@]}"; do item="${item// /}"; [ -n "$item" ] && san="$san,DNS:$item"; done
  IFS=',' read -ra items <<< "$SERVER_IPS"
  for item in "${items[@]}"; do item="${item// /}"; [ -n "$item" ] && san="$san,IP:$item"; done
  [ -n "$san" ] || die "SERVER_DNS and SERVER_IPS are both empty: a server certificate needs at least one name"
  ext="$(mktemp)"
  cat > "$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=${san#,}
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EOF
  sign server "$SERVER_CN" "$SERVER_DAYS" "$ext"
  echo "server: $dir/server.crt (${san#,}; valid $SERVER_DAYS days), key $dir/server.key"
}

client() {
  local name="${1:-}" ext
  [ -n "$name" ] || die "usage: gen-certs.sh client NAME"
  case "$name" in *[!A-Za-z0-9._-]*) die "client name may contain only letters, digits, '.', '_' and '-'";; esac
  ensure_ca
  ext="$(mktemp)"
  cat > "$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EOF
  sign "client-$name" "$name" "$CLIENT_DAYS" "$ext"
  echo "client: $dir/client-$name.crt (CN=$name; valid $CLIENT_DAYS days), key $dir/client-$name.key"
}

show() {
  local f
  for f in "$dir"/*.crt; do
    [ -f "$f" ] || continue
    echo "== $f"
    openssl x509 -in "$f" -noout -subject -enddate -ext subjectAltName 2>/dev/null \
      || openssl x509 -in "$f" -noout -subject -enddate
  done
}

mkdir -p "$dir"
chmod 755 "$dir"
case "${1:-server}" in
  server) server ;;
  client) client "${2:-}" ;;
  ca)     new_ca; echo "Distribute the new ca.crt (bundled with the old one) before signing new server certificates: docs/runbooks/mqtt-tls.md" ;;
  show)   show ;;
  *)      die "unknown command '$1' (server, client NAME, ca, show)" ;;
esac
