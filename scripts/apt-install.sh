# shellcheck shell=bash
# Sourced by the scripts that install Debian packages: root or sudo, then a quiet apt-get.

# Sets $sudo to "sudo" when not root; with no sudo either, prints $1 and exits 1.
need_root() {
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "$1" >&2
      exit 1
    fi
  fi
}

# Installs the packages "$@" without recommends (need_root first).
apt_install() {
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# install_missing MISSING INSTALLING PACKAGE…: installs the packages with apt-get, as root or
# through sudo. MISSING names them when they cannot be installed here (no apt-get), and
# INSTALLING is printed before the installation; nothing happens when no package is given.
install_missing() {
  local missing="$1" installing="$2"
  shift 2
  [ $# -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$missing : $* — installez-les avec le gestionnaire de paquets de votre système." >&2
    exit 1
  fi
  need_root "Paquets manquants : $* — lancez en root : apt-get install $*"
  echo "$installing : $*"
  apt_install "$@"
}
