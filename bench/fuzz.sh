#!/usr/bin/env bash
# Runs every fuzzer of callbill for a while, one after the other:
#   bash bench/fuzz.sh [DURATION]      (default 10m each, e.g. 30s, 10m, 1h)
# A failing input is written by Go under the package's testdata/fuzz/FuzzX/
# and fails the script; commit it as a seed once fixed, so that `go test`
# (and CI) runs it from then on. -parallel 1 keeps one core for other work.
# Minimizing each new input is capped (FUZZ_MINIMIZE, default 5s): Go's 60 s
# default spends most of a slow fuzzer's time (FuzzScenario opens a store per
# input) minimizing instead of fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-10m}"
fuzzers=(
  ".:FuzzParseAmount"
  "./cdr:FuzzCSV"
  "./cdr:FuzzJSON"
  "./world:FuzzParse"
  "./bss:FuzzParseRequest"
  "./bss:FuzzVerifySignature"
  "./sqlstore:FuzzScenario"
)
for f in "${fuzzers[@]}"; do
  pkg="${f%%:*}" name="${f##*:}"
  echo "fuzz: $pkg $name for $time"
  go test -timeout 0 -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -fuzzminimizetime "${FUZZ_MINIMIZE:-5s}" -parallel "${FUZZ_PARALLEL:-1}" "$pkg" 2>&1 | tail -3
done
