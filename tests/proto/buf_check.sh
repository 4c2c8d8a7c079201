#!/usr/bin/env bash
# Schema discipline for proto/ (the contract):
#  1. buf lint (STANDARD rules);
#  2. buf breaking (FILE rules) of the working tree against the last commit when proto/
#     has uncommitted changes, and of each of the last commits against its parent, so a
#     submission of several commits is checked commit by commit;
#  3. a self-test: a deliberately breaking edit of a published event must be rejected.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
buf=$root/tools/buf/node_modules/.bin/buf
[ -x "$buf" ] || { echo "buf is not installed; run deploy/setup.sh"; exit 1; }
cd "$root"

echo "buf lint proto"
"$buf" lint proto

has_proto() { git cat-file -e "$1:proto/kam/v1/events.proto" 2>/dev/null; }
checked=0
if [ -n "$(git status --porcelain -- proto 2>/dev/null)" ] && has_proto HEAD; then
  echo "buf breaking: working tree against HEAD"
  "$buf" breaking proto --against ".git#subdir=proto,ref=HEAD"
  checked=$((checked + 1))
fi
for commit in $(git rev-list --first-parent -n 20 HEAD 2>/dev/null); do
  parent=$(git rev-parse -q --verify "$commit^" 2>/dev/null) || continue
  has_proto "$commit" && has_proto "$parent" || continue
  git diff --quiet "$parent" "$commit" -- proto && continue
  echo "buf breaking: $(git log -1 --format='%h %s' "$commit" | cut -c1-70) against its parent"
  tmp=$(mktemp -d)
  git archive "$commit" proto | tar -x -C "$tmp"
  "$buf" breaking "$tmp/proto" --against ".git#subdir=proto,ref=$parent"
  rm -rf "$tmp"
  checked=$((checked + 1))
done
echo "buf breaking: $checked comparison(s) passed"

# Self-test: the check must reject changing a published field's type.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r proto "$tmp/before"
cp -r proto "$tmp/after"
sed -i 's/  string account_name = 3 \[/  int64 account_name = 3 [/' "$tmp/after/kam/v1/events.proto"
grep -q 'int64 account_name = 3 \[' "$tmp/after/kam/v1/events.proto"
if "$buf" breaking "$tmp/after" --against "$tmp/before" > "$tmp/out" 2>&1; then
  echo "self-test failed: buf breaking accepted a changed field type"; exit 1
fi
grep -q 'account_name' "$tmp/out"
echo "self-test: a breaking edit of AccountNominated is rejected"
