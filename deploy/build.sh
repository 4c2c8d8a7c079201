#!/usr/bin/env bash
# Set-up (deploy/setup.sh), then configure and build into build/ (Release by default;
# BUILD_TYPE=Debug for a debug build), and the dashboard page into build/web. Incremental:
# generated code is rebuilt only when a .proto changes, the page when its sources change.
# Arguments go to deploy/setup.sh (e.g. --tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/setup.sh" "$@"
build_type=${BUILD_TYPE:-Release}
if [ ! -f "$root/build/build.ninja" ] || ! grep -q "CMAKE_BUILD_TYPE:STRING=$build_type" "$root/build/CMakeCache.txt"; then
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
ninja -C "$root/build" ${NINJA_FLAGS:-}
"$root/deploy/web.sh"
