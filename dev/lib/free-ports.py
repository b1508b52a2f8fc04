#!/usr/bin/env python3
"""free-ports.py N [EXCLUDED...]: print N distinct free TCP ports on 127.0.0.1.

Ports come from below the kernel's ephemeral range when there is room, so an
outgoing connection cannot take one between this choice and the daemon's bind.
Every probe socket stays bound until all N are chosen, so one call never hands
out a port twice; EXCLUDED lists ports handed out to other stores.
"""
import random
import socket
import sys


def main() -> None:
    n = int(sys.argv[1])
    excluded = {int(p) for p in sys.argv[2:] if p}
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo = int(f.read().split()[0])
    except OSError:
        eph_lo = 32768
    lo, hi = 15000, eph_lo - 1  # 15000+: clear of well-known ports and ceph's 6800-7300
    held, ports = [], []
    for _ in range(50 * n + 200):
        if len(ports) == n:
            break
        port = random.randint(lo, hi) if hi - lo > 1000 else 0
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))  # no SO_REUSEADDR: fails if anything holds it
        except OSError:
            s.close()
            continue
        held.append(s)
        port = s.getsockname()[1]
        if port not in excluded and port not in ports:
            ports.append(port)
    if len(ports) < n:
        sys.exit(f"free-ports.py: found only {len(ports)} of {n} free ports")
    print("\n".join(map(str, ports)))


if __name__ == "__main__":
    main()
