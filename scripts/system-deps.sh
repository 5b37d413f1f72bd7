#!/usr/bin/env bash
# Install the system packages voicebot needs (Debian/Ubuntu): espeak-ng (fallback
# voice and test speech) and sox (audio checks). Does nothing when they are there.
set -euo pipefail

needed=()
command -v espeak-ng >/dev/null 2>&1 || needed+=(espeak-ng)
command -v sox >/dev/null 2>&1 || needed+=(sox)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || needed+=(python3-venv)
# shellcheck source=scripts/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
install_missing "Paquets système manquants" "Installation des paquets système" ${needed[@]+"${needed[@]}"}
