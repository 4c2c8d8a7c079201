#!/usr/bin/env bash
# Every rule in libs/domain/rules.h is exercised by a unit test: its name ("rule x.y" in an
# expected message, or its kConstant) appears in tests/unit. Prints the uncovered ones.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
missing=0
found=0
while read -r constant name; do
  if ! grep -rqF -e "$name" -e "$constant" "$root/tests/unit" --include='*.cc'; then
    echo "rule $name ($constant) has no unit test"
    missing=$((missing + 1))
  fi
  found=$((found + 1))
done < <(tr '\n' ' ' < "$root/libs/domain/rules.h" |
           grep -oE 'constexpr std::string_view k[A-Za-z0-9]+ *= *"[^"]+"' |
           sed -E 's/.*(k[A-Za-z0-9]+) *= *"([^"]+)"/\1 \2/')
total=$(grep -c 'constexpr std::string_view' "$root/libs/domain/rules.h")
echo "$((found - missing)) of $total rules covered"
[ "$found" -eq "$total" ] || { echo "could not parse every rule of rules.h"; exit 1; }
[ "$missing" -eq 0 ]
