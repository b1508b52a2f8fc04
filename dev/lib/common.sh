# shellcheck shell=bash disable=SC2034 # variables here are for the scripts that source it
# Helpers shared by dev/install-deps and dev/stores. Sourced, never run.

# The repository root, from this file's own location, so the scripts work from any cwd.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
LIB_DIR=$ROOT/dev/lib
DEV_DIR=$ROOT/.dev # git-ignored
VENV=$DEV_DIR/venv
CA_DIR=$DEV_DIR/ca
STORES_DIR=$DEV_DIR/stores

# The one test identity both stores accept (SigV4 is enforced on both).
TEST_ACCESS_KEY=TESTACCESSKEY0000000
TEST_SECRET_KEY=testsecretkey000000000000000000000000000

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Microseconds since the epoch, from bash itself (no fork per poll).
now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s' "$((10#$t))"
}

# elapsed START_US -> "1.2s"
elapsed() {
	local d=$(($(now_us) - $1))
	printf '%d.%ds' $((d / 1000000)) $((d % 1000000 / 100000))
}

# wait_for SECONDS CMD...: poll CMD (quietly) until it succeeds; 1 when the deadline passes
# or when a pid in WATCH_PIDS has died (no point waiting for a dead daemon). WAIT_REASON says
# which. CMD must bound its own run time (curl --max-time, timeout ...).
WATCH_PIDS=()
WAIT_REASON=
wait_for() {
	local deadline=$(($(now_us) + $1 * 1000000)) limit=$1 pid
	shift
	until "$@" >/dev/null 2>&1; do
		for pid in "${WATCH_PIDS[@]}"; do
			if ! alive "$pid"; then
				WAIT_REASON="pid $pid exited"
				return 1
			fi
		done
		if (($(now_us) >= deadline)); then
			WAIT_REASON="no success within ${limit}s"
			return 1
		fi
		sleep 0.25
	done
}

# s3_signed_ok URL [CURL_ARGS...]: a SigV4-signed ListBuckets with the test identity gets a 2xx.
# Proves the endpoint is up, TLS (if any) verifies and the credentials are known.
# curl 7.88 does not send x-amz-content-sha256 itself, and RGW insists on it (signed).
s3_signed_ok() {
	local url=$1
	shift
	curl -sf -o /dev/null --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" \
		-u "$TEST_ACCESS_KEY:$TEST_SECRET_KEY" \
		-H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" "$@" "$url/"
}

# http_answers URL [CURL_ARGS...]: anything at all answers HTTP there (any status).
http_answers() {
	local url=$1
	shift
	curl -s -o /dev/null --max-time 2 "$@" "$url/"
}

# A python3 for the small helpers: the venv's if present, else the system's.
helper_python() {
	if [[ -x $VENV/bin/python3 ]]; then
		printf '%s' "$VENV/bin/python3"
	elif command -v python3 >/dev/null; then
		command -v python3
	else
		die "python3 not found (run dev/install-deps)"
	fi
}

# free_ports N [EXCLUDED...]: N distinct free 127.0.0.1 TCP ports, one per line.
free_ports() {
	"$(helper_python)" "$LIB_DIR/free-ports.py" "$@"
}

# tail_logs FILE...: the end of each log, for failure reports.
tail_logs() {
	local f
	for f in "$@"; do
		[[ -s $f ]] || continue
		warn "----- last lines of $f -----"
		tail -n 25 "$f" >&2
	done
}

# pids_with_arg ARG: pids of processes with an argv entry exactly equal to ARG.
# ARG is always a path inside this repository's .dev/ (a data dir or ceph.conf), so this
# finds exactly our daemons, including orphans whose pid file is gone, and nothing else.
pids_with_arg() {
	local d pid arg
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		while IFS= read -r -d '' arg; do
			if [[ $arg == "$1" ]]; then
				printf '%s\n' "$pid"
				break
			fi
		done 2>/dev/null <"$d/cmdline" || true # gone meanwhile
	done
}

# alive PID: true while PID exists and is not a zombie.
alive() {
	local state
	state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# stop_pids SECONDS PID...: SIGTERM, wait up to SECONDS, then SIGKILL and wait briefly.
stop_pids() {
	local limit=$1 pid
	local -a left
	shift
	(($#)) || return 0
	kill -TERM "$@" 2>/dev/null || true
	local deadline=$(($(now_us) + limit * 1000000))
	while :; do
		left=()
		for pid in "$@"; do alive "$pid" && left+=("$pid"); done
		((${#left[@]})) || return 0
		(($(now_us) < deadline)) || break
		sleep 0.2
	done
	warn "  still running after ${limit}s, killing: ${left[*]}"
	kill -KILL "${left[@]}" 2>/dev/null || true
	deadline=$(($(now_us) + 5 * 1000000))
	while (($(now_us) < deadline)); do
		left=()
		for pid in "$@"; do alive "$pid" && left+=("$pid"); done
		((${#left[@]})) || return 0
		sleep 0.2
	done
	warn "  could not stop: ${left[*]}"
	return 1
}

# The release binary the quick start (dev/up) and the container image (dev/image) share:
# glibc linked statically, so it runs in an image that holds nothing else. RUSTFLAGS with
# --target apply to the binary only, not to build scripts and proc-macros (which cannot be
# static); the build goes to its own directory beside target/release.
STATIC_TARGET=x86_64-unknown-linux-gnu
STATIC_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/$STATIC_TARGET/release/ssec-proxy
build_static_release() {
	RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
		cargo build --release --locked --quiet --target "$STATIC_TARGET" --bin ssec-proxy
}
