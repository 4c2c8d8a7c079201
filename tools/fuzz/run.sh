#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for a bounded time and prints, per target, the
# executions, the corpus and coverage reached, and the findings.
#
#   tools/fuzz/run.sh                     quick: 20 s per target (5 min from scratch on a
#                                         2-core machine, 3.5 of them the clang build; 1.5
#                                         min once built)
#   tools/fuzz/run.sh --seconds 600       the full run: 10 min per target
#   tools/fuzz/run.sh --only domain       one target (envelope, domain, inbound, import)
#   tools/fuzz/run.sh --seconds 60 -- -jobs=2 -workers=2    more arguments go to libFuzzer
#
# It configures and builds build-fuzz/ if needed: clang++ with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage over every library the targets link
# (-DKAM_FUZZ=ON, tests/fuzz/CMakeLists.txt), through the machine's build lock. A target
# starts from its committed seeds (tests/fuzz/corpus/<target>, never written to) and from
# what earlier runs added (build-fuzz/fuzz-corpus/<target>). A finding - a crash, a
# sanitizer report, a failed check, a timeout - is saved under
# build-fuzz/fuzz-findings/<target>/ and replays with the ordinary build's runner:
#   build/bin/fuzz_<target>_replay build-fuzz/fuzz-findings/<target>/crash-...
# Exit status: 0 no findings, 1 findings, 2 usage or build failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KAM_FUZZ_BUILD:-$root/build-fuzz}
lock=${KAM_BUILD_LOCK:-/tmp/kam-build.lock}
seconds=20
targets=(envelope domain inbound import)
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --only) targets=("$2"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

for tool in clang++ cmake ninja; do
  command -v $tool >/dev/null || { echo "run.sh: $tool is missing (deploy/setup.sh)" >&2; exit 2; }
done
locked() { if command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi; }

flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link"
flags="$flags -fno-sanitize-recover=undefined -Wno-unknown-warning-option"
start=$(date +%s)
if [ ! -f "$build/build.ninja" ]; then
  echo "== configuring $build (clang, sanitizers, libFuzzer)"
  locked cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Fuzz -DKAM_FUZZ=ON -DKAM_WERROR=OFF -DCMAKE_CXX_FLAGS="$flags" >/dev/null
fi
echo "== building ${targets[*]}"
if ! locked ninja -C "$build" -j2 "${targets[@]/#/fuzz_}" >"$build/fuzz-build.log" 2>&1; then
  tail -40 "$build/fuzz-build.log" >&2
  echo "run.sh: the fuzz build failed ($build/fuzz-build.log)" >&2
  exit 2
fi
built=$(date +%s)

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found=0
summary=()
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t
  findings=$build/fuzz-findings/$t
  mkdir -p "$corpus" "$findings"
  before=$(find "$findings" -type f | wc -l)
  log=$build/fuzz-$t.log
  echo "== fuzzing $t for ${seconds} s (log: $log)"
  set +e
  "$build/bin/fuzz_$t" "$corpus" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${extra[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  new=$(( $(find "$findings" -type f | wc -l) - before ))
  if [ $rc -ne 0 ] || [ $new -gt 0 ]; then
    found=1
    grep -E 'ERROR|SUMMARY|FUZZ CHECK FAILED|runtime error|Test unit written' "$log" | head -8 >&2
  fi
  line=$(printf '%-9s %10s execs %8s/s  %-32s findings: %d (exit %d)' "$t" "${execs:-?}" \
         "${rate:-?}" "${cov:-}" "$new" "$rc")
  echo "$line"
  summary+=("$line")
done
echo "== summary (build $((built - start)) s, total $(( $(date +%s) - start )) s)"
printf '%s\n' "${summary[@]}"
exit $found
