#!/usr/bin/env bash
# Test coach on Debian 13 "trixie" with its own Python 3.13, from a Debian 12 (or any Debian)
# host, as root:
#
#   bash scripts/debian13.sh [PYTEST ARGS...]      e.g.  bash scripts/debian13.sh -q -x
#
# 1. Builds a trixie root with debootstrap from Debian's packages, once, at
#    $COACH_DEBIAN13_ROOT (default /var/cache/coach/debian13), from $COACH_DEBIAN_MIRROR
#    (default http://deb.debian.org/debian). A marker file is written only after debootstrap
#    succeeds: a complete root is reused, a half-built one is removed and built again.
# 2. Clones the repository's committed HEAD into /root/coach inside the root, replacing any
#    earlier copy. Uncommitted changes are not tested: commit them first.
# 3. Inside the root, in a clean environment, runs the README's two Quick-start commands,
#    checks that wall-release.mp3 was written, then `bash scripts/test.sh ARGS...`.
#
# /proc, /sys, /dev, /dev/pts and /dev/shm are bind-mounted for the run and always unmounted
# on exit. pip inside uses the host's pip settings: every PIP_* variable (and SSL_CERT_FILE,
# SSL_CERT_DIR, REQUESTS_CA_BUNDLE) is passed in; the pip config files (/etc/pip.conf,
# /etc/xdg/pip/, ~/.config/pip/pip.conf, ~/.pip/pip.conf, $PIP_CONFIG_FILE) are copied in,
# and every existing absolute path they or PIP_* name is made available at the same path:
# files (CA bundle, constraints) are copied, directories (find-links) are bind-mounted
# read-only. A file:// index (index-url, extra-index-url) brings its parent directory, where
# its pages' ../../files links point. The host's CA bundle replaces the root's own, so pip can
# reach PyPI through a proxy whose CA only the host trusts.
#
# Runs of the same root wait for each other. Exits non-zero when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

ROOT=$(realpath -m "${COACH_DEBIAN13_ROOT:-/var/cache/coach/debian13}")
MIRROR=${COACH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MARKER=$ROOT/.coach-debian13-complete
CHECKOUT=/root/coach  # inside the root
IN_ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "debian13: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (debootstrap, mount and chroot need it)"
  exit 1
fi

# --- mounts ---------------------------------------------------------------------------------

mounts_in_root() {  # every mount point under $ROOT, innermost first
  awk -v root="$ROOT/" 'index($2, root) == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all() {
  local point
  for point in $(mounts_in_root); do
    umount "$point" 2>/dev/null || umount -l "$point"
  done
}

bind() {  # bind SOURCE [ro]: mount SOURCE at the same path inside the root
  local target=$ROOT$1
  mkdir -p "$target"
  mount --bind "$1" "$target"
  if [ "${2:-}" = ro ]; then mount -o remount,bind,ro "$target"; fi
}

# --- 1. the root ----------------------------------------------------------------------------

build_root() {
  if [ -f "$MARKER" ]; then
    say "reusing $ROOT"
    return
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  if [ -e "$ROOT" ]; then
    say "removing the incomplete root at $ROOT"
    rm -rf --one-file-system "$ROOT"
  fi
  say "building a Debian 13 root at $ROOT from $MIRROR"
  local started=$SECONDS
  mkdir -p "$ROOT"
  debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv \
    trixie "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || {
    tail -20 "$ROOT.debootstrap.log" >&2
    say "debootstrap failed; the full log is $ROOT.debootstrap.log"
    return 1
  }
  touch "$MARKER"
  say "built the root in $((SECONDS - started)) s"
}

# --- 2. the checkout ------------------------------------------------------------------------

copy_checkout() {
  rm -rf "${ROOT:?}$CHECKOUT"
  git clone --quiet --no-hardlinks "$REPO" "$ROOT$CHECKOUT"
  say "testing $(git -C "$ROOT$CHECKOUT" log -1 --format='%h %s')"
}

# --- pip's settings -------------------------------------------------------------------------

HOST_HOME=${HOME:-/root}
PIP_CONFIGS=(/etc/pip.conf /etc/xdg/pip/pip.conf "$HOST_HOME/.config/pip/pip.conf"
  "$HOST_HOME/.pip/pip.conf" ${PIP_CONFIG_FILE:+"$PIP_CONFIG_FILE"})
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt  # Debian's, with any CA the host added

