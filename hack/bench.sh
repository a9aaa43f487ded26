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
# Run roots on tmpfs from here on, as the defaults are (/run/engine,
# /run/containers, $XDG_RUNTIME_DIR) for both engines.
runroot_tmpfs() { mkdir -p "$1" && mount -t tmpfs -o mode=0700 tmpfs "$1"; }
runroot_tmpfs "$work/c/run"
runroot_tmpfs "$work/p2/run"
runroot_tmpfs "$work/rawstate" # runc's own default, /run/runc, is one too
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

echo "== build: 3 RUN + 20 MB COPY, cold and fully cached" >&2
bctx="$work/buildctx"
mkdir -p "$bctx"
head -c $((20 << 20)) /dev/urandom >"$bctx/data"
printf 'FROM %s\nRUN echo one > /one\nRUN echo two > /two\nRUN echo three > /three\nCOPY data /data\n' "$small" >"$bctx/Containerfile"
B=("$ENGINE" --root "$work/b/root" --runroot "$work/b/run")
hyperfine -N --runs "$RUNS" --export-json "$work/build-cold-engine.json" \
	--prepare "sh -c '$PWD/hack/fresh-dir.sh $work/b && ${B[*]} pull -q --tls-verify=false $small >/dev/null'" \
	"${B[*]} build -q --network none -t bench-build $bctx" >&2
hyperfine -N --warmup 1 --runs 10 --export-json "$work/build-cached-engine.json" \
	"${B[*]} build -q --network none -t bench-build $bctx" >&2
if [ -n "$have_podman" ]; then
	PB=(podman --root "$work/pb/root" --runroot "$work/pb/run")
	hyperfine -N --runs "$RUNS" --export-json "$work/build-cold-podman.json" \
		--prepare "sh -c '$PWD/hack/fresh-dir.sh $work/pb && ${PB[*]} pull -q --tls-verify=false $small >/dev/null'" \
		"${PB[*]} build -q --network none $PFLAGS -t bench-build $bctx" >&2
	hyperfine -N --warmup 1 --runs 10 --export-json "$work/build-cached-podman.json" \
		"${PB[*]} build -q --network none $PFLAGS -t bench-build $bctx" >&2
	report "build cold (3 RUN + 20 MB COPY) vs podman" "$work/build-cold-engine.json" "$work/build-cold-podman.json" "<= 1.0"
	report "build fully cached vs podman" "$work/build-cached-engine.json" "$work/build-cached-podman.json" "<= 0.3"
else
	absolute "build cold (3 RUN + 20 MB COPY)" "$work/build-cold-engine.json" "podman missing"
	absolute "build fully cached" "$work/build-cached-engine.json" "podman missing"
fi

echo "== networking: run --rm on the default bridge vs --network none vs podman's default network" >&2
# Podman's podman0 and the engine's engine0 both take 10.88.0.0/16: only one
# may be up at a time, so each side's bridge is deleted before the other runs.
drop_bridges() { ip link del engine0 2>/dev/null || true; ip link del podman0 2>/dev/null || true; }
drop_bridges
hyperfine -N --warmup 3 --runs 30 --export-json "$work/net-none.json" \
	"${E[*]} run --rm --network none $small true" >&2
hyperfine -N --warmup 3 --runs 30 --export-json "$work/net-bridge.json" \
	"${E[*]} run --rm $small true" >&2
report "run --rm true: default bridge vs none" "$work/net-bridge.json" "$work/net-none.json" "<= 1.3"
if [ -n "$have_podman" ]; then
	drop_bridges
	hyperfine -N --warmup 3 --runs 30 --export-json "$work/net-podman.json" \
		"${P[*]} run --rm $PFLAGS $small true" >&2
	report "run --rm true: default bridge vs podman's" "$work/net-bridge.json" "$work/net-podman.json" "<= 0.3"
fi

