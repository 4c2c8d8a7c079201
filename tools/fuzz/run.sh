#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for a bounded time and prints, per target, the
# executions, the coverage and corpus reached, and the findings.
#
#   tools/fuzz/run.sh                     the quick run (ctest fuzz_libfuzzer, in the test
#                                         command): 30 s per target from the committed seeds,
#                                         the targets side by side on the machine's cores
#   tools/fuzz/run.sh --seconds 600       the full run: 10 min per target, from the seeds and
#                                         the corpus earlier full runs kept
#   tools/fuzz/run.sh --only domain       one target (envelope, domain, inbound, import)
#   tools/fuzz/run.sh --jobs 1            one target at a time (default: one per core, <= 4)
#   tools/fuzz/run.sh --build-only        configure and build, fuzz nothing
#   tools/fuzz/run.sh --seconds 60 -- -use_value_profile=1    more arguments go to libFuzzer
#
# It configures and builds build-fuzz/ if needed, through the machine's build lock: clang++
# at -O1 with AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage
# (-DKAM_FUZZ=ON, tests/fuzz/CMakeLists.txt; the generated protobuf code without UBSan), and
# only what the four targets link (no gRPC code). From scratch on this 2-core machine: 239 s
# of CPU, 118-260 s of wall time as other work shares the cores (it was 450 s of CPU with
# all of kamctl and UBSan in the generated code). tests/run.sh starts it in the background
# at idle priority. The quick run once built: 68 s.
#
# The quick run starts from tests/fuzz/corpus/<target> alone and keeps nothing it finds
# there (build-fuzz/fuzz-quick/), so its cost does not grow with earlier runs. A run with
# --seconds starts from the seeds and build-fuzz/fuzz-corpus/<target>, adds to that corpus
# and minimises it afterwards (libFuzzer -merge=1). The committed seeds are never written to.
#
# A finding - a crash, a sanitizer report, a failed check (fixture.h), a timeout, running out
# of memory - is saved under build-fuzz/fuzz-findings/<target>/; the script prints its path
# and the commands that replay it:
#   build/bin/fuzz_<target>_replay FILE      the ordinary build's runner (GCC, no sanitizers)
#   build-fuzz/bin/fuzz_<target> FILE        the libFuzzer binary, with the sanitizers
# Exit status: 0 no findings, 1 findings, 2 usage or build failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KAM_FUZZ_BUILD:-$root/build-fuzz}
lock=${KAM_BUILD_LOCK:-/tmp/kam-build.lock}
seconds=30
quick=true
build_only=false
targets=(envelope domain inbound import)
cores=$(nproc 2>/dev/null || echo 2)
jobs=$(( cores < 4 ? cores : 4 ))
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; quick=false; shift 2 ;;
    --only) targets=("$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build-only) build_only=true; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for t in "${targets[@]}"; do
  [ -d "$root/tests/fuzz/corpus/$t" ] || { echo "run.sh: no target '$t' (see --help)" >&2; exit 2; }
done
[[ $seconds =~ ^[1-9][0-9]*$ && $jobs =~ ^[1-9][0-9]*$ ]] ||
  { echo "run.sh: --seconds and --jobs take a positive number" >&2; exit 2; }

for tool in clang++ cmake ninja; do
  command -v $tool >/dev/null || { echo "run.sh: $tool is missing (deploy/setup.sh)" >&2; exit 2; }
done
locked() { if command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi; }

flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link"
flags="$flags -fno-sanitize-recover=undefined -Wno-unknown-warning-option"
start=$(date +%s)
mkdir -p "$build"
if ! grep -qxF "CMAKE_CXX_FLAGS:STRING=$flags" "$build/CMakeCache.txt" 2>/dev/null; then
  echo "== configuring $build (clang, sanitizers, libFuzzer)"
  if ! locked cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=Fuzz -DKAM_FUZZ=ON -DKAM_WERROR=OFF -DCMAKE_CXX_FLAGS="$flags" \
      >"$build/fuzz-configure.log" 2>&1; then
    tail -20 "$build/fuzz-configure.log" >&2
    echo "run.sh: configuring $build failed ($build/fuzz-configure.log)" >&2
    exit 2
  fi
fi
echo "== building ${targets[*]}"
if ! locked ninja -C "$build" -j"$cores" "${targets[@]/#/fuzz_}" >"$build/fuzz-build.log" 2>&1; then
  tail -40 "$build/fuzz-build.log" >&2
  echo "run.sh: the fuzz build failed ($build/fuzz-build.log)" >&2
  exit 2
fi
built=$(date +%s)
echo "== built in $((built - start)) s"
$build_only && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Fuzzes one target; writes its summary line to $build/fuzz-<t>.result and the paths of its
# findings to $build/fuzz-<t>.findings.
fuzz() {
  local t=$1 corpus findings log before rc
  findings=$build/fuzz-findings/$t
  log=$build/fuzz-$t.log
  if $quick; then
    corpus=$build/fuzz-quick/$t
    rm -rf "$corpus"
  else
    corpus=$build/fuzz-corpus/$t
  fi
  mkdir -p "$corpus" "$findings"
  find "$findings" -type f | sort >"$build/fuzz-$t.before"
  set +e
  "$build/bin/fuzz_$t" "$corpus" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${extra[@]}" >"$log" 2>&1
  rc=$?
  set -e
  find "$findings" -type f | sort | comm -13 "$build/fuzz-$t.before" - >"$build/fuzz-$t.findings"
  rm -f "$build/fuzz-$t.before"
  local execs rate cov new kept
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
  new=$(wc -l <"$build/fuzz-$t.findings")
  kept=""
  if ! $quick && [ "$rc" -eq 0 ] && [ "$new" -eq 0 ]; then
    # Keep the corpus small: only the inputs that add coverage, so the next run does not
    # spend its time replaying thousands of redundant ones.
    rm -rf "$corpus.merged"
    mkdir -p "$corpus.merged"
    if "$build/bin/fuzz_$t" -merge=1 "$corpus.merged" "$corpus" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 >"$build/fuzz-$t.merge.log" 2>&1; then
      rm -rf "$corpus" && mv "$corpus.merged" "$corpus"
      kept=" kept $(find "$corpus" -type f | wc -l)"
    else
      rm -rf "$corpus.merged"
    fi
  fi
  printf '%-9s %10s execs %8s/s  %-32s findings: %d (exit %d)%s\n' "$t" "${execs:-?}" \
    "${rate:-?}" "${cov:-}" "$new" "$rc" "$kept" >"$build/fuzz-$t.result"
  [ "$rc" -eq 0 ] && [ "$new" -eq 0 ]
}

[ "$jobs" -gt ${#targets[@]} ] && jobs=${#targets[@]}
mode="quick run, from the committed seeds"
$quick || mode="from the seeds and $build/fuzz-corpus"
echo "== fuzzing ${targets[*]} for $seconds s each, $jobs at a time ($mode)"
pids=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz "$t" &
  pids+=($!)
done
found=0
for i in "${!targets[@]}"; do
  wait "${pids[$i]}" || found=1
done

for t in "${targets[@]}"; do
  if [ -s "$build/fuzz-$t.findings" ] || ! grep -q '(exit 0)' "$build/fuzz-$t.result"; then
    echo "== $t: FINDING (log: $build/fuzz-$t.log)" >&2
    grep -E 'ERROR|SUMMARY|FUZZ CHECK FAILED|runtime error|Test unit written' \
      "$build/fuzz-$t.log" | head -8 >&2 || true
    while IFS= read -r f; do
      echo "   saved: $f" >&2
      echo "   replay: $root/build/bin/fuzz_${t}_replay $f" >&2
      echo "       or: $build/bin/fuzz_$t $f" >&2
    done <"$build/fuzz-$t.findings"
  fi
done
echo "== summary (build $((built - start)) s, total $(( $(date +%s) - start )) s)"
for t in "${targets[@]}"; do cat "$build/fuzz-$t.result"; done
exit $found
