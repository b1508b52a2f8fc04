# shellcheck shell=bash
# Garage 2.5.0 (one node, SQLite metadata) for dev/stores, built from crates.io by
# dev/install-deps. Sourced after common.sh and ca.sh. Garage serves plain HTTP only (it
# has no TLS of its own), so this store has no https endpoint. Layout of .dev/stores/garage/:
#   garage.toml  meta/  data/ (blocks, scanned by tests for plaintext)  log/garage.log
#   garage.pid  ports  env

GARAGE_DIR=$STORES_DIR/garage
GARAGE_BIN=$DEV_DIR/garage/bin/garage
# Garage's key IDs are "GK" and 24 hex digits, its secrets 64 hex digits: the other
# stores' test identity does not fit, so Garage has its own.
GARAGE_ACCESS_KEY=GK5e55ec0000000000000000a1
GARAGE_SECRET_KEY=5e55ec00000000000000000000000000000000000000000000000000000000a1

# garage_cli ARGS...: the garage CLI against our node, bounded in time.
garage_cli() {
	GARAGE_CONFIG_FILE=$GARAGE_DIR/garage.toml timeout 20 "$GARAGE_BIN" "$@"
}

garage_layout_ready() { garage_cli status 2>/dev/null | grep -q 'HEALTHY NODES'; }

# One start attempt, run in its own process (errexit holds). Non-zero on any failure.
garage_attempt() {
	local D=$GARAGE_DIR t0
	t0=$(now_us)
	[[ -x $GARAGE_BIN ]] || die "$GARAGE_BIN missing: run dev/install-deps"
	mkdir -p "$D/meta" "$D/data" "$D/log"
	local -a p taken
	mapfile -t taken < <(other_stores_ports garage)
	mapfile -t p < <(free_ports 3 "${taken[@]}")
	((${#p[@]} == 3)) || die "could not find free ports"
	printf '%s\n' "${p[@]}" >"$D/ports"
	local rpc=${p[0]} s3=${p[1]} admin=${p[2]} secret token
	secret=$(openssl rand -hex 32)
	token=$(openssl rand -hex 16)
	# Blocks are stored uncompressed, so the tests' plaintext markers are found at rest
	# when (and only when) data is not encrypted. The region is the one clients sign for.
	(
		umask 077
		cat >"$D/garage.toml" <<-TOML
			metadata_dir = "$D/meta"
			data_dir = "$D/data"
			db_engine = "sqlite"
			replication_factor = 1
			compression_level = "none"
			rpc_bind_addr = "127.0.0.1:$rpc"
			rpc_public_addr = "127.0.0.1:$rpc"
			rpc_secret = "$secret"
			[s3_api]
			s3_region = "us-east-1"
			api_bind_addr = "127.0.0.1:$s3"
			root_domain = ".s3.garage.localhost"
			[admin]
			api_bind_addr = "127.0.0.1:$admin"
			admin_token = "$token"
		TOML
	)
	(
		cd "$D" || exit
		GARAGE_CONFIG_FILE=$D/garage.toml RUST_LOG=${GARAGE_LOG:-garage=warn} \
			exec setsid "$GARAGE_BIN" server
	) </dev/null >"$D/log/garage.log" 2>&1 &
	local pid=$!
	printf '%s\n' "$pid" >"$D/garage.pid"
	# shellcheck disable=SC2034 # read by wait_for
	WATCH_PIDS=("$pid")
	say "garage: server started (pid $pid), s3 http $s3"
	# `node id` reads the key file alone; `status` needs the server's RPC.
	wait_for 30 garage_cli status || die "garage node not answering: $WAIT_REASON"
	local node
	node=$(garage_cli node id -q) || die "garage node id failed"
	{
		garage_cli layout assign -z dc1 -c 1G "${node%%@*}" &&
			garage_cli layout apply --version 1 &&
			garage_cli key import --yes -n test "$GARAGE_ACCESS_KEY" "$GARAGE_SECRET_KEY" &&
			garage_cli key allow --create-bucket test
	} >>"$D/log/setup.log" 2>&1 || die "garage layout and key setup failed (log/setup.log)"
	local http=http://127.0.0.1:$s3
	wait_for 30 s3_signed_ok "$http" -u "$GARAGE_ACCESS_KEY:$GARAGE_SECRET_KEY" ||
		die "S3 did not answer a signed request: $WAIT_REASON"
	say "garage: layout applied, signed requests OK over http ($(elapsed "$t0"))"
	write_env garage <<-ENV
		export SSEC_TEST_GARAGE_HTTP=$http
		export SSEC_TEST_GARAGE_ACCESS_KEY=$GARAGE_ACCESS_KEY
		export SSEC_TEST_GARAGE_SECRET_KEY=$GARAGE_SECRET_KEY
		export SSEC_TEST_GARAGE_CA=$CA_PEM
		export SSEC_TEST_GARAGE_DATA=$D/data
	ENV
}

garage_pids() {
	local f=$GARAGE_DIR/garage.pid pid
	if [[ -s $f ]]; then
		pid=$(<"$f")
		alive "$pid" && printf '%s\n' "$pid"
	fi
	# Orphans too: a server whose pid file is gone. Its argv holds no path of ours, so
	# it is found by its environment instead.
	local d
	for d in /proc/[0-9]*; do
		[[ $d != "/proc/$$" && $d != "/proc/$BASHPID" ]] || continue
		if { tr '\0' '\n' <"$d/environ"; } 2>/dev/null |
			grep -qxF "GARAGE_CONFIG_FILE=$GARAGE_DIR/garage.toml" &&
			[[ $({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) == *" server "* ]]; then
			printf '%s\n' "${d#/proc/}"
		fi
	done
}

garage_cleanup() { rm -f "$GARAGE_DIR/garage.pid"; }

garage_logs() { printf '%s\n' "$GARAGE_DIR"/log/{setup,garage}.log; }
