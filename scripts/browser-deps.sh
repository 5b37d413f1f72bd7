#!/usr/bin/env bash
# Install Debian's Chromium (and a font) for the console's browser tests, which drive it
# headless with Playwright through /usr/bin/chromium. Silent and quick when it is there:
# no browser is ever downloaded from anywhere but the distribution's packages.
set -euo pipefail

needed=()
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || needed+=(fonts-dejavu-core)
[ ${#needed[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Paquets manquants pour les tests du navigateur : ${needed[*]} — installez-les avec le gestionnaire de paquets de votre système." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Paquets manquants : ${needed[*]} — lancez en root : apt-get install ${needed[*]}" >&2
    exit 1
  fi
fi
echo "Installation des paquets pour les tests du navigateur : ${needed[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
