#!/usr/bin/env python3
"""dev/bench: ssec-proxy against nginx (the TLS-terminating reverse proxy users would
otherwise run) and against the upstream direct, in one run on one machine.

Everything listens on 127.0.0.1. Targets are driven in turn by wrk (dev/lib/bench.lua)
over HTTP/1.1 and by oha over HTTP/2, alternating within every repetition, each run after the machine has gone idle. CPU time
comes from /proc (utime + stime of the proxy's processes), so per-request and per-GiB
figures hold on a noisy machine; the reported numbers are medians with their spread.

Usage (through dev/bench): bench.py --root DIR --cert PEM --key PEM [--quick] [--reps N]
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SMALL = 1024
BIG = 16 << 20


def log(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port} after {timeout}s")


def cpu_busy(window=0.5):
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return idle, sum(v)
    i0, t0 = read()
    time.sleep(window)
    i1, t1 = read()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_idle(limit=0.15, max_wait=30):
    """Waits until the machine is idle; returns the busy fraction it settled for."""
    deadline = time.time() + max_wait
    busy = cpu_busy()
    while busy > limit and time.time() < deadline:
        busy = cpu_busy()
    return busy


def pids_of(root_pid):
    """The process and its descendants (nginx master and workers)."""
    pids = [root_pid]
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    i = 0
    while i < len(pids):
        pids.extend(children.get(pids[i], []))
        i += 1
    return pids


def cpu_seconds(root_pid):
    """(user, system) CPU seconds of the process and its children."""
    user = system = 0
    for pid in pids_of(root_pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except OSError:
            continue
    return user / CLK_TCK, system / CLK_TCK


def cpu_delta(before, after):
    return after[0] - before[0], after[1] - before[1]


def rss_mib(root_pid, field="VmRSS:"):
    total = 0
    for pid in pids_of(root_pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Target:
    def __init__(self, name, port, scheme, pid):
        self.name, self.port, self.scheme, self.pid = name, port, scheme, pid

    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"


# The headers dev/lib/bench.lua sends besides Host, as SigV4 signs them.
SIGNED_HEADERS = {
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "x-amz-server-side-encryption-customer-key-md5": "tP/LI3N87DFaSk0aoqYgzg==",
}
RESIGN_ACCESS = "BENCHACCESSKEY000001"
RESIGN_SECRET = "bench-secret-0123456789abcdefghijklmn"


def sigv4(method, path, when):
    """(x-amz-date, Authorization) of bench.lua's request, signed for resign mode's
    client (S3's header auth, UNSIGNED-PAYLOAD, region us-east-1)."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when))
    day = amz_date[:8]
    headers = dict(SIGNED_HEADERS, host="localhost")
    headers["x-amz-date"] = amz_date
    names = sorted(headers)
    canonical = "\n".join([method, path, "", "".join(f"{n}:{headers[n]}\n" for n in names),
                           ";".join(names), "UNSIGNED-PAYLOAD"])
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + RESIGN_SECRET).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return amz_date, (f"AWS4-HMAC-SHA256 Credential={RESIGN_ACCESS}/{scope}, "
                      f"SignedHeaders={';'.join(names)}, Signature={signature}")


def run_wrk(args, target, method, path, body, conns, duration):
    env = dict(os.environ, BENCH_METHOD=method, BENCH_PATH=path, BENCH_BODY_BYTES=str(body))
    # Every target gets the same signed request, as real clients sign in both auth modes:
    # resign mode verifies it, the others forward it (the bench upstream ignores it).
    env["BENCH_AMZ_DATE"], env["BENCH_AUTHORIZATION"] = sigv4(method, path, time.time())
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--timeout", "10s", "-s", args.lua, target.url()]
    busy = wait_idle()
    cpu0 = cpu_seconds(target.pid)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 60)
    cpu1 = cpu_seconds(target.pid)
    line = next((l for l in out.stdout.splitlines() if l.startswith("{")), None)
    if line is None:
        raise SystemExit(f"wrk failed against {target.name}: {out.stdout}\n{out.stderr}")
    r = json.loads(line)
    r["cpu_user"], r["cpu_sys"] = cpu_delta(cpu0, cpu1)
    r["cpu"] = r["cpu_user"] + r["cpu_sys"]
    r["busy_before"] = busy
    r["rss"] = rss_mib(target.pid) if target.pid else 0
    if r["errors"] or r["status_errors"]:
        log(f"  warning: {target.name} {method} {path}: {r['errors']} errors, {r['status_errors']} non-2xx")
    return r


