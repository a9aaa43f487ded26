#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what is needed,
# build engine, build a multi-layer image from the host's busybox, serve it
# from a local registry on 127.0.0.1, then pull it and run a container from it.
set -euo pipefail
cd "$(dirname "$0")/.."
. hack/lib.sh
export PATH="/usr/local/go/bin:$PATH"

./hack/install-deps.sh
make engine
work=$(mktemp -d /var/tmp/engine-demo.XXXXXX)
trap 'kill "$REGISTRY_PID" 2>/dev/null || true; rm -rf "$work"' EXIT
start_registry "$work/registry"
image="$REGISTRY/demo/busybox:latest"

echo "== building a 3-layer busybox image and pushing it to $REGISTRY"
go run ./test/cmd/mkimage --out "$work/layout" --layers 3 \
	--cmd 'echo hello from engine' --push "$image" --insecure

echo "== engine pull $image"
bin/engine pull --tls-verify=false "$image"
bin/engine images
bin/engine tag "$image" demo:latest
bin/engine image inspect --format '{{.Id}} {{.Config.Cmd}}' demo

echo "== engine run --rm demo"
bin/engine run --rm --network none demo
bin/engine run --rm --network none demo sh -c 'echo "in a container: $(hostname), $(id -u), $(uname -r)"; ls /'
echo "== engine run -d, ps, logs, stop, rm"
bin/engine run -d --name demo-sleeper --network none demo sh -c 'echo started; exec sleep 600'
bin/engine ps
sleep 0.3
bin/engine logs demo-sleeper
bin/engine rm -f -t 0 demo-sleeper
