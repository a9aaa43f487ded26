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
	# Containers first: their monitors would outlive the deleted store.
	for d in "$work"/*/; do
		[ -f "$d/root/engine.db" ] && "$ENGINE" --root "$d/root" --runroot "$d/run" rm -a -f -t 0 >/dev/null 2>&1
		[ -d "$d/root/overlay-containers" ] && podman --root "$d/root" --runroot "$d/run" rm -a -f -t 0 >/dev/null 2>&1
	done
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
	--prepare "$PWD/hack/fresh-dir.sh $work/e" \
	"$ENGINE --root $work/e/root --runroot $work/e/run pull -q --tls-verify=false $img" >&2
if command -v podman >/dev/null; then
	hyperfine -N --runs "$RUNS" --export-json "$work/pull-podman.json" \
		--prepare "$PWD/hack/fresh-dir.sh $work/p" \
		"podman --root $work/p/root --runroot $work/p/run pull -q --tls-verify=false $img" >&2
	report "pull ${PAD_MB}MB cold vs podman pull" "$work/pull-engine.json" "$work/pull-podman.json" "<= 1.0"
fi
if command -v skopeo >/dev/null; then
	hyperfine -N --runs "$RUNS" --export-json "$work/pull-skopeo.json" \
		--prepare "$PWD/hack/fresh-dir.sh $work/s" \
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

echo "== containers: run --rm --network none IMG true" >&2
small="$REGISTRY/bench/small:latest"
go run ./test/cmd/mkimage --out "$work/small" --layers 2 --push "$small" --insecure >/dev/null
E=("$ENGINE" --root "$work/c/root" --runroot "$work/c/run")
"${E[@]}" pull -q --tls-verify=false "$small" >/dev/null
# podman here needs limits its monitor can set (conmon cannot raise them to ours).
P=(podman --root "$work/p2/root" --runroot "$work/p2/run")
PFLAGS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
have_podman=""
if command -v podman >/dev/null && "${P[@]}" pull -q --tls-verify=false "$small" >/dev/null 2>&1; then
	have_podman=1
fi
hyperfine -N --warmup 3 --runs 30 --export-json "$work/run-engine.json" \
	"${E[*]} run --rm --network none $small true" >&2
# The same bundle under raw runc: the engine's own spec (written by a first
# start) and its root filesystem, mounted again at the same place.
id=$("${E[@]}" create --network none "$small" true)
"${E[@]}" start -a "$id" >/dev/null
"${E[@]}" mount "$id" >/dev/null
bundle="$work/c/run/containers/$id"
hyperfine -N --warmup 3 --runs 30 --export-json "$work/run-runc.json" \
	"runc --root $work/rawstate run --bundle $bundle rawbench" >&2
report "run --rm true vs raw runc, same bundle" "$work/run-engine.json" "$work/run-runc.json" "<= 2.0"
"${E[@]}" rm -f "$id" >/dev/null
if [ -n "$have_podman" ]; then
	hyperfine -N --warmup 3 --runs 30 --export-json "$work/run-podman.json" \
		"${P[*]} run --rm --network none $PFLAGS $small true" >&2
	report "run --rm true vs podman" "$work/run-engine.json" "$work/run-podman.json" "<= 0.35"
	hyperfine -N --warmup 1 --runs 10 --export-json "$work/cycle-engine.json" \
		"sh -c 'id=\$(${E[*]} create --network none $small sleep 100) && ${E[*]} start \$id >/dev/null && ${E[*]} stop -t 0 \$id >/dev/null && ${E[*]} rm \$id >/dev/null'" >&2
	hyperfine -N --warmup 1 --runs 10 --export-json "$work/cycle-podman.json" \
		"sh -c 'id=\$(${P[*]} create --network none $PFLAGS $small sleep 100) && ${P[*]} start \$id >/dev/null && ${P[*]} stop -t 0 \$id >/dev/null && ${P[*]} rm \$id >/dev/null'" >&2
	report "create+start+stop+rm vs podman" "$work/cycle-engine.json" "$work/cycle-podman.json" "<= 0.5"
fi

echo "== monitor memory" >&2
mid=$("${E[@]}" run -d --network none "$small" sleep 1000)
sleep 0.5
mpid=$(pgrep -f "engine-monitor .*$mid")
mrss=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
crss="n/a"
if [ -n "$have_podman" ]; then
	pid2=$("${P[@]}" run -d --network none $PFLAGS "$small" sleep 1000)
	sleep 0.5
	cpid=$(pgrep -f "conmon .*$pid2" | head -1)
	crss=$(awk '/VmRSS/ {print $2}' "/proc/$cpid/status")
	"${P[@]}" rm -f -t 0 "$pid2" >/dev/null
fi
results+=("$(printf '%-44s engine-monitor %s KiB  conmon %s KiB  (target <= 3072 KiB)' "monitor RSS, idle detached container" "$mrss" "$crss")")
"${E[@]}" rm -f -t 0 "$mid" >/dev/null

echo "== 50 parallel run -d on one store" >&2
start=$(date +%s.%N)
pids=()
for i in $(seq 50); do
	"${E[@]}" run -d --network none --name "par$i" "$small" sleep 1000 >/dev/null 2>"$work/par$i.err" &
	pids+=($!)
done
wait "${pids[@]}" # not a bare wait: the registry runs in the background too
end=$(date +%s.%N)
ok=$("${E[@]}" ps -q --filter status=running | wc -l)
results+=("$(printf '%-44s %d of 50 running in %.2f s (target: all)' "50 parallel run -d" "$ok" "$(jq -n "$end-$start")")")
"${E[@]}" rm -a -f -t 0 >/dev/null

echo "== ps -a with 1000 containers" >&2
for i in $(seq 1000); do echo "create --network none $small true"; done | while read -r args; do "${E[@]}" $args >/dev/null; done
hyperfine -N --warmup 3 --runs 20 --export-json "$work/ps-engine.json" "${E[*]} ps -a" >&2
absolute "ps -a (1000 containers)" "$work/ps-engine.json" "<= 100 ms"
"${E[@]}" rm -a -f >/dev/null

echo
echo "== results (median; ratio = engine / peer)"
printf '%s\n' "${results[@]}"