echo "== networking: 100 MB over a published port (httpd in the container, curl on the host)" >&2
pad="$REGISTRY/bench/pad:latest"
go run ./test/cmd/mkimage --out "$work/pad" --pad-mb 100 --push "$pad" --insecure >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL: up to 10 s for the server to answer.
wait_http() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
# throughput NAME PORT: fetch the pad served on PORT 10 times and record
# the times in $work/tp-NAME.json.
throughput() {
	local name=$1 port=$2
	wait_http "http://127.0.0.1:$port/data" || { echo "$name: the published port does not answer" >&2; return 1; }
	hyperfine -N --warmup 2 --runs 10 --export-json "$work/tp-$name.json" \
		"curl -s -o /dev/null http://127.0.0.1:$port/data" >&2
}
mbps() { jq -n "100 / $(median "$1")"; }
tp_report() {
	local label=$1 ours=$2 peer=$3
	results+=("$(printf '%-44s engine %7.0f MB/s  peer %7.0f MB/s  ratio %5.2f  (target >= 0.9)' "$label" \
		"$(mbps "$ours")" "$(mbps "$peer")" "$(jq -n "$(median "$peer")/$(median "$ours")")")")
}
drop_bridges
"${E[@]}" pull -q --tls-verify=false "$pad" >/dev/null
port=$(free_port)
"${E[@]}" run -d --name tp -p "$port:80" "$pad" httpd -f -p 80 -h /pad >/dev/null
throughput engine "$port" || true
"${E[@]}" rm -f -t 0 tp >/dev/null
if [ -n "$have_podman" ] && "${P[@]}" pull -q --tls-verify=false "$pad" >/dev/null 2>&1; then
	drop_bridges
	port=$(free_port)
	"${P[@]}" run -d --name tp $PFLAGS -p "$port:80" "$pad" httpd -f -p 80 -h /pad >/dev/null
	throughput podman "$port" || true
	"${P[@]}" rm -f -t 0 tp >/dev/null
	[ -f "$work/tp-engine.json" ] && [ -f "$work/tp-podman.json" ] && tp_report "published port, 100 MB, root, vs podman" "$work/tp-engine.json" "$work/tp-podman.json"
fi

# Rootless: the engine through pasta, podman through its rootless default,
# as the test suite's unprivileged user when it exists.
RU=enginetest
if id "$RU" >/dev/null 2>&1 && grep -q "^$RU:" /etc/subuid; then
	ruid=$(id -u "$RU")
	rhome=$(getent passwd "$RU" | cut -d: -f6)
	rdir=/run/user/$ruid
	mkdir -p "$rdir" && chown "$RU:" "$rdir" && chmod 700 "$rdir"
	tun_mode=$(stat -c %a /dev/net/tun)
	chmod 666 /dev/net/tun
	rbin=$(mktemp -d /tmp/engine-bench-bin.XXXXXX)
	chmod 755 "$rbin"
	cp "$ENGINE" "$(dirname "$ENGINE")/engine-monitor" "$rbin/"
	rw="$rhome/engine-bench"
	as_user() { su -s /bin/sh "$RU" -c "cd /tmp && XDG_RUNTIME_DIR=$rdir HOME=$rhome PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin $*"; }
	RE="$rbin/engine --root $rw/e/root --runroot $rdir/engine-bench-e"
	RP="podman --root $rw/p/root --runroot $rdir/engine-bench-p"
	echo "== rootless: run --rm --network none IMG true as $RU" >&2
	# hyperfine runs as the user, so su's own cost is not timed.
	as_user "$RE pull -q --tls-verify=false $small" >/dev/null
	as_user "mkdir -p $rw/out && hyperfine -N --warmup 3 --runs 30 --export-json $rw/out/rl-engine.json '$RE run --rm --network none $small true'" >&2
	cp "$rw/out/rl-engine.json" "$work/rl-engine.json"
	report "rootless run --rm true vs rootful" "$work/rl-engine.json" "$work/run-engine.json" "<= 1.3"
	if [ -n "$have_podman" ] && as_user "$RP pull -q --tls-verify=false $small" >/dev/null 2>&1; then
		as_user "hyperfine -N --warmup 3 --runs 30 --export-json $rw/out/rl-podman.json '$RP run --rm --network none $PFLAGS $small true'" >&2
		cp "$rw/out/rl-podman.json" "$work/rl-podman.json"
		report "rootless run --rm true vs rootless podman" "$work/rl-engine.json" "$work/rl-podman.json" "<= 0.35"
	fi
	echo "== networking, rootless: the same download as $RU" >&2
	as_user "$RE pull -q --tls-verify=false $pad" >/dev/null
	port=$(free_port)
	as_user "$RE run -d --name tp -p $port:80 $pad httpd -f -p 80 -h /pad" >/dev/null
	throughput rootless-engine "$port" || true
	as_user "$RE rm -f -t 0 tp" >/dev/null
	if [ -n "$have_podman" ] && as_user "$RP pull -q --tls-verify=false $pad" >/dev/null 2>&1; then
		port=$(free_port)
		as_user "$RP run -d --name tp $PFLAGS -p $port:80 $pad httpd -f -p 80 -h /pad" >/dev/null
		throughput rootless-podman "$port" || true
		as_user "$RP rm -f -t 0 tp" >/dev/null
		[ -f "$work/tp-rootless-engine.json" ] && [ -f "$work/tp-rootless-podman.json" ] &&
			tp_report "published port, 100 MB, rootless, vs podman" "$work/tp-rootless-engine.json" "$work/tp-rootless-podman.json"
	fi
	as_user "$rbin/engine system migrate" >/dev/null 2>&1 || true
	as_user "podman system migrate" >/dev/null 2>&1 || true
	chmod "$tun_mode" /dev/net/tun
	rm -rf "$rbin" "$rw" "$rdir/engine-bench-e" "$rdir/engine-bench-p"
