# shellcheck shell=bash
# Ceph RGW 16.2.15 (Pacific) for dev/stores: one mon, one memstore OSD, radosgw, auth none.
# Pacific has no dbstore, so RGW needs this minimal RADOS cluster. Sourced after common.sh
# and ca.sh. Layout of .dev/stores/rgw/:
#   ceph.conf  keyring  mon.a/  osd.0/  rgw/  run/*.pid  log/*.log  ports  env

RGW_DIR=$STORES_DIR/rgw

# ceph ARGS...: the ceph CLI on our cluster, never hanging (it retries forever by default).
ceph_cli() {
	timeout 20 ceph -c "$RGW_DIR/ceph.conf" --connect-timeout 10 "$@"
}

osd_up() { ceph_cli osd stat -f json | grep -q '"num_up_osds":1[,}]'; }

# run_logged DESC SECONDS CMD...: run CMD bounded, its output into log/setup.log.
run_logged() {
	local desc=$1 limit=$2
	shift 2
	printf '+ %s\n' "$*" >>"$RGW_DIR/log/setup.log"
	timeout "$limit" "$@" </dev/null >>"$RGW_DIR/log/setup.log" 2>&1 ||
		die "$desc failed (exit $?)"
}

# One start attempt of the whole cluster, in its own process (errexit holds). Usually
# 3 s; every step is bounded, so a stuck attempt gives up within about 5 minutes.
rgw_attempt() {
	local D=$RGW_DIR t0
	t0=$(now_us)
	# ceph.conf values cannot hold whitespace; CEPH_ARGS would leak into every ceph tool.
	[[ $D != *[[:space:]]* ]] || die "the repository path must not contain whitespace: $D"
	unset CEPH_ARGS
	local b
	for b in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
		command -v "$b" >/dev/null || die "$b missing: run dev/install-deps"
	done
	mkdir -p "$D"/{log,run,mon.a,osd.0,rgw}
	: >"$D/log/setup.log"

	local -a p taken
	mapfile -t taken < <(other_stores_ports rgw)
	mapfile -t p < <(free_ports 3 "${taken[@]}")
	((${#p[@]} == 3)) || die "could not find free ports"
	printf '%s\n' "${p[@]}" >"$D/ports"
	local mon_port=${p[0]} http_port=${p[1]} https_port=${p[2]}

	local fsid conf=$D/ceph.conf
	fsid=$(cat /proc/sys/kernel/random/uuid)
	# The OSD picks its own ports in 6800-7300, on 127.0.0.1 (public and cluster addr).
	cat >"$conf" <<-CONF
		[global]
		fsid = $fsid
		mon host = v1:127.0.0.1:$mon_port
		mon initial members = a
		public addr = 127.0.0.1
		cluster addr = 127.0.0.1
		public network = 127.0.0.0/8
		cluster network = 127.0.0.0/8
		ms bind msgr2 = false
		auth cluster required = none
		auth service required = none
		auth client required = none
		auth supported = none
		osd pool default size = 1
		osd pool default min size = 1
		osd pool default pg num = 8
		osd pool default pgp num = 8
		osd pool default pg autoscale mode = off
		osd crush chooseleaf type = 0
		mon allow pool size one = true
		mon allow pool delete = true
		mon warn on pool no redundancy = false
		# Dev speed: commit mon updates at once (default 1 s each; RGW creates ~5 pools at start).
		paxos propose interval = 0.05
		paxos min wait = 0.01
		run dir = $D/run
		# \$pid: CLI clients (ceph, rados, radosgw-admin) may run side by side
		admin socket = $D/run/\$name.\$pid.asok
		log file = $D/log/\$name.log
		keyring = $D/keyring
		# Not from the OSD itself: its crush/class update commands at init race the fresh mon
		# ("wrong fsid", about 1 start in 3 here); the CRUSH entry is made from the CLI instead.
		osd crush update on start = false
		osd class update on start = false
		osd objectstore = memstore
		# 6 GiB of RAM at most: a whole test run (the streaming tests move 256 MiB twice)
		# stays far from the OSD's full ratio, where RGW stops taking writes.
		memstore device bytes = 6442450944
		[mon.a]
		mon data = $D/mon.a
		[osd.0]
		osd data = $D/osd.0
		[client.rgw.a]
		rgw data = $D/rgw
		rgw frontends = beast endpoint=127.0.0.1:$http_port ssl_endpoint=127.0.0.1:$https_port ssl_certificate=$LEAF_PEM ssl_private_key=$LEAF_KEY
		rgw dns name = localhost
		# rgw crypt require ssl stays true (the default): SSE-C over plain HTTP is refused
		# unless the request carries X-Forwarded-Proto: https, which is trusted here so that
		# the proxy can talk plain HTTP upstream.
		rgw trust forwarded https = true
	CONF
	say "rgw: ports mon $mon_port, http $http_port, https $https_port"

	# Daemons fork into the background; their stdio goes to a log, never to our pipes.
	local stdio=$D/log/daemon-stdio.log
	run_logged "keyring" 30 ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *'
	run_logged "keyring" 30 ceph-authtool "$D/keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *'
	run_logged "monmap" 30 monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$D/monmap"
	run_logged "mon mkfs" 30 ceph-mon -c "$conf" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
	timeout 30 ceph-mon -c "$conf" -i a --pid-file "$D/run/mon.a.pid" </dev/null >>"$stdio" 2>&1 ||
		die "ceph-mon did not start"
	wait_for 5 test -s "$D/run/mon.a.pid" || die "no mon pid file"
	WATCH_PIDS=("$(<"$D/run/mon.a.pid")")
	wait_for 20 ceph_cli -s || die "mon not answering: $WAIT_REASON"
	say "rgw: mon up ($(elapsed "$t0"))"

	local uuid id
	uuid=$(cat /proc/sys/kernel/random/uuid)
	id=$(ceph_cli osd new "$uuid" 2>>"$D/log/setup.log") || die "ceph osd new failed"
	[[ $id == 0 ]] || die "unexpected osd id '$id'"
	run_logged "osd crush add" 30 ceph -c "$conf" --connect-timeout 10 osd crush add osd.0 1.0 root=default host=localhost
	run_logged "osd mkfs" 30 ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$uuid"
	# ceph-osd returns once initialised. Should it still lose a start-up race with the fresh
	# mon, that shows up here or as an OSD that never comes up; either way the caller
	# retries the whole cluster from scratch.
	timeout 30 ceph-osd -c "$conf" -i 0 --pid-file "$D/run/osd.0.pid" </dev/null >>"$stdio" 2>&1 ||
		die "ceph-osd did not start"
	wait_for 5 test -s "$D/run/osd.0.pid" || die "no osd pid file"
	WATCH_PIDS+=("$(<"$D/run/osd.0.pid")")
	wait_for 30 osd_up || die "osd.0 not up: $WAIT_REASON"
	say "rgw: osd.0 up ($(elapsed "$t0"))"

	# First start creates the realm/zone and its pools (fast thanks to the paxos settings).
	timeout 30 radosgw -c "$conf" -n client.rgw.a --pid-file "$D/run/rgw.a.pid" </dev/null >>"$stdio" 2>&1 ||
		die "radosgw did not start"
	wait_for 10 test -s "$D/run/rgw.a.pid" || die "no radosgw pid file"
	WATCH_PIDS+=("$(<"$D/run/rgw.a.pid")")
	local http=http://127.0.0.1:$http_port https=https://127.0.0.1:$https_port
	wait_for 60 http_answers "$http" || die "radosgw not answering on $http: $WAIT_REASON"
	say "rgw: radosgw answering ($(elapsed "$t0"))"

	run_logged "radosgw-admin user create" 30 radosgw-admin -c "$conf" user create \
		--uid=test --display-name=test \
		--access-key="$TEST_ACCESS_KEY" --secret="$TEST_SECRET_KEY"
	wait_for 20 s3_signed_ok "$http" || die "signed request over http failed: $WAIT_REASON"
	wait_for 15 s3_signed_ok "$https" --cacert "$CA_PEM" ||
		die "signed request over https failed: $WAIT_REASON"
	say "rgw: user created, signed requests OK over http and https ($(elapsed "$t0"))"

	write_env rgw <<-ENV
		export SSEC_TEST_RGW_HTTP=$http
		export SSEC_TEST_RGW_HTTPS=$https
		export SSEC_TEST_RGW_ACCESS_KEY=$TEST_ACCESS_KEY
		export SSEC_TEST_RGW_SECRET_KEY=$TEST_SECRET_KEY
		export SSEC_TEST_RGW_CA=$CA_PEM
		export SSEC_TEST_RGW_CEPH_CONF=$conf
		export SSEC_TEST_RGW_DATA_POOL=default.rgw.buckets.data
	ENV
}

# Live pids, in stop order: gateway, OSD, mon, then anything else using our ceph.conf.
rgw_pids() {
	local f pid
	for f in "$RGW_DIR"/run/{rgw.a,osd.0,mon.a}.pid; do
		[[ -s $f ]] || continue
		pid=$(<"$f")
		alive "$pid" && printf '%s\n' "$pid"
	done
	# Orphans too (and hung CLI clients): everything started with our ceph.conf.
	pids_with_arg "$RGW_DIR/ceph.conf"
}

rgw_cleanup() { rm -f "$RGW_DIR"/run/*.pid "$RGW_DIR"/run/*.asok; }

rgw_logs() {
	printf '%s\n' "$RGW_DIR"/log/{setup,daemon-stdio,mon.a,osd.0,client.rgw.a}.log
}
