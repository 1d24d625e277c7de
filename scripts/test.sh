#!/usr/bin/env bash
# Installs what the test suite needs (Python extras, the regtest node and mempool.js from npm,
# Debian's chromium, promtool and a Java runtime for PySpark when run as root), then runs the whole suite.
# Usage: scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e '.[test]'

for dir in tests/regtest tests/mempooljs; do
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# PySpark (tests/test_lake_spark.py) runs on a JVM: Debian's default JRE is 17 (bookworm) or 21 (trixie).
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    # Another install may hold apt's locks (unattended-upgrades, a second run): wait for it.
    scripts/apt-get-wait.sh update -qq
    DEBIAN_FRONTEND=noninteractive scripts/apt-get-wait.sh install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "note: ${need_apt[*]} missing and not root: browser/promtool/Spark tests will be skipped" >&2
  fi
fi

# The slowest tests, named at the end of the run: where the suite's time goes.
exec python -m pytest -q -p no:cacheprovider --durations=15 "$@"