fi

echo "== pods: pod create + start of a 3-container pod, default network" >&2
# One pod: pod create, create --pod three times, pod start. --prepare
# removes the previous one and waits for its monitors (and their cleanup
# commands) to be gone; each side's bridge is deleted before it runs, as
# both take 10.88.0.0/16. Podman's infra container takes its limits from
# containers.conf (pod create has no --ulimit); its pause image is built
# by the warmup, as the engine's.
podcycle() { # BIN...: the command line timed
	echo "sh -c '$* pod create --name bp >/dev/null && for i in 1 2 3; do $* create --pod bp $small sleep 100 >/dev/null; done && $* pod start bp >/dev/null'"
}
podprep() { # MONITOR RUNROOT BIN...: remove the pod, wait for its monitors
	local mon=$1 run=$2
	shift 2
	# The bracket keeps the pattern from matching this sh's own command line.
	echo "sh -c '$* pod rm -f -i -t 0 bp >/dev/null 2>&1; for i in \$(seq 200); do pgrep -f \"[${mon:0:1}]${mon:1} .*$run/\" >/dev/null || exit 0; sleep 0.05; done'"
}
drop_bridges
hyperfine -N --warmup 1 --runs 15 --export-json "$work/pod-engine.json" \
	--prepare "$(podprep engine-monitor "$work/c/run" "${E[*]}")" "$(podcycle "${E[*]}")" >&2
"${E[@]}" pod rm -f -i -t 0 bp >/dev/null
if [ -n "$have_podman" ]; then
	drop_bridges
	printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' >"$work/containers.conf"
	CONTAINERS_CONF="$work/containers.conf" hyperfine -N --warmup 1 --runs 15 --export-json "$work/pod-podman.json" \
		--prepare "$(podprep conmon "$work/p2/run" "${P[*]}")" "$(podcycle "${P[*]}")" >&2
	CONTAINERS_CONF="$work/containers.conf" "${P[@]}" pod rm -f -i -t 0 bp >/dev/null
	report "pod create + start, 3 containers, vs podman" "$work/pod-engine.json" "$work/pod-podman.json" "<= 0.5"
else
	absolute "pod create + start, 3 containers" "$work/pod-engine.json" "podman missing"
fi
drop_bridges

echo
echo "== results (median; ratio = engine / peer)"
printf '%s\n' "${results[@]}"
