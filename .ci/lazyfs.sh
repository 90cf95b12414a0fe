#!/usr/bin/env bash
# LazyFS for the power-loss tests (DESIGN §6), built from the repo's copy in tools/lazyfs.
#
#   .ci/lazyfs.sh build              installs the Debian build deps if missing, builds LazyFS once
#                                    into target/lazyfs (skipped when built); prints the binary
#   .ci/lazyfs.sh mount MNT ROOT FIFO
#                                    mounts LazyFS on MNT, its real files in ROOT, fault commands
#                                    read from the FIFO FIFO (created); returns once MNT is mounted
#   .ci/lazyfs.sh clear-cache FIFO   drops every un-fsynced byte (the power loss) and waits for
#                                    LazyFS to report it done
#   .ci/lazyfs.sh umount MNT         unmounts (lazily) and stops that LazyFS
#
# engine/tests/power_loss.rs calls this script through NUMPOOL_LAZYFS (set by .ci/power_loss.sh)
# for every mount, power loss and unmount. Needs root (apt, /dev/fuse, allow_other).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${NUMPOOL_LAZYFS_CACHE:-$root/target/lazyfs}
bin=$cache/bin/lazyfs

build() {
  if [[ -x $bin ]]; then
    echo "$bin"
    return
  fi
  # build-debian.sh installs cmake, g++, fuse3, libfuse3-dev, toml11, spdlog, fmt when missing.
  echo "== building LazyFS into $cache" >&2
  bash "$root/tools/lazyfs/build-debian.sh" "$cache" >&2
  echo "$bin"
}

# The log of the LazyFS mounted on MNT.
log_of() { echo "$cache/mounts/$(echo "$1" | sha1sum | cut -c1-16).log"; }

mount_lazyfs() {
  local mnt=${1:?mount MNT ROOT FIFO} real=${2:?mount MNT ROOT FIFO} fifo=${3:?mount MNT ROOT FIFO}
  build >/dev/null
  command -v fusermount3 >/dev/null || {
    echo "fusermount3 missing (package fuse3)" >&2
    exit 1
  }
  # allow_other lets a non-root numpool use the mount too; FUSE wants it allowed.
  if ! grep -qs '^user_allow_other' /etc/fuse.conf; then
    echo user_allow_other >>/etc/fuse.conf
  fi
  mkdir -p "$mnt" "$real" "$cache/mounts"
  [[ -p $fifo ]] || mkfifo "$fifo"
  local log config
  log=$(log_of "$mnt")
  config=${log%.log}.toml
  printf '[faults]\nfifo_path="%s"\n[cache]\napply_eviction=false\n[cache.simple]\ncustom_size="1gb"\nblocks_per_page=1\n[filesystem]\nlog_all_operations=false\nlogfile=""\n' \
    "$fifo" >"$config"
  : >"$log"
  setsid "$bin" "$mnt" --config-path "$config" -o allow_other -o modules=subdir \
    -o "subdir=$real" -f >"$log" 2>&1 </dev/null &
  echo $! >"${log%.log}.pid"
  for _ in $(seq 1 100); do
    if grep -qs " $mnt fuse" /proc/mounts; then
      return
    fi
    sleep 0.1
  done
  echo "LazyFS did not mount $mnt; its log:" >&2
  cat "$log" >&2
  exit 1
}

clear_cache() {
  local fifo=${1:?clear-cache FIFO} mnt log before
  # The log of the mount reading this FIFO.
  log=$(grep -ls "fifo_path=\"$fifo\"" "$cache"/mounts/*.toml | head -1)
  log=${log%.toml}.log
  before=$(grep -c "cache is cleared" "$log" || true)
  echo "lazyfs::clear-cache" >"$fifo"
  for _ in $(seq 1 200); do
    if [[ $(grep -c "cache is cleared" "$log" || true) -gt $before ]]; then
      return
    fi
    sleep 0.05
  done
  echo "LazyFS did not report the cleared cache; its log:" >&2
  tail -20 "$log" >&2
  exit 1
}

umount_lazyfs() {
  local mnt=${1:?umount MNT} log pid
  log=$(log_of "$mnt")
  fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  if [[ -f ${log%.log}.pid ]]; then
    pid=$(cat "${log%.log}.pid")
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "${log%.log}.pid"
  fi
}

case ${1:-} in
build) build ;;
mount) mount_lazyfs "${@:2}" ;;
clear-cache) clear_cache "${@:2}" ;;
umount) umount_lazyfs "${@:2}" ;;
*)
  echo "usage: $0 build | mount MNT ROOT FIFO | clear-cache FIFO | umount MNT" >&2
  exit 2
  ;;
esac
