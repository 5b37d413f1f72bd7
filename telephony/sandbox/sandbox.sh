#!/usr/bin/env bash
# A test Asterisk 22 on the loopback, for the end-to-end tests and demos.
#
#   sandbox.sh build    build the Asterisk tree once (Debian sid, debootstrap; cached)
#   sandbox.sh start    write the loopback configuration and start Asterisk
#   sandbox.sh stop     stop it
#   sandbox.sh status   running or not, and the modules that matter
#   sandbox.sh cli CMD  run an Asterisk CLI command (e.g. "core show channels")
#   sandbox.sh call [NUMBER [TEXT]]  a demonstration call (SIPp) that says TEXT
#
# Settings (environment): SANDBOX_ROOT (the tree, default var/sandbox-root),
# SANDBOX_SIP_PORT (5060), SANDBOX_ARI_PORT (8088), SANDBOX_AGENT_PORT (5070),
# SANDBOX_BOT_PORT (where voicebot serve listens, 8080), SANDBOX_BOT_A_PORT and
# SANDBOX_BOT_B_PORT (two more instances, 8081 and 8082), SANDBOX_ARI_USERNAME/PASSWORD,
# SANDBOX_MEDIA_USERNAME/PASSWORD (what Asterisk presents to voicebot's /media).
# Needs root (debootstrap, chroot). Asterisk shares the host's loopback.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
ROOT="${SANDBOX_ROOT:-$repo/var/sandbox-root}"
MIRROR="${SANDBOX_MIRROR:-}"
SIP_PORT="${SANDBOX_SIP_PORT:-5060}"
ARI_PORT="${SANDBOX_ARI_PORT:-8088}"
AGENT_PORT="${SANDBOX_AGENT_PORT:-5070}"
BOT_PORT="${SANDBOX_BOT_PORT:-8080}"
BOT_A_PORT="${SANDBOX_BOT_A_PORT:-8081}"
BOT_B_PORT="${SANDBOX_BOT_B_PORT:-8082}"
RTP_START="${SANDBOX_RTP_START:-20000}"
RTP_END="${SANDBOX_RTP_END:-20999}"
ARI_USERNAME="${SANDBOX_ARI_USERNAME:-voicebot}"
ARI_PASSWORD="${SANDBOX_ARI_PASSWORD:-sandbox-ari}"
MEDIA_USERNAME="${SANDBOX_MEDIA_USERNAME:-asterisk}"
MEDIA_PASSWORD="${SANDBOX_MEDIA_PASSWORD:-sandbox-media}"
APT=(-o Acquire::Check-Valid-Until=false -o Acquire::Retries=3 -q)

say() { echo "sandbox: $*" >&2; }
die() { say "$*"; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "il faut être root (debootstrap, chroot) : sudo $0 $*"
}

# debootstrap, mount and chroot need root: go through sudo when it is there.
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && [ "${1:-}" != "" ]; then
  exec sudo -E "$0" "$@"
fi

host_packages() {
  local missing=()
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  # shellcheck source=scripts/apt-install.sh
  source "$repo/scripts/apt-install.sh"
  install_missing "Paquets manquants pour le bac à sable" "sandbox: installation sur l'hôte" \
    ${missing[@]+"${missing[@]}"}
}

mirror() {
  if [ -n "$MIRROR" ]; then echo "$MIRROR"; return; fi
  # The Debian mirror the host already uses.
  local uri
  uri="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v security | head -1 | awk '{print $2}')"
  echo "${uri:-http://deb.debian.org/debian}"
}

