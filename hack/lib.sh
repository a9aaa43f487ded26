# Shared shell helpers for hack/ scripts; source it.

# start_registry DIR: starts Debian's docker-registry on a free 127.0.0.1 port
# with its storage in DIR, sets REGISTRY (host:port) and REGISTRY_PID.
start_registry() {
	local dir=$1 port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$dir/data"
	cat >"$dir/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
	docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	REGISTRY_PID=$!
	REGISTRY=127.0.0.1:$port
	for _ in $(seq 100); do
		curl -fs "http://$REGISTRY/v2/" >/dev/null && return 0
		sleep 0.1
	done
	echo "registry did not start; its log:" >&2
	cat "$dir/registry.log" >&2
	return 1
}

# unmount_under DIR: lazily unmounts everything mounted below DIR, deepest first.
unmount_under() {
	awk -v d="$1" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
}
