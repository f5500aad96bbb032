# Shared by the install scripts (sourced, not run): Debian package checks and installs.
# apt-get runs as root: directly when root, else through sudo.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# True when the package is installed. Not `dpkg -s`: it succeeds for a removed package whose
# config files remain.
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

# Installs those of the given packages that are not installed; prints their names.
apt_install() {
  local missing=()
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  if ((${#missing[@]})); then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    echo "installed: ${missing[*]}"
  fi
}
