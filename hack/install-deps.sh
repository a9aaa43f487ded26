#!/usr/bin/env bash
# Installs the Debian packages the engine and its test bed need on Debian 12.
# Idempotent; run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	runc            # OCI runtime (crun 1.8 refuses this host's cgroup v1 hybrid)
	uidmap          # newuidmap/newgidmap for rootless
	busybox-static  # content of the test images
	docker-registry # real registry for tests
	catatonit       # --init and the pod pause process
	slirp4netns passt
	iproute2 nftables
	skopeo podman   # peers for benchmarks only; never used by the engine
	hyperfine jq curl python3
	systemd         # systemd-analyze verifies generated units
	git make gcc libc6-dev pkg-config ca-certificates
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the packaged registry on :5000 where systemd runs; tests start their own.