build() {
  need_root build
  host_packages
  if [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.voicebot-sandbox" ]; then
    return 0
  fi
  rm -rf "$ROOT.partial"
  mkdir -p "$(dirname "$ROOT")"
  say "construction de l'arbre Asterisk (Debian sid) dans $ROOT"
  debootstrap --variant=minbase sid "$ROOT.partial" "$(mirror)" >"$ROOT.build.log" 2>&1 \
    || die "debootstrap a échoué, voir $ROOT.build.log"
  chroot "$ROOT.partial" apt-get "${APT[@]}" update >>"$ROOT.build.log" 2>&1 \
    || die "apt-get update (sid) a échoué, voir $ROOT.build.log"
  DEBIAN_FRONTEND=noninteractive chroot "$ROOT.partial" apt-get "${APT[@]}" install -y \
    --no-install-recommends asterisk asterisk-modules >>"$ROOT.build.log" 2>&1 \
    || die "l'installation d'Asterisk a échoué, voir $ROOT.build.log"
  chroot "$ROOT.partial" asterisk -V >"$ROOT.partial/.voicebot-sandbox"
  unmounts  # never delete through a bind mount of the host's /dev
  rm -rf --one-file-system "$ROOT"
  mv "$ROOT.partial" "$ROOT"
  say "prêt : $(cat "$ROOT/.voicebot-sandbox")"
}

mounted() { grep -qs " $1 " /proc/mounts; }

mounts() {
  mkdir -p "$ROOT/proc" "$ROOT/dev"
  mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mounted "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
}

unmounts() {
  mounted "$ROOT/dev" && umount -l "$ROOT/dev"
  mounted "$ROOT/proc" && umount -l "$ROOT/proc"
  return 0
}

configure() {
  local etc="$ROOT/etc/asterisk"
  rm -rf "$etc"
  mkdir -p "$etc" "$ROOT/var/lib/asterisk" "$ROOT/var/spool/asterisk/monitor" \
    "$ROOT/var/log/asterisk" "$ROOT/run/asterisk"
  local file
  for file in "$here"/conf/*.conf; do
    sed -e "s|@SIP_PORT@|$SIP_PORT|g" -e "s|@ARI_PORT@|$ARI_PORT|g" \
      -e "s|@AGENT_PORT@|$AGENT_PORT|g" -e "s|@BOT_PORT@|$BOT_PORT|g" \
      -e "s|@BOT_A_PORT@|$BOT_A_PORT|g" -e "s|@BOT_B_PORT@|$BOT_B_PORT|g" \
      -e "s|@RTP_START@|$RTP_START|g" -e "s|@RTP_END@|$RTP_END|g" \
      -e "s|@ARI_USERNAME@|$ARI_USERNAME|g" -e "s|@ARI_PASSWORD@|$ARI_PASSWORD|g" \
      -e "s|@MEDIA_USERNAME@|$MEDIA_USERNAME|g" -e "s|@MEDIA_PASSWORD@|$MEDIA_PASSWORD|g" \
      "$file" >"$etc/$(basename "$file")"
  done
  # Files some modules read at start: present and empty means "defaults", without errors.
  for file in acl ccss cdr cel chan_websocket features indications pjproject udptl; do
    [ -f "$etc/$file.conf" ] || : >"$etc/$file.conf"
  done
}

running() {
  [ -S "$ROOT/run/asterisk/asterisk.ctl" ] \
    && chroot "$ROOT" asterisk -rx "core show version" >/dev/null 2>&1
}

start() {
  need_root start
  [ -x "$ROOT/usr/sbin/asterisk" ] || build
  if running; then stop; fi
  configure
  mounts
  rm -f "$ROOT/run/asterisk/asterisk.ctl" "$ROOT/var/log/asterisk/messages.log"
  chroot "$ROOT" asterisk -f -n </dev/null >"$ROOT/var/log/asterisk/console.log" 2>&1 &
  echo $! >"$ROOT/run/asterisk/sandbox.pid"
  local waited=0
  until running && chroot "$ROOT" asterisk -rx "core waitfullybooted" >/dev/null 2>&1; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -gt 150 ]; then
      tail -20 "$ROOT/var/log/asterisk/console.log" >&2 || true
      die "Asterisk n'a pas démarré en 30 s (journal : $ROOT/var/log/asterisk/console.log)"
    fi
  done
  say "Asterisk démarré : SIP 127.0.0.1:$SIP_PORT, ARI http://127.0.0.1:$ARI_PORT/ari, bot ws://127.0.0.1:$BOT_PORT/media"
}

stop() {
  if running; then
    chroot "$ROOT" asterisk -rx "core stop now" >/dev/null 2>&1 || true
  fi
  local pidfile="$ROOT/run/asterisk/sandbox.pid" waited=0
  if [ -f "$pidfile" ]; then
    local pid
    pid="$(cat "$pidfile")"
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 50 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  unmounts
}

status() {
  if running; then
    chroot "$ROOT" asterisk -rx "core show version"
    chroot "$ROOT" asterisk -rx "module show like websocket"
  else
    echo "arrêté"
    return 3
  fi
}

# A demonstration call: espeak-ng says the text 3 s after the answer; the call lasts 30 s.
demo_call() {
  local number="${1:-100}" text="${2:-Bonjour, je voudrais connaître les horaires de la mairie.}"
  local work
  work="$(mktemp -d)"
  espeak-ng -v fr -w "$work/voice.wav" "$text"
  sox "$work/voice.wav" -r 8000 -c 1 -t ul "$work/voice.ulaw" pad 3 25
  printf 'SEQUENTIAL\n0612345678;\n' >"$work/caller.csv"
  cp "$here/sipp/caller.xml" "$work/"
  (cd "$work" && sipp "127.0.0.1:$SIP_PORT" -sf caller.xml -inf caller.csv -s "$number" \
    -i 127.0.0.1 -p 5090 -mi 127.0.0.1 -d 30000 -m 1 -nostdin -trace_err >/dev/null) \
    || die "l'appel a échoué, voir $work/*_errors.log"
  say "appel terminé ; ce que l'appelant a entendu : $ROOT/var/spool/asterisk/monitor/*-heard.wav"
  rm -rf "$work"
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  cli) shift; chroot "$ROOT" asterisk -rx "$*" ;;
  call) shift; demo_call "$@" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
