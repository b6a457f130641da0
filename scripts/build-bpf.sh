#!/usr/bin/env bash
# Compile the eBPF dataplane's C programs (src/dataplane/bpf/c/) with Debian's clang into
# build/bpf/*.o. Idempotent: rebuilds only when a source or this script changed (a stamp holds the
# hash of both). Run by scripts/setup.sh; tests and the agent call it too when the object is
# missing or stale, so a fresh clone never runs with old programs.
set -euo pipefail
cd "$(dirname "$0")/.."
src=src/dataplane/bpf/c
out=build/bpf
want="$(cat "$src"/*.c "$src"/*.h "$0" | sha256sum | cut -d' ' -f1)"
if [ -f "$out/tricolor.bpf.o" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
mkdir -p "$out"
# -g keeps BTF (libbpf needs it for the map definitions); -mcpu=v3 for 32-bit jumps/ALU.
clang -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I/usr/include/x86_64-linux-gnu \
  -c "$src/tricolor.bpf.c" -o "$out/tricolor.bpf.o.tmp"
mv "$out/tricolor.bpf.o.tmp" "$out/tricolor.bpf.o"
echo "$want" > "$out/stamp"
echo "build-bpf: compiled $out/tricolor.bpf.o" >&2
