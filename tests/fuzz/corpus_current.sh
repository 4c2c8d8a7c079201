#!/usr/bin/env bash
# Fails when the committed seed corpus differs from what the generator writes now.
#   corpus_current.sh GENERATOR COMMITTED_DIR SCRATCH_DIR
set -euo pipefail
generator=$1 committed=$2 scratch=$3
rm -rf "$scratch"
"$generator" "$scratch" >/dev/null
status=0
while IFS= read -r -d '' f; do
  rel=${f#"$scratch"/}
  if ! cmp -s "$f" "$committed/$rel"; then
    echo "tests/fuzz/corpus/$rel is not what fuzz_make_corpus writes: run" \
         "build/bin/fuzz_make_corpus tests/fuzz/corpus and commit it" >&2
    status=1
  fi
done < <(find "$scratch" -type f -print0)
exit $status
