#!/usr/bin/env bash
# Install Debian's Chromium (and a font) for the console's browser tests, which drive it
# headless with Playwright through /usr/bin/chromium. Silent and quick when it is there:
# no browser is ever downloaded from anywhere but the distribution's packages.
set -euo pipefail

needed=()
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || needed+=(fonts-dejavu-core)
# shellcheck source=scripts/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
install_missing "Paquets manquants pour les tests du navigateur" \
  "Installation des paquets pour les tests du navigateur" ${needed[@]+"${needed[@]}"}
