#!/usr/bin/env bash
# Makes everything docker-compose.yml mounts that is not in the repository (docs/deployment.md):
#   mosquitto/certs/       CA and broker certificate        (mosquitto/gen-certs.sh)
#   mosquitto/passwd       broker users: the service, the monitor, the simulated displays
#                          (mosquitto/add-user.sh, mosquitto/add-device.sh)
#   secrets/db_password, secrets/mqtt_password, secrets/mqtt_monitor_password,
#   secrets/simulator_password                           random passwords
#   secrets/api_tokens     API token entries (name:role:sha256:...) for API_TOKENS_FILE, and the
#                          tokens themselves once in secrets/admin.token, secrets/prometheus.token
# Existing files are kept (run it again after adding displays). Needs openssl, mosquitto_passwd
# (Debian: mosquitto) and Java 17 with the built jar (mvn -B -q -DskipTests package).
# Settings: SERVER_DNS / SERVER_IPS (names of the broker in its certificate, see gen-certs.sh),
# SIMULATOR_CLIENTS (broker accounts for the simulator profile, default 50; 0 = none). Each is taken
# from the environment, else from .env, else from .env.example (so the documented order - this
# script first, then cp .env.example .env - and a later run after editing .env both agree with
# what docker compose will use).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[compose-init] $*"; }
# setting NAME DEFAULT: $NAME from the environment, else the last NAME=value line of .env, else of
# .env.example, else DEFAULT (no shell evaluation of the files)
setting() {
  local name="$1" value file
  if [ -n "${!name+x}" ]; then printf '%s' "${!name}"; return; fi
  for file in .env .env.example; do
    if [ -f "$file" ] && value="$(grep -E "^${name}=" "$file" | tail -n 1)" && [ -n "$value" ]; then
      value="${value#*=}"; value="${value%\"}"; value="${value#\"}"
      printf '%s' "$value"; return
    fi
  done
  printf '%s' "$2"
}

# secrets/ is readable only by you; the files in it must be readable inside the containers
# (the service runs as uid 10001, the broker as uid 1883), which a bind mount does not change
mkdir -p secrets
chmod 700 secrets
password() {
  if [ ! -s "secrets/$1" ]; then
    openssl rand -base64 48 | tr -d '/+=\n' | cut -c1-32 > "secrets/$1"
    log "secrets/$1 created"
  fi
  chmod 644 "secrets/$1"
}
password db_password
password mqtt_password
password mqtt_monitor_password
password simulator_password

if [ ! -f mosquitto/certs/server.crt ]; then
  SERVER_DNS="$(setting SERVER_DNS mosquitto,localhost)" SERVER_IPS="$(setting SERVER_IPS 127.0.0.1)" mosquitto/gen-certs.sh
fi

mosquitto/add-user.sh infoscreen-fleet < secrets/mqtt_password
mosquitto/add-user.sh infoscreen-monitor < secrets/mqtt_monitor_password
clients="$(setting SIMULATOR_CLIENTS 50)"
case "$clients" in ''|*[!0-9]*) echo "[compose-init] SIMULATOR_CLIENTS must be a number >= 0, was '$clients'" >&2; exit 2 ;; esac
for i in $(seq 1 "$clients"); do
  # the simulator's display N of seed 1 (SimulatorConfig.displayUuid), one account each
  mosquitto/add-device.sh "$(printf '5eed0001-0000-4000-8000-%012d' "$i")" < secrets/simulator_password > /dev/null
done
[ "$clients" -gt 0 ] && log "$clients simulator display account(s) in mosquitto/passwd"

jar=target/infoscreen-fleet.jar
if [ ! -s secrets/api_tokens ]; then
  [ -f "$jar" ] || { log "building $jar"; mvn -B -q -DskipTests package; }
  : > secrets/api_tokens
  for spec in admin:admin prometheus:viewer; do
    name="${spec%%:*}"
    out="$(java -jar "$jar" token --name "$name" --role "${spec##*:}")"
    printf '%s\n' "$out" | sed -n '3p' | tr -d ' ' > "secrets/$name.token"
    chmod 600 "secrets/$name.token"
    printf '%s\n' "$out" | grep -E '^  [A-Za-z0-9._@-]+:(viewer|operator|admin):sha256:' | tr -d ' ' >> secrets/api_tokens
    log "API token '$name' in secrets/$name.token"
  done
fi
chmod 644 secrets/api_tokens

# the broker (uid 1883 in the eclipse-mosquitto image) must read its password file and key
if [ "$(id -u)" = 0 ]; then
  chown 1883:1883 mosquitto/passwd mosquitto/certs/server.key
else
  log "not root: run 'sudo chown 1883:1883 mosquitto/passwd mosquitto/certs/server.key' before docker compose up"
fi
log "done; next: cp .env.example .env && docker compose up -d --build"
