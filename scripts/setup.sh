#!/usr/bin/env bash
# Set up coach on Debian/Ubuntu: system packages (espeak-ng, festival with its HTS voice, flite,
# ffmpeg, PortAudio), then a virtual environment in .venv with coach and its test tools
# installed. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# dbus-daemon and dbus-bin (dbus-send): the tests run coach's media-button player on a
# private session bus.
PACKAGES=(espeak-ng festival festvox-us-slt-hts flite ffmpeg libportaudio2 python3-venv dbus-daemon dbus-bin)
VENV=${COACH_VENV:-.venv}

missing_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  echo "${missing[@]}"
}

if command -v dpkg-query >/dev/null 2>&1; then
  missing=$(missing_packages)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
    if [ "$SUDO" = "none" ]; then
      echo "coach needs these Debian packages: $missing" >&2
      echo "Ask an administrator to run:  apt-get install -y $missing" >&2
      exit 1
    fi
    echo "Installing system packages: $missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  fi
else
  for tool in espeak-ng ffmpeg; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "coach needs '$tool' on PATH (and the PortAudio library, libportaudio2); install it with your package manager." >&2
      exit 1
    }
  done
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtual environment in $VENV" >&2
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test]"
echo "coach is ready: $VENV/bin/coach --help" >&2
