#!/usr/bin/env bash
# Idempotent set-up for a Debian 12 machine (root): system packages, then Node 24 and the
# npm dependencies into node_modules. Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(etcd-server nftables bird2 iproute2 procps socat iperf3 gobgpd iputils-ping containernetworking-plugins
  # eBPF dataplane: the C programs are compiled by clang at set-up (never downloaded)
  clang llvm bpftool libbpf-dev linux-libc-dev gcc-multilib
  # WireGuard in userspace (no kernel module here), captures for the no-plaintext tests
  wireguard-go wireguard-tools tcpdump
  # flow logs (NFLOG → JSON), conntrack, monitoring, the browser for UI tests
  ulogd2 ulogd2-json conntrack prometheus chromium)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # The etcd-server package ships a service; policy-rc.d keeps apt from starting it on the host.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# Node 24 comes from the npm registry (package "node"); npm scripts and npx then run on it.
stamp=node_modules/.tricolor-setup-stamp
want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ ! -x node_modules/.bin/node ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing npm packages (Node 24 among them)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
# The eBPF dataplane's programs: compiled here with Debian's clang (rebuilt only when a source changed).
bash scripts/build-bpf.sh

echo "setup: ready (node $(node_modules/.bin/node --version))" >&2
