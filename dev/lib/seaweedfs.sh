# shellcheck shell=bash
# SeaweedFS 4.48 (`weed mini`: master, volume, filer and S3 in one process) for dev/stores.
# Sourced after common.sh and ca.sh. Layout of .dev/stores/seaweedfs/:
#   data/  volume files (scanned by tests for plaintext)   log/weed.log   weed.pid   ports   env

SW_DIR=$STORES_DIR/seaweedfs

# One start attempt, run in its own process (errexit holds). Non-zero on any failure.
seaweedfs_attempt() {
	local D=$SW_DIR t0
	t0=$(now_us)
	local weed=$VENV/bin/weed
	[[ -x $weed ]] || die "$weed missing: run dev/install-deps"
	mkdir -p "$D/data" "$D/log" "$D/conf"

	# weed mini opens 11 TCP ports; each is pinned (the gRPC ones would otherwise be
	# port+10000, unchecked). Admin UI, WebDAV, Iceberg and Lance are off.
	local -a p taken
	mapfile -t taken < <(other_stores_ports seaweedfs)
	mapfile -t p < <(free_ports 11 "${taken[@]}")
	((${#p[@]} == 11)) || die "could not find free ports"
	printf '%s\n' "${p[@]}" >"$D/ports"

	# With an identities file SigV4 is enforced; without one SeaweedFS serves anonymous.
	(
		umask 077
		cat >"$D/s3.json" <<-JSON
			{"identities": [{"name": "test",
			  "credentials": [{"accessKey": "$TEST_ACCESS_KEY", "secretKey": "$TEST_SECRET_KEY"}],
			  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
		JSON
	)

	# Its unix sockets go in our dir too, unless the path is too long for one (108 bytes).
	local -a socks=()
	((${#D} > 90)) || socks=(-filer.localSocket="$D/filer.sock" -s3.localSocket="$D/s3.sock")
	# -logtostderr keeps logs out of /tmp; -config_dir (empty) keeps stray
	# ~/.seaweedfs or /etc/seaweedfs toml files out; telemetry goes nowhere.
	# weed also saves these options in data/mini.options and reloads them: start always wipes.
	# (It also insists that the TLS cert and key sit in the same directory.)
	# Every bucket is a collection with volumes of its own, and the default volume count
	# (free disk / 1 GiB at start) runs out after a few dozen test buckets; volume files
	# are sparse, so a high count costs nothing.
	(
		cd "$D" || exit
		exec setsid "$weed" -logtostderr -config_dir="$D/conf" mini \
			-dir="$D/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
			-master.telemetry=false -master.telemetry.url=http://127.0.0.1:9/ \
			-admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
			-s3.config="$D/s3.json" \
			-volume.max=1000 \
			-s3.cert.file="$LEAF_PEM" -s3.key.file="$LEAF_KEY" \
			-s3.port="${p[0]}" -s3.port.https="${p[1]}" -s3.port.grpc="${p[2]}" \
			-master.port="${p[3]}" -master.port.grpc="${p[4]}" \
			-volume.port="${p[5]}" -volume.port.grpc="${p[6]}" \
			-filer.port="${p[7]}" -filer.port.grpc="${p[8]}" \
			-admin.port="${p[9]}" -admin.port.grpc="${p[10]}" "${socks[@]}"
	) </dev/null >"$D/log/weed.log" 2>&1 &
	local pid=$!
	printf '%s\n' "$pid" >"$D/weed.pid"
	# shellcheck disable=SC2034 # read by wait_for
	WATCH_PIDS=("$pid")
	say "seaweedfs: weed mini started (pid $pid), s3 http ${p[0]} https ${p[1]}"

	local http=http://127.0.0.1:${p[0]} https=https://127.0.0.1:${p[1]}
	wait_for 60 s3_signed_ok "$http" ||
		die "S3 over http did not answer a signed request: $WAIT_REASON"
	wait_for 15 s3_signed_ok "$https" --cacert "$CA_PEM" ||
		die "S3 over https did not answer a signed request: $WAIT_REASON"
	say "seaweedfs: signed requests OK over http and https ($(elapsed "$t0"))"

	write_env seaweedfs <<-ENV
		export SSEC_TEST_SEAWEEDFS_HTTP=$http
		export SSEC_TEST_SEAWEEDFS_HTTPS=$https
		export SSEC_TEST_SEAWEEDFS_ACCESS_KEY=$TEST_ACCESS_KEY
		export SSEC_TEST_SEAWEEDFS_SECRET_KEY=$TEST_SECRET_KEY
		export SSEC_TEST_SEAWEEDFS_CA=$CA_PEM
		export SSEC_TEST_SEAWEEDFS_DATA=$D/data
	ENV
}

seaweedfs_pids() {
	local f=$SW_DIR/weed.pid pid
	if [[ -s $f ]]; then
		pid=$(<"$f")
		alive "$pid" && printf '%s\n' "$pid"
	fi
	# Orphans too: a weed whose pid file is gone still names our data dir.
	pids_with_arg "-dir=$SW_DIR/data"
}

seaweedfs_cleanup() {
	# weed leaves /tmp/seaweedfs-<svc>-grpc-<port>.sock behind when killed hard.
	local port
	if [[ -s $SW_DIR/ports ]]; then
		while read -r port; do
			rm -f /tmp/seaweedfs-{master,volume,filer,s3,admin}-grpc-"$port".sock
		done <"$SW_DIR/ports"
	fi
	rm -f "$SW_DIR/weed.pid"
}

seaweedfs_logs() { printf '%s\n' "$SW_DIR/log/weed.log"; }
