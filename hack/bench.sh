#!/usr/bin/env bash
# Benchmarks the engine side by side with podman, skopeo and raw runc in one
# run and prints ratios. Run as root after ./hack/install-deps.sh: `make bench`.
# Needs: hyperfine, jq, docker-registry, and podman/skopeo for the peers.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
ENGINE=${ENGINE:-$PWD/bin/engine}
RUNS=${RUNS:-5}
PAD_MB=${PAD_MB:-64}
work=$(mktemp -d /var/tmp/engine-bench.XXXXXX)
regpid=""
cleanup() {
	[ -n "$regpid" ] && kill "$regpid" 2>/dev/null || true
	unmount_under "$work"
	rm -rf "$work"
}
trap cleanup EXIT

results=()
# ratio NAME OURS_JSON PEER_JSON: prints the median ratio engine/peer.
median() { jq -r '.results[0].median' "$1"; }
report() {
	local name=$1 ours=$2 peer=$3 target=$4
	local a b
	a=$(median "$ours"); b=$(median "$peer")
	results+=("$(printf '%-44s engine %7.1f ms  peer %7.1f ms  ratio %5.2f  (target %s)' "$name" "$(jq -n "$a*1000")" "$(jq -n "$b*1000")" "$(jq -n "$a/$b")" "$target")")
}
absolute() {
	local name=$1 ours=$2 target=$3
	results+=("$(printf '%-44s engine %7.1f ms  (target %s)' "$name" "$(jq -n "$(median "$ours")*1000")" "$target")")
}

echo "== building a ${PAD_MB} MB multi-layer image and starting a registry" >&2
start_registry "$work/registry"
regpid=$REGISTRY_PID

go run ./test/cmd/mkimage --out "$work/layout" --layers 4 --pad-mb "$PAD_MB" \
	--push "$REGISTRY/bench/big:latest" --insecure >&2
img="$REGISTRY/bench/big:latest"

echo "== pull into a cold store" >&2
hyperfine -N --runs "$RUNS" --export-json "$work/pull-engine.json" \
	--prepare "rm -rf $work/e" \
	"$ENGINE --root $work/e/root --runroot $work/e/run pull -q --tls-verify=false $img" >&2
if command -v podman >/dev/null; then
	hyperfine -N --runs "$RUNS" --export-json "$work/pull-podman.json" \
		--prepare "rm -rf $work/p" \
		"podman --root $work/p/root --runroot $work/p/run pull -q --tls-verify=false $img" >&2
	report "pull ${PAD_MB}MB cold vs podman pull" "$work/pull-engine.json" "$work/pull-podman.json" "<= 1.0"
fi
if command -v skopeo >/dev/null; then
	hyperfine -N --runs "$RUNS" --export-json "$work/pull-skopeo.json" \
		--prepare "rm -rf $work/s" \
		"skopeo copy -q --src-tls-verify=false docker://$img containers-storage:[overlay@$work/s/root+$work/s/run]$img" >&2
	report "pull ${PAD_MB}MB cold vs skopeo copy" "$work/pull-engine.json" "$work/pull-skopeo.json" "info"
fi

echo "== engine images with 200 images" >&2
store=(--root "$work/i/root" --runroot "$work/i/run")
for i in $(seq 200); do
	d="$work/imp/$i"
	mkdir -p "$d"
	echo "$i" >"$d/file"
	tar -C "$d" -cf - file | "$ENGINE" "${store[@]}" import -q - "bench/img$i:latest" >/dev/null
done
hyperfine -N --warmup 3 --runs 20 --export-json "$work/images-engine.json" \
	"$ENGINE ${store[*]} images" >&2
absolute "images (200 images)" "$work/images-engine.json" "<= 50 ms"

echo
echo "== results (median; ratio = engine / peer)"
printf '%s\n' "${results[@]}"
