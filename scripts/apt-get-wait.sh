#!/usr/bin/env bash
# apt-get that waits for another package install (unattended-upgrades, a second test run) to let go
# of apt's locks instead of failing at once. Usage: scripts/apt-get-wait.sh ARGS… (as apt-get).
# DPkg::Lock::Timeout makes `install` wait for the dpkg lock; `update` takes the lists lock, which
# apt 2.6 does not wait for, so a run refused by any lock is tried again every second.
# $APT_LOCK_WAIT_S (default 600) bounds the wait.
set -uo pipefail

wait_s=${APT_LOCK_WAIT_S:-600}
start=$SECONDS
err=$(mktemp)
trap 'rm -f "$err"' EXIT
said=""
until apt-get -o DPkg::Lock::Timeout="$wait_s" "$@" 2>"$err"; do
  status=$?
  if ! grep -q "Could not get lock" "$err" || (( SECONDS - start >= wait_s )); then
    cat "$err" >&2
    (( SECONDS - start >= wait_s )) && grep -q "Could not get lock" "$err" &&
      echo "apt-get-wait: gave up after ${wait_s} s; raise APT_LOCK_WAIT_S to wait longer" >&2
    exit "$status"
  fi
  if [ -z "$said" ]; then
    holder=$(grep -m1 -o "held by process.*" "$err" || true)
    echo "apt-get-wait: another package install holds apt's lock${holder:+ ($holder)}; waiting up to ${wait_s} s" >&2
    said=1
  fi
  sleep 1
done
cat "$err" >&2
