#!/usr/bin/env bash
# Installs the Debian packages podspan builds and tests with. Idempotent: skips
# apt entirely when every package is already present.
set -euo pipefail
pkgs=(libpcap-dev tcpdump tshark tcpflow tcpreplay iperf3 ethtool iproute2 containernetworking-plugins chromium time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "podspan: need root to install: ${missing[*]} (run: sudo $0)" >&2
  exit 1
fi
echo "podspan: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