SSE_C_HEADERS = [
    "x-amz-content-sha256: UNSIGNED-PAYLOAD",
    "x-amz-server-side-encryption-customer-algorithm: AES256",
    "x-amz-server-side-encryption-customer-key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "x-amz-server-side-encryption-customer-key-MD5: tP/LI3N87DFaSk0aoqYgzg==",
]


def run_oha(args, target, method, path, body, conns, parallel, duration):
    """HTTP/2 load from oha: `conns` connections with `parallel` streams each, the same
    SSE-C headers as the wrk script. Returns the same fields as run_wrk."""
    cmd = [args.oha, "--no-tui", "--output-format", "json", "--http2", "--cacert", args.ca,
           "-c", str(conns), "-p", str(parallel), "-z", f"{duration}s", "-w", "-m", method]
    for h in SSE_C_HEADERS:
        cmd += ["-H", h]
    if body:
        cmd += ["-D", args.bodies[body]]
    cmd.append(f"https://localhost:{target.port}{path}")
    busy = wait_idle()
    cpu0 = cpu_seconds(target.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    cpu1 = cpu_seconds(target.pid)
    try:
        j = json.loads(out.stdout)
    except ValueError:
        raise SystemExit(f"oha failed against {target.name}: {out.stdout[:2000]}\n{out.stderr[:2000]}")
    statuses = {int(k): v for k, v in j.get("statusCodeDistribution", {}).items()}
    errors = sum(j.get("errorDistribution", {}).values())
    ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
    pct = j.get("latencyPercentiles", {})
    user, system = cpu_delta(cpu0, cpu1)
    r = {
        "requests": ok,
        "duration_us": int(j["summary"]["total"] * 1e6),
        "bytes": j["summary"].get("totalData", 0),
        "p50_us": int((pct.get("p50") or 0) * 1e6),
        "p99_us": int((pct.get("p99") or 0) * 1e6),
        "errors": errors,
        "status_errors": sum(statuses.values()) - ok,
        "cpu_user": user,
        "cpu_sys": system,
        "cpu": user + system,
        "busy_before": busy,
        "rss": rss_mib(target.pid),
    }
    if r["errors"] or r["status_errors"]:
        log(f"  warning: {target.name} h2 {method} {path}: {r['errors']} errors, {r['status_errors']} non-2xx")
    return r


async def hold_tls_connections(port, count, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    conns = []
    for i in range(0, count, 50):
        batch = await asyncio.gather(*[
            asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
            for _ in range(min(50, count - i))
        ])
        conns.extend(batch)
    return conns


def idle_connections_rss(target, count, cafile):
    async def go():
        conns = await hold_tls_connections(target.port, count, cafile)
        await asyncio.sleep(1.0)
        rss = rss_mib(target.pid)
        for _, w in conns:
            w.close()
        return rss
    return asyncio.run(go())


def access_line_alone(args):
    """(µs of CPU per line, the example's output): one access line's cost on its own
    (examples/access_line.rs: 200,000 lines at 50,000 a second into a file), free of the
    noise a loaded run's log-on-minus-off difference carries."""
    wait_idle()
    out = subprocess.run([args.access_line_bin], capture_output=True, text=True, timeout=120)
    line = out.stdout.strip()
    try:
        return float(line.split("access line: ", 1)[1].split(" ", 1)[0]), line
    except (IndexError, ValueError):
        raise SystemExit(f"access_line failed: {out.stdout}\n{out.stderr}")


def per_request_us(r):
    return r["cpu"] / max(1, r["requests"]) * 1e6


def med(values):
    return statistics.median(values) if values else float("nan")


def spread(values):
    return f"{min(values):.0f}–{max(values):.0f}" if values else "-"


def nginx_conf(d, port, logged_port, upstream_port, cert, key, workers):
    # Two servers, alike but for the access log: `port` logs nothing, `logged_port`
    # writes the `combined` line of every request to a file through a 64 KiB buffer.
    def server(listen, access_log):
        return f"""
  server {{
    listen 127.0.0.1:{listen} ssl http2;
    access_log {access_log};
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    keepalive_requests 100000;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    location / {{
      proxy_pass http://store;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_buffering on;
      proxy_request_buffering on;
      proxy_buffers 64 16k;
      proxy_max_temp_file_size 0;
    }}
  }}"""
    return f"""
worker_processes {workers};
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream store {{ server 127.0.0.1:{upstream_port}; keepalive 128; }}
{server(port, "off")}
{server(logged_port, f"{d}/nginx-access.log combined buffer=64k")}
}}
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--oha", default="oha")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--duration", type=int)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    p.add_argument("--json")
    p.add_argument("--only", help="run only the scenarios whose name contains this (e.g. '1 KiB')")
    args = p.parse_args()
    reps = args.reps or (2 if args.quick else 5)
    small_d = args.duration or (4 if args.quick else 10)
    big_d = args.duration or (4 if args.quick else 10)
    args.lua = os.path.join(args.root, "dev/lib/bench.lua")
    proxy_bin = os.path.join(args.root, "target/release/ssec-proxy")
    upstream_bin = os.path.join(args.root, "target/release/examples/bench_upstream")
    args.access_line_bin = os.path.join(args.root, "target/release/examples/access_line")
    for tool in ["wrk", "nginx", args.oha]:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: run dev/install-deps (oha: dev/bench installs it)")

    ports = {name: free_port() for name in ["up_plain", "up_tls", "nginx", "nginx_log", "ssec", "admin", "ssec_log", "admin_log", "ssec_resign", "admin_resign"]}
    for name, port in ports.items():
        if not port_is_free(port):
            raise SystemExit(f"port {port} ({name}) is busy")
    d = tempfile.mkdtemp(prefix="ssec-bench-")
    procs = []
    # Request bodies for oha (wrk's script makes its own).
    args.bodies = {}
    for size in (SMALL, BIG):
        args.bodies[size] = os.path.join(d, f"body-{size}")
        with open(args.bodies[size], "wb") as f:
            f.write(b"x" * size)

    def start(cmd, stdout_to=None, **kw):
        stdout = open(stdout_to, "w") if stdout_to else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=open(os.path.join(d, os.path.basename(cmd[0]) + ".log"), "w"), **kw)
        procs.append(proc)
        return proc

    try:
        upstream = start([upstream_bin, f"127.0.0.1:{ports['up_plain']}", f"127.0.0.1:{ports['up_tls']}", args.cert, args.key, "2"])
        wait_port(ports["up_plain"])
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(nginx_conf(d, ports["nginx"], ports["nginx_log"], ports["up_plain"], args.cert, args.key, args.workers))
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"]:
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        nginx = start(["nginx", "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"])
        wait_port(ports["nginx"])
        def proxy_toml(name, listen, admin, log):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(f"""
[server]
listen = "127.0.0.1:{listen}"
admin_listen = "127.0.0.1:{admin}"
tls_cert = "{args.cert}"
tls_key = "{args.key}"
worker_threads = {args.workers}
# Clients send Host: localhost; the upstream is not a store the proxy recognises, and
# an unknown store may read a single name as a bucket unless it is listed.
path_style_hosts = ["localhost"]
[upstream]
endpoint = "http://127.0.0.1:{ports['up_plain']}"
[ssec]
default = "allow"
{log}""")
            return path

        # As nginx's `access_log off`: no line per request.
        quiet = proxy_toml("proxy.toml", ports["ssec"], ports["admin"], '[log]\nlevel = "warn"\n')
        ssec = start([proxy_bin, "--config", quiet])
        # The defaults a user runs: JSON lines on stdout, one per request; stdout goes
        # to a file, as a container runtime keeps it.
        logged = proxy_toml("proxy-log.toml", ports["ssec_log"], ports["admin_log"], "")
        ssec_log = start([proxy_bin, "--config", logged], stdout_to=os.path.join(d, "proxy-access.log"))
        # Resign mode with the defaults otherwise: the proxy verifies the client's
        # signature and signs for the upstream (which ignores it).
        with open(os.path.join(d, "client.secret"), "w") as f:
            f.write(RESIGN_SECRET + "\n")
        with open(os.path.join(d, "store.secret"), "w") as f:
            f.write("bench-store-secret\n")
        resign = proxy_toml("proxy-resign.toml", ports["ssec_resign"], ports["admin_resign"], f"""
[auth]
mode = "resign"
[[auth.clients]]
access_key = "{RESIGN_ACCESS}"
secret_key_file = "{os.path.join(d, 'client.secret')}"
[upstream.credentials]
access_key = "BENCHSTOREKEY0000001"
secret_key_file = "{os.path.join(d, 'store.secret')}"
""")
        ssec_resign = start([proxy_bin, "--config", resign], stdout_to=os.path.join(d, "proxy-resign-access.log"))
        wait_port(ports["ssec"])
        wait_port(ports["ssec_log"])
        wait_port(ports["ssec_resign"])
        time.sleep(1.0)
        ssec_idle_rss = rss_mib(ssec.pid)
        nginx_idle_rss = rss_mib(nginx.pid)

        # Each proxy twice: access log off, and on (ssec-proxy's defaults; nginx's
        # buffered `combined` file). Ratios compare like with like.
        targets = [
            Target("ssec-proxy", ports["ssec"], "https", ssec.pid),
            Target("nginx", ports["nginx"], "https", nginx.pid),
            Target("ssec-proxy+log", ports["ssec_log"], "https", ssec_log.pid),
            Target("nginx+log", ports["nginx_log"], "https", nginx.pid),
            Target("direct-tls", ports["up_tls"], "https", upstream.pid),
            Target("direct-plain", ports["up_plain"], "http", upstream.pid),
            # HTTP/1.1 loads only (wrk sends the signature; oha cannot sign).
            Target("ssec-proxy+resign", ports["ssec_resign"], "https", ssec_resign.pid),
        ]
        # (name, method, path, body bytes, connections, duration, HTTP/2 streams per
        # connection or None for HTTP/1.1 through wrk). HTTP/2 goes through oha against
        # the two proxies only: the upstream speaks HTTP/1.1, as most stores do.
        scenarios = [
            ("GET 1 KiB", "GET", "/b/1k", 0, 64, small_d, None),
            ("PUT 1 KiB", "PUT", "/b/1k", SMALL, 64, small_d, None),
            ("GET 16 MiB", "GET", "/b/16m", 0, 4, big_d, None),
            ("PUT 16 MiB", "PUT", "/b/16m", BIG, 4, big_d, None),
            ("h2 GET 1 KiB", "GET", "/b/1k", 0, 8, small_d, 8),
            ("h2 PUT 1 KiB", "PUT", "/b/1k", SMALL, 8, small_d, 8),
            ("h2 GET 16 MiB", "GET", "/b/16m", 0, 4, big_d, 1),
            ("h2 PUT 16 MiB", "PUT", "/b/16m", BIG, 4, big_d, 1),
        ]

        if args.only:
            scenarios = [s for s in scenarios if args.only in s[0]]

        def targets_of(s):
            return targets if s[6] is None else targets[:4]

        results = {(s[0], t.name): [] for s in scenarios for t in targets_of(s)}
        log(f"bench: {reps} repetitions, {small_d}s per run, {args.workers} workers each; targets alternate within each repetition")
        for rep in range(reps):
            for s in scenarios:
                # Rotate the order so no target always runs first or last.
                ts = targets_of(s)
                order = ts[rep % len(ts):] + ts[:rep % len(ts)]
                # Resign mode is measured against passthrough with the log: the two run
                # back to back, first one then the other, so the machine's drift
                # between runs is not read as resign mode's cost.
                names = [t.name for t in order]
                if "ssec-proxy+resign" in names:
                    resign = order.pop(names.index("ssec-proxy+resign"))
                    at = [t.name for t in order].index("ssec-proxy+log")
                    order.insert(at + rep % 2, resign)
                for t in order:
                    if s[6] is None:
                        r = run_wrk(args, t, s[1], s[2], s[3], s[4], s[5])
                    else:
                        r = run_oha(args, t, s[1], s[2], s[3], s[4], s[6], s[5])
                    results[(s[0], t.name)].append(r)
                    rps = r["requests"] / (r["duration_us"] / 1e6)
                    log(f"  rep {rep + 1} {s[0]:<13} {t.name:<15} {rps:9.0f} req/s  p99 {r['p99_us'] / 1000:7.2f} ms  (machine busy before: {r['busy_before'] * 100:.0f}%)")
        ssec_load_rss = rss_mib(ssec.pid, "VmHWM:")
        args.access_line = access_line_alone(args)
        ssec_conn_rss = idle_connections_rss(targets[0], 1000, args.ca)
        nginx_conn_rss = idle_connections_rss(targets[1], 1000, args.ca)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(d, ignore_errors=True)

    report(results, scenarios, targets, ssec_idle_rss, ssec_load_rss, ssec_conn_rss, nginx_idle_rss, nginx_conn_rss, args)


def report(results, scenarios, targets, ssec_idle, ssec_load, ssec_conn, nginx_idle, nginx_conn, args):
    summary = {"scenarios": {}, "rss_mib": {}}
    log("\nResults (median of repetitions, spread min–max):")
    log(f"{'scenario':<14} {'target':<15} {'req/s':>9} {'spread':>13} {'MiB/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU/req µs':>11} {'CPU/GiB s':>10} {'kernel':>7}")
    for s in scenarios:
        name = s[0]
        summary["scenarios"][name] = {}
        for t in targets:
            rs = results.get((name, t.name))
            if not rs:
                continue
            rps = [r["requests"] / (r["duration_us"] / 1e6) for r in rs]
            mibs = [r["bytes"] / (r["duration_us"] / 1e6) / 2**20 if s[1] == "GET" else r["requests"] * s[3] / (r["duration_us"] / 1e6) / 2**20 for r in rs]
            cpu_req = [r["cpu"] / max(1, r["requests"]) * 1e6 for r in rs]
            sys_share = [r["cpu_sys"] / r["cpu"] for r in rs if r["cpu"] > 0]
            moved = [(r["bytes"] if s[1] == "GET" else r["requests"] * s[3]) for r in rs]
            cpu_gib = [r["cpu"] / max(1, m) * 2**30 for r, m in zip(rs, moved)]
            row = {
                "rps": med(rps), "rps_min": min(rps), "rps_max": max(rps),
                "mib_s": med(mibs),
                "p50_ms": med([r["p50_us"] / 1000 for r in rs]),
                "p99_ms": med([r["p99_us"] / 1000 for r in rs]),
                "cpu_us_per_req": med(cpu_req), "cpu_s_per_gib": med(cpu_gib),
                "cpu_kernel_share": med(sys_share),
                "errors": sum(r["errors"] + r["status_errors"] for r in rs),
            }
            summary["scenarios"][name][t.name] = row
            cpu_cols = (f"{row['cpu_us_per_req']:11.1f} {row['cpu_s_per_gib']:10.2f} {row['cpu_kernel_share'] * 100:6.0f}%"
                        if not t.name.startswith("direct") else "")
            log(f"{name:<14} {t.name:<15} {row['rps']:9.0f} {spread(rps):>13} {row['mib_s']:8.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {cpu_cols}")
    log("\nRatios (ssec-proxy / other, same run; access logs off, then on on both sides):")
    checks = []
    for ours, theirs, logs in (("ssec-proxy", "nginx", "off"), ("ssec-proxy+log", "nginx+log", "on")):
        for s in scenarios:
            name = s[0]
            row = summary["scenarios"][name]
            sp, ng = row[ours], row[theirs]
            small = s[2].endswith("1k")
            ratio_rps = sp["rps"] / ng["rps"]
            ratio_p99 = sp["p99_ms"] / ng["p99_ms"]
            ratio_cpu = (sp["cpu_us_per_req"] / ng["cpu_us_per_req"]) if small else (sp["cpu_s_per_gib"] / ng["cpu_s_per_gib"])
            ratios = {"vs_nginx": ratio_rps, "p99_vs_nginx": ratio_p99, "cpu_vs_nginx": ratio_cpu}
            row.setdefault("ratios", {})[f"logs_{logs}"] = ratios
            label = f"{name} (logs {logs})"
            if s[6] is not None:
                # HTTP/2: reported against nginx; the targets are stated for the wrk loads.
                unit = "CPU/request" if small else "CPU/GiB"
                log(f"  {label:<26} throughput {ratio_rps:.2f}x nginx; p99 {ratio_p99:.2f}x nginx's; {unit} {ratio_cpu:.2f}x nginx's")
                continue
            ratio_tls = sp["rps"] / row["direct-tls"]["rps"]
            ratios["vs_direct_tls"] = ratio_tls
            if small:
                log(f"  {label:<26} throughput {ratio_rps:.2f}x nginx, {ratio_tls:.2f}x direct-TLS; p99 {ratio_p99:.2f}x nginx's; CPU/request {ratio_cpu:.2f}x nginx's ({sp['cpu_us_per_req']:.1f} µs vs {ng['cpu_us_per_req']:.1f} µs)")
                want_rps, want_cpu = (1.05, 0.8) if logs == "off" else (1.0, 1.0)
                checks += [(f"{label}: req/s >= {want_rps}x nginx", ratio_rps >= want_rps, f"{ratio_rps:.2f}x"),
                           (f"{label}: p99 <= nginx's", ratio_p99 <= 1.0, f"{ratio_p99:.2f}x"),
                           (f"{label}: CPU/request <= {want_cpu}x nginx's", ratio_cpu <= want_cpu, f"{ratio_cpu:.2f}x")]
            else:
                log(f"  {label:<26} throughput {ratio_rps:.2f}x nginx, {ratio_tls:.2f}x direct-TLS; CPU/GiB {ratio_cpu:.2f}x nginx's ({sp['cpu_s_per_gib']:.2f} s vs {ng['cpu_s_per_gib']:.2f} s)")
                checks += [(f"{label}: throughput >= 1.2x nginx", ratio_rps >= 1.2, f"{ratio_rps:.2f}x"),
                           (f"{label}: throughput >= 0.85x direct-TLS", ratio_tls >= 0.85, f"{ratio_tls:.2f}x"),
                           (f"{label}: CPU/GiB <= 0.7x nginx's", ratio_cpu <= 0.7, f"{ratio_cpu:.2f}x")]
    # What resign mode costs: the same load with the defaults, passthrough and resign.
    log("\nResign mode (CPU against passthrough, both with the defaults and the access log):")
    for s in scenarios:
        row = summary["scenarios"][s[0]]
        if s[6] is not None or "ssec-proxy+resign" not in row:
            continue
        small = s[2].endswith("1k")
        key = "cpu_us_per_req" if small else "cpu_s_per_gib"
        # The median of each repetition's ratio (the two ran back to back), and the
        # ratio of the two medians beside it.
        def cpu(r):
            return per_request_us(r) if small else r["cpu"] / max(1, r["bytes"] if s[1] == "GET" else r["requests"] * s[3])
        ratio = med([cpu(a) / cpu(b) for a, b in zip(results[(s[0], "ssec-proxy+resign")], results[(s[0], "ssec-proxy+log")])])
        of_medians = row["ssec-proxy+resign"][key] / row["ssec-proxy+log"][key]
        row["ssec-proxy+resign"]["cpu_vs_passthrough"] = ratio
        row["ssec-proxy+resign"]["cpu_vs_passthrough_of_medians"] = of_medians
        limit = 1.10 if small else 1.05
        unit = "CPU/request" if small else "CPU/GiB"
        log(f"  {s[0]:<14} {unit} {ratio:.2f}x passthrough (paired runs; {of_medians:.2f}x as a ratio of medians); req/s {row['ssec-proxy+resign']['rps'] / row['ssec-proxy+log']['rps']:.2f}x")
        checks.append((f"{s[0]}: resign {unit} <= {limit}x passthrough", ratio <= limit, f"{ratio:.2f}x"))
    # What the access line costs: the same load with it on and off, per request.
    # Each repetition runs both within minutes of each other: the median of the
    # repetitions' differences, not the difference of the medians.
    log("\nAccess line cost (CPU per request, logs on minus off, median of the repetitions' differences):")
    for s in scenarios:
        if not s[2].endswith("1k"):
            continue
        row = summary["scenarios"][s[0]]
        for ours, theirs in (("ssec-proxy", "ssec-proxy+log"), ("nginx", "nginx+log")):
            cost = med([per_request_us(on) - per_request_us(off)
                        for on, off in zip(results[(s[0], theirs)], results[(s[0], ours)])])
            row.setdefault("access_line_cpu_us", {})[ours] = cost
            log(f"  {s[0]:<14} {ours:<11} {cost:6.2f} µs")
        cost = row["access_line_cpu_us"]["ssec-proxy"]
        if s[6] is None:
            checks.append((f"{s[0]}: access line <= 2 µs CPU per request", cost <= 2.0, f"{cost:.2f} µs"))
    alone, alone_line = args.access_line
    log(f"  on its own (examples/access_line, request thread and writer thread): {alone_line.split('access line: ', 1)[1]}")
    summary["access_line_alone_cpu_us"] = alone
    checks.append(("access line on its own <= 2 µs CPU per line", alone <= 2.0, f"{alone:.2f} µs"))
    summary["rss_mib"] = {"ssec_idle": ssec_idle, "ssec_peak_under_load": ssec_load, "ssec_1000_idle_tls": ssec_conn,
                          "nginx_idle": nginx_idle, "nginx_1000_idle_tls": nginx_conn}
    log(f"\nRSS: ssec-proxy idle {ssec_idle:.1f} MiB, peak under load {ssec_load:.1f} MiB, with 1,000 idle TLS connections {ssec_conn:.1f} MiB;"
        f" nginx (master + workers) idle {nginx_idle:.1f} MiB, with 1,000 idle TLS connections {nginx_conn:.1f} MiB")
    checks += [("RSS idle <= 32 MiB", ssec_idle <= 32, f"{ssec_idle:.1f} MiB"),
               ("RSS with 1,000 idle TLS connections <= 100 MiB", ssec_conn <= 100, f"{ssec_conn:.1f} MiB")]
    log("\nTargets:")
    for what, ok, value in checks:
        log(f"  {'met   ' if ok else 'MISSED'} {what}: {value}")
    summary["targets"] = [{"target": w, "met": ok, "value": v} for w, ok, v in checks]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
