#!/usr/bin/env bash
# Runs every fuzzer of callbill for a while, one after the other:
#   bash bench/fuzz.sh [DURATION]      (default 10m each, e.g. 30s, 10m, 1h)
# A failing input is written by Go under the package's testdata/fuzz/FuzzX/
# and fails the script; commit it as a seed once fixed, so that `go test`
# (and CI) runs it from then on. -parallel 1 keeps one core for other work.
# Minimizing each new input is capped (FUZZ_MINIMIZE, default 5s; a third
# field per fuzzer overrides it): Go's 60 s default spends a slow fuzzer's
# time minimizing instead of fuzzing. FuzzScenario opens a store per input and
# keeps finding new coverage, so it does not minimize at all (1x).
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-10m}"
fuzzers=(
  ".:FuzzParseAmount"
  ".:FuzzMicro"
  "./cdr:FuzzCSV"
  "./cdr:FuzzJSON"
  "./world:FuzzParse"
  "./config:FuzzConfig"
  "./ccc:FuzzListPage"
  "./ccc:FuzzLoadState"
  "./bss:FuzzParseRequest"
  "./bss:FuzzVerifySignature"
  "./sqlstore:FuzzScenario:1x"
)
for f in "${fuzzers[@]}"; do
  IFS=: read -r pkg name minimize <<<"$f"
  minimize="${minimize:-${FUZZ_MINIMIZE:-5s}}"
  echo "fuzz: $pkg $name for $time"
  go test -timeout 0 -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -fuzzminimizetime "$minimize" -parallel "${FUZZ_PARALLEL:-1}" "$pkg" 2>&1 | tail -3
done
