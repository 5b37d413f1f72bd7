#!/usr/bin/env bash
# Install the system packages voicebot needs (Debian/Ubuntu): espeak-ng (fallback
# voice and test speech) and sox (audio checks). Does nothing when they are there.
set -euo pipefail

needed=()
command -v espeak-ng >/dev/null 2>&1 || needed+=(espeak-ng)
command -v sox >/dev/null 2>&1 || needed+=(sox)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || needed+=(python3-venv)
[ ${#needed[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Paquets système manquants : ${needed[*]} — installez-les avec le gestionnaire de paquets de votre système." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Paquets manquants : ${needed[*]} — lancez en root : apt-get install ${needed[*]}" >&2
    exit 1
  fi
fi
echo "Installation des paquets système : ${needed[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