pip_settings() {  # "KEY VALUE" for every pip setting: the config files, then PIP_* variables
  local config name
  for config in "${PIP_CONFIGS[@]}"; do
    [ -f "$config" ] || continue
    # INI: "key = value", continued on indented lines; comments start with # or ;.
    awk '/^[[:space:]]*([#;]|$)/ { next }
         /^[[:space:]]*\[/ { key = ""; next }
         /^[^[:space:]]/ {
           key = $0; sub(/[=:].*/, "", key); gsub(/[[:space:]]/, "", key)
           sub(/^[^=:]*[=:]/, "")
         }
         key != "" { gsub(/[[:space:]]+/, " "); if ($0 != " ") print key, $0 }' "$config"
  done
  for name in $(compgen -e); do
    case $name in
      PIP_*) echo "$name ${!name}" ;;
    esac
  done
}

named_paths() {  # every absolute path the pip settings name, one a line
  local key value word
  while read -r key value; do
    key=$(echo "$key" | tr '[:upper:]_' '[:lower:]-')
    for word in $value; do
      case $word in
        file://*) word=${word#file://} ;;
        /*) ;;
        *) continue ;;
      esac
      case $key in
        *index-url) dirname "${word%/}" ;;  # the index and the files its pages link to
        *) echo "$word" ;;
      esac
    done
  done < <(pip_settings)
  local variable
  for variable in SSL_CERT_FILE REQUESTS_CA_BUNDLE; do
    if [ -n "${!variable:-}" ]; then echo "${!variable}"; fi
  done
  echo "$HOST_CA_BUNDLE"
}

carry_pip_settings() {
  local config path
  # pip config files, fresh each run: earlier copies go, the host's come in.
  for config in /etc/pip.conf /etc/xdg/pip /root/.config/pip /root/.pip; do
    rm -rf "${ROOT:?}$config"
  done
  for config in "${PIP_CONFIGS[@]}"; do
    [ -f "$config" ] || continue
    case $config in
      "$HOST_HOME"/*) path=/root${config#"$HOST_HOME"} ;;  # where pip inside (HOME=/root) looks
      *) path=$config ;;
    esac
    mkdir -p "$(dirname "$ROOT$path")"
    cp "$config" "$ROOT$path"
  done
  if [ -d /etc/xdg/pip ]; then
    mkdir -p "$ROOT/etc/xdg"
    cp -a /etc/xdg/pip "$ROOT/etc/xdg/"
  fi
  # The paths they name: files copied, directories mounted read-only; missing ones skipped.
  while read -r path; do
    if [ "$path" = / ]; then
      continue  # never the host's whole file system
    elif [ -f "$path" ]; then
      mkdir -p "$(dirname "$ROOT$path")"
      cp "$path" "$ROOT$path"
      say "pip: copied $path"
    elif [ -d "$path" ]; then
      bind "$path" ro
      say "pip: mounted $path read-only"
    fi
  done < <(named_paths | sort -u)
}

# The environment inside: nothing from the host but these.
inner_environment() {
  local name
  echo "PATH=$IN_ROOT_PATH"
  echo HOME=/root
  echo LANG=C.UTF-8
  for name in $(compgen -e); do
    case $name in
      PIP_* | SSL_CERT_FILE | SSL_CERT_DIR | REQUESTS_CA_BUNDLE | CI) echo "$name=${!name}" ;;
    esac
  done
}

# --- 3. the run -----------------------------------------------------------------------------

# shellcheck disable=SC2016  # expanded by the shell inside the root
INNER='
set -euo pipefail
cd "$1"
shift
. /etc/os-release
echo "debian13: running on $PRETTY_NAME, $(python3 --version)" >&2
echo "debian13: README quick start" >&2
bash scripts/setup.sh && .venv/bin/coach export wall-release -o wall-release.mp3 || {
  status=$?
  echo "debian13: the quick start failed" >&2
  exit "$status"
}
if [ ! -s wall-release.mp3 ]; then
  echo "debian13: the quick start wrote no wall-release.mp3" >&2
  exit 1
fi
echo "debian13: wall-release.mp3 is $(stat -c %s wall-release.mp3) bytes" >&2
echo "debian13: bash scripts/test.sh $*" >&2
bash scripts/test.sh "$@"
'

mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"  # one run at a time per root
flock -n 9 || { say "waiting for another run to finish with $ROOT"; flock 9; }
unmount_all  # mounts left by a run that was killed
build_root
trap unmount_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
copy_checkout
cp -L --remove-destination /etc/resolv.conf "$ROOT/etc/resolv.conf"
for point in /proc /sys /dev /dev/pts /dev/shm; do bind "$point"; done
carry_pip_settings
mapfile -t environment < <(inner_environment)

status=0
chroot "$ROOT" /usr/bin/env -i "${environment[@]}" /bin/bash -c "$INNER" bash "$CHECKOUT" "$@" \
  || status=$?
say "finished in $((SECONDS - started)) s with exit status $status"
exit "$status"
