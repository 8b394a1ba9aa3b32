#!/usr/bin/env bash
# Runs the README's "Try it" block (the first ```sh block after "## Try it") as a newcomer would:
# in a fresh directory (fresh embedded PostgreSQL and broker), line by line, and checks every
# "# → TEXT" comment: TEXT must appear in the output of the command above it. Needs the packaged
# jar (mvn -B -q -DskipTests package). Ports 8080/1884 as in the README, or free ones when those
# are taken (HTTP_PORT/EMBEDDED_MQTT_PORT of this script's environment win).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$repo/target/infoscreen-fleet.jar" ] || { echo "[try-it] target/infoscreen-fleet.jar missing: mvn -B -q -DskipTests package" >&2; exit 2; }

free() { # first free TCP port from $1 on
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
http_port="${HTTP_PORT:-$(free 8080)}"
mqtt_port="${EMBEDDED_MQTT_PORT:-$(free 1884)}"
export HTTP_PORT="$http_port" EMBEDDED_MQTT_PORT="$mqtt_port"

work="$(mktemp -d)"
ln -s "$repo/target" "$work/target"
cp -r "$repo/routes" "$work/routes"   # a copy: camel-main does not list a symlinked directory
block="$(awk '/^## Try it/{t=1; next} t && /^## /{exit} t && /^```sh$/{b=1; next} b && /^```$/{exit} b' "$repo/README.md")"
[ -n "$block" ] || { echo "[try-it] no \`\`\`sh block under ## Try it in README.md" >&2; exit 2; }

# the README's ports -> the ports of this run
block="$(printf '%s\n' "$block" | sed -e "s/localhost:8080/localhost:$http_port/g" \
  -e "s/simulate /simulate --broker tcp:\/\/127.0.0.1:$mqtt_port /")"

script="$work/try-it.generated.sh"
{
  echo 'set -euo pipefail'
  echo 'out="$(mktemp)"'
  echo 'trap '"'"'jobs -p | xargs -r kill 2>/dev/null || true'"'"' EXIT'
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    if [[ "$line" =~ ^#\ →\ (.*)$ ]]; then
      expected="${BASH_REMATCH[1]}"
      printf 'grep -qF -- %q "$out" || { echo "[try-it] line %d: expected output containing: %s" >&2; exit 1; }\n' \
        "$expected" "$n" "${expected//%/%%}"
    elif [[ -z "${line// }" || "$line" =~ ^[[:space:]]*# ]]; then
      continue
    elif [[ "$line" =~ \&[[:space:]]*(#.*)?$ || "$line" =~ ^(until|while|for)\  || "$line" =~ ^[A-Z_]+=\$\( ]]; then
      printf 'echo %q\n%s\n' "\$ $line" "$line"
    else
      printf 'echo %q\n{ %s\n} > "$out" 2>&1; cat "$out"; echo\n' "\$ $line" "$line"
    fi
  done <<< "$block"
} > "$script"

echo "[try-it] running the README's Try it in $work (HTTP $http_port, MQTT $mqtt_port)"
cd "$work"
if timeout 300 bash "$script"; then
  echo "[try-it] every line ran and every expectation held"
  rm -rf "$work"
else
  rc=$?
  echo "[try-it] FAILED (exit $rc); service log:" >&2
  tail -n 60 "$work/service.log" >&2 2>/dev/null || true
  exit 1
fi
