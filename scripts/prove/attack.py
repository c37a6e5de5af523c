#!/usr/bin/env python3
"""Hostile clients against the reference server (spec decision 12), on 127.0.0.1 only.

    attack.py SERVER_BINARY --store memory|sqlite:PATH [--short|--full] [--only NAME,...]

Each scenario starts a fresh server with its own "limits", runs one attack bounded in time
while a legitimate client (its own supplier key) sends a create every 50 ms, and reports the
server's RSS before, at peak and after, and the legitimate requests' success rate and p99.
With --short (the test command's form) small time-outs and caps are configured and every
claim of the proof is asserted; --full runs the issue's sizes and only reports. Exit status 1
if an assertion failed. Standard library only.
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ATTACK_KEY = "attack-key"
LEGIT_KEY = "legit-key"
MANUFACTURER_KEY = "manufacturer-key"
CREATE = b'{"user_id": "u1", "redirect_url": "https://acme.example/cb", "asset_type": "pv"}'


def config(limits):
    return {
        "max_body_bytes": 16 * 1024 * 1024,
        "limits": limits,
        "suppliers": [
            {"id": "attacker", "name": "Attack Energy", "api_key": ATTACK_KEY,
             "redirect_urls": ["https://acme.example/cb"]},
            {"id": "legit", "name": "Legit Energy", "api_key": LEGIT_KEY,
             "redirect_urls": ["https://acme.example/cb"]},
        ],
        "manufacturers": [
            {"id": "m1", "name": "Acme Heat", "api_key": MANUFACTURER_KEY,
             "redirect_urls": ["https://acme.example/cb"]},
        ],
    }


class Server:
    """A server process on free loopback ports, with an RSS sampler."""

    def __init__(self, binary, store, limits, workdir):
        path = os.path.join(workdir, "config.json")
        with open(path, "w") as f:
            json.dump(config(limits), f)
        self.log = open(os.path.join(workdir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
             "--config", path, "--store", store],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=dict(os.environ, RUST_LOG="warn"))
        line = self.proc.stdout.readline().strip()
        m = re.match(r"listening on http://([\d.]+):(\d+)", line)
        if not m:
            raise SystemExit(f"server did not start: {line!r}")
        self.addr = (m.group(1), int(m.group(2)))
        threading.Thread(target=self._drain, daemon=True).start()
        self.peak = 0
        self._sampling = True
        threading.Thread(target=self._sample, daemon=True).start()

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def rss_mb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _sample(self):
        while self._sampling and self.proc.poll() is None:
            self.peak = max(self.peak, self.rss_mb())
            time.sleep(0.05)

    def reset_peak(self):
        self.peak = self.rss_mb()

    def stop(self):
        self._sampling = False
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def http(addr, method, path, headers=(), body=b"", timeout=5.0):
    """One request on a new connection: (status, headers, body) or raises OSError."""
    with socket.create_connection(addr, timeout=timeout) as s:
        head = f"{method} {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n"
        head += f"content-length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        s.sendall(head.encode() + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return parse(data)


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"no response: {data[:80]!r}")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers, body


def create(addr, key, timeout=5.0):
    return http(addr, "POST", "/v2/supplier/link-sessions",
                [("x-api-key", key), ("content-type", "application/json")], CREATE, timeout)


class Legit:
    """A legitimate caller alongside the attack: a create every 50 ms on its own key."""

    def __init__(self, addr):
        self.addr, self.lat, self.fail = addr, [], 0
        self._run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self._run:
            t0 = time.perf_counter()
            try:
                status, _, _ = create(self.addr, LEGIT_KEY, timeout=5.0)
                ok = status == 201
            except OSError:
                ok = False
            dt = time.perf_counter() - t0
            if ok:
                self.lat.append(dt)
            else:
                self.fail += 1
            time.sleep(max(0.0, 0.05 - dt))

    def stop(self):
        self._run = False
        self.thread.join()
        total = len(self.lat) + self.fail
        rate = len(self.lat) / total if total else 0.0
        return total, rate, pct(self.lat, 0.5), pct(self.lat, 0.99)


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def open_socket(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(True)
    s.settimeout(5)
    s.connect(addr)
    return s


def wait_closed(socks, deadline, trickle=None):
    """Waits until every socket is closed by the server (EOF or reset) or `deadline`;
    sends `trickle` bytes on each open socket every second meanwhile. Returns
    {socket: seconds from start to close} and the start time."""
    import selectors
    start = time.monotonic()
    closed = {}
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    next_trickle = start + 1.0
    while len(closed) < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed[s] = time.monotonic() - start
                sel.unregister(s)
        if trickle and time.monotonic() >= next_trickle:
            next_trickle += 1.0
            for s in socks:
                if s not in closed:
                    try:
                        s.send(trickle)
                    except OSError:
                        pass
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    return closed


class Result:
    def __init__(self, name, store):
        self.name, self.store, self.notes, self.failures = name, store, [], []

    def check(self, ok, what):
        if not ok:
            self.failures.append(what)

    def line(self, server, before, after, legit):
        total, rate, p50, p99 = legit
        return (f"{self.name:<22} {self.store:<7} RSS MB before {before:6.1f} peak "
                f"{server.peak:6.1f} after {after:6.1f} | legit {total:4d} req, "
                f"{rate * 100:6.2f}% ok, p50 {p50:6.1f} ms, p99 {p99:6.1f} ms | "
                + "; ".join(self.notes))


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


SCENARIOS = []


def limits_for(args, **overrides):
    if args.full:
        base = {}
    else:
        base = {"header_timeout_seconds": 2, "request_timeout_seconds": 4,
                "idle_timeout_seconds": 3, "shutdown_grace_seconds": 2}
    base.update(overrides)
    return base


@scenario
def slowloris_headers(args, server, res):
    n = 2000 if args.full else 300
    header = 10 if args.full else 2
    socks = [open_socket(server.addr) for _ in range(n)]
    for s in socks:
        s.sendall(b"POST /v2/supplier/link-sessions HTTP/1.1\r\nhost: t\r\n")
    closed = wait_closed(socks, time.monotonic() + header + 8, trickle=b"x")
    worst = max(closed.values(), default=float("inf"))
    res.notes.append(f"{n} slow heads, {len(closed)} closed, last after {worst:.1f} s")
    res.check(len(closed) == n and worst <= header + 1.5,
              f"slow heads closed within {header} s (+1.5): {len(closed)}/{n}, {worst:.1f} s")


@scenario
def slowloris_bodies(args, server, res):
    n = 1000 if args.full else 300
    request = 30 if args.full else 4
    socks = [open_socket(server.addr) for _ in range(n)]
    head = (f"POST /v2/supplier/link-sessions HTTP/1.1\r\nhost: t\r\nx-api-key: {ATTACK_KEY}\r\n"
            "content-type: application/json\r\ncontent-length: 100000\r\n\r\n{").encode()
    for s in socks:
        s.sendall(head)
    closed = wait_closed(socks, time.monotonic() + request + 8, trickle=b" ")
    worst = max(closed.values(), default=float("inf"))
    res.notes.append(f"{n} slow bodies, {len(closed)} closed, last after {worst:.1f} s")
    res.check(len(closed) == n and worst <= request + 1.5,
              f"slow bodies closed within {request} s (+1.5): {len(closed)}/{n}, {worst:.1f} s")


@scenario
def idle_flood(args, server, res):
    n = 5000 if args.full else 1000
    idle = 60 if args.full else 3
    socks = [open_socket(server.addr) for _ in range(n)]
    closed = wait_closed(socks, time.monotonic() + idle + 8)
    worst = max(closed.values(), default=float("inf"))
    res.notes.append(f"{n} idle connections, {len(closed)} closed, last after {worst:.1f} s")
    res.check(len(closed) == n and worst <= idle + 1.5,
              f"idle connections closed within {idle} s (+1.5): {len(closed)}/{n}, {worst:.1f} s")


@scenario
def keyless_upload_flood(args, server, res):
    n, size, threads = (2000, 64 * 1024, 50) if args.full else (1000, 64 * 1024, 25)
    big = 40 if args.full else 20
    body = b"x" * size
    statuses = {}
    lock = threading.Lock()

    def one(length, payload):
        try:
            s = open_socket(server.addr)
            s.sendall(f"POST /v2/supplier/link-sessions HTTP/1.1\r\nhost: t\r\n"
                      f"content-type: application/json\r\ncontent-length: {length}\r\n"
                      "expect: 100-continue\r\n\r\n".encode())
            try:
                s.sendall(payload)
            except OSError:
                pass
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.close()
            status = parse(data)[0] if data else 0
        except OSError:
            status = 0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    jobs = [(size, body)] * n + [(16 * 1024 * 1024, body)] * big
    it = iter(jobs)
    it_lock = threading.Lock()

    def worker():
        while True:
            with it_lock:
                job = next(it, None)
            if job is None:
                return
            one(*job)

    ws = [threading.Thread(target=worker) for _ in range(threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    grown = server.peak - res.before
    res.notes.append(f"{n} keyless 64 KiB + {big} 16 MiB uploads: statuses {statuses}, "
                     f"peak growth {grown:.1f} MB")
    res.check(statuses.get(401, 0) + statuses.get(0, 0) >= n and statuses.get(100, 0) == 0,
              f"keyless uploads refused 401 from the head: {statuses}")
    res.check(grown < 20, f"keyless upload flood raised RSS by {grown:.1f} MB (limit 20)")


def flood(addr, key, seconds, conns, path="/v2/supplier/link-sessions", body=CREATE):
    """Keep-alive creates from `conns` threads for `seconds`: status counts, the latencies of
    201s, and the number of 201s before the first 429 (summed over connections)."""
    counts, lat, lat_429, lock = {}, [], [], threading.Lock()
    stop_at = time.monotonic() + seconds
    req = (f"POST {path} HTTP/1.1\r\nhost: t\r\nx-api-key: {key}\r\n"
           f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body
    first_429 = []

    def run():
        mine, my_lat, my_429, seen_429 = {}, [], [], False
        s = None
        buf = b""
        while time.monotonic() < stop_at:
            try:
                if s is None:
                    s = open_socket(addr)
                    buf = b""
                t0 = time.perf_counter()
                s.sendall(req)
                while True:
                    end = buf.find(b"\r\n\r\n")
                    if end >= 0:
                        m = re.search(rb"content-length: *(\d+)", buf[:end], re.I)
                        length = int(m.group(1)) if m else 0
                        if len(buf) >= end + 4 + length:
                            break
                    chunk = s.recv(65536)
                    if not chunk:
                        raise OSError("closed")
                    buf += chunk
                status = int(buf[9:12])
                keep = b"connection: close" not in buf[:end].lower()
                buf = buf[end + 4 + length:]
                dt = time.perf_counter() - t0
                mine[status] = mine.get(status, 0) + 1
                if status == 201:
                    my_lat.append(dt)
                elif status == 429:
                    my_429.append(dt)
                if status == 429 and not seen_429:
                    seen_429 = True
                    with lock:
                        first_429.append(time.monotonic())
                if not keep:
                    s.close()
                    s = None
            except OSError:
                mine[0] = mine.get(0, 0) + 1
                if s is not None:
                    s.close()
                s = None
        if s is not None:
            s.close()
        with lock:
            for k, v in mine.items():
                counts[k] = counts.get(k, 0) + v
            lat.extend(my_lat)
            lat_429.extend(my_429)

    ts = [threading.Thread(target=run) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    flood.lat_429 = lat_429
    return counts, lat, (min(first_429) if first_429 else None)


@scenario
def create_flood(args, server, res):
    # The rate limit is off (it would hide the table's growth); the caps are on.
    seconds = 60 if args.full else 8
    cap = 100_000 if args.full else 5000
    rss_at_cap = []

    def watch_cap():
        # RSS once the cap is reached (the first 429), to compare with the end.
        while not res.cap_seen and time.monotonic() < res.flood_end:
            time.sleep(0.05)
        if res.cap_seen:
            time.sleep(0.5)
            rss_at_cap.append(server.rss_mb())

    res.cap_seen, res.flood_end = False, time.monotonic() + seconds + 1
    counts, lat, first_429 = None, None, None
    watcher = threading.Thread(target=watch_cap, daemon=True)

    def flood_and_mark():
        nonlocal counts, lat, first_429
        counts, lat, first_429 = flood(server.addr, ATTACK_KEY, seconds, 8)

    marker = threading.Thread(target=flood_and_mark)
    marker.start()
    watcher.start()
    # Mark the cap as seen from outside: a probe on the same key (its 201s count too).
    probe_created = 0
    while marker.is_alive():
        try:
            status, _, _ = create(server.addr, ATTACK_KEY, timeout=5)
            if status == 201:
                probe_created += 1
            if status == 429:
                res.cap_seen = True
        except OSError:
            pass
        time.sleep(0.2)
    marker.join()
    watcher.join(timeout=2)
    rss_end = server.rss_mb()
    created = counts.get(201, 0) + probe_created
    p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
    l429 = flood.lat_429
    res.notes.append(f"{seconds} s flood on one key: {counts}, 201 p50 {p50:.2f} ms p99 "
                     f"{p99:.2f} ms worst {max(lat, default=0) * 1000:.1f} ms; 429 p50 "
                     f"{pct(l429, 0.5):.2f} ms p99 {pct(l429, 0.99):.2f} ms")
    if rss_at_cap:
        res.notes.append(f"RSS at the cap {rss_at_cap[0]:.1f} MB, at the end {rss_end:.1f} MB")
    res.check(created == cap,
              f"create flood stopped at the cap {cap}: {created} created")
    res.check(counts.get(429, 0) > 0, "create flood met 429")
    if rss_at_cap:
        res.check(rss_end - rss_at_cap[0] < 5,
                  f"memory flat after the cap: {rss_at_cap[0]:.1f} -> {rss_end:.1f} MB")
    else:
        res.check(False, "the cap was never reached")
    # The latency criterion needs the full run's 100,000 samples over 60 s: the short flood's
    # 5,000 creates fit in its first second, where start-up noise decides the p99.
    if args.full:
        res.check(p99 <= 10 * p50, f"no latency cliff: p99 {p99:.2f} ms vs p50 {p50:.2f} ms")


@scenario
def rate_limited_flood(args, server, res):
    seconds = 10 if args.full else 3
    counts, _, _ = flood(server.addr, ATTACK_KEY, seconds, 4)
    # Just after the flood the bucket may hold a token again: take a few.
    for _ in range(20):
        status, headers, body = create(server.addr, ATTACK_KEY)
        if status == 429:
            break
    ok = counts.get(201, 0)
    allowed = 200 + 100 * seconds
    res.notes.append(f"{seconds} s flood at 100/s burst 200: {counts}; then {status} "
                     f"retry-after {headers.get('retry-after')} {body.decode()}")
    res.check(status == 429 and json.loads(body) == {"error": "Rate limit exceeded"}
              and headers.get("retry-after", "").isdigit(), "429 Rate limit exceeded with Retry-After")
    res.check(ok <= allowed * 1.1, f"rate limit held: {ok} created, at most ~{allowed}")


@scenario
def device_id_growth(args, server, res):
    connects = 758 if args.full else 30
    cap = 1000
    refused = stored_max = 0
    for i in range(connects):
        ids = [f"d{i}-{j}" for j in range(100)]
        body = json.dumps({"manufacturer_user_id": "victim", "device_ids": ids}).encode()
        status, _, reply = http(server.addr, "POST", "/manufacturers/nox",
                                [("x-api-key", MANUFACTURER_KEY), ("content-type", "application/json")], body)
        if status == 400:
            refused += 1
            res.check(b"device_ids" in reply, f"the refusal names device_ids: {reply[:200]!r}")
        elif status == 201:
            stored_max = max(stored_max, len(json.loads(reply)["data"]["device_ids"]))
    body = json.dumps({"manufacturer_user_id": "victim"}).encode()
    status, _, reply = http(server.addr, "POST", "/manufacturers/nox",
                            [("x-api-key", MANUFACTURER_KEY), ("content-type", "application/json")], body)
    final = len(json.loads(reply)["data"]["device_ids"]) if status == 201 else -1
    res.notes.append(f"{connects} connects of 100 new ids: {refused} refused, "
                     f"{final} ids stored, answer {len(reply)} bytes")
    res.check(final == cap and stored_max <= cap and refused == connects - cap // 100,
              f"device-id cap {cap} held: {final} stored, {refused} refused")


@scenario
def sigterm_stuck(args, server, res):
    grace = 10 if args.full else 2
    stuck = open_socket(server.addr)
    stuck.sendall((f"POST /v2/supplier/link-sessions HTTP/1.1\r\nhost: t\r\nx-api-key: {ATTACK_KEY}\r\n"
                   "content-type: application/json\r\ncontent-length: 1000\r\n\r\n{").encode())
    # A legitimate request in flight when the signal comes: answered, with Connection: close.
    inflight = open_socket(server.addr)
    inflight.sendall((f"POST /v2/supplier/link-sessions HTTP/1.1\r\nhost: t\r\nx-api-key: {LEGIT_KEY}\r\n"
                      f"content-type: application/json\r\ncontent-length: {len(CREATE)}\r\n\r\n").encode()
                     + CREATE[:10])
    idle = [open_socket(server.addr) for _ in range(50)]
    time.sleep(0.3)
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    inflight.sendall(CREATE[10:])
    data = b""
    try:
        while True:
            chunk = inflight.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    try:
        server.proc.wait(timeout=grace + 5)
    except subprocess.TimeoutExpired:
        pass
    took = time.monotonic() - t0
    code = server.proc.poll()
    status, headers, _ = parse(data) if data else (0, {}, b"")
    res.notes.append(f"SIGTERM with a stuck request and 50 idle connections: exit {code} after "
                     f"{took:.1f} s (grace {grace} s); request in flight answered {status} "
                     f"connection: {headers.get('connection')}")
    res.check(code is not None and took <= grace + 2, f"exited within grace + 2 s: {took:.1f} s")
    res.check(status == 201 and headers.get("connection") == "close",
              f"in-flight request answered with Connection: close: {status} {headers}")
    for s in [stuck, inflight] + idle:
        s.close()


SCENARIO_LIMITS = {
    "slowloris_bodies": {"requests_per_second_per_key": 0},
    "device_id_growth": {"requests_per_second_per_key": 0},
    "create_flood": {"requests_per_second_per_key": 0},
    "rate_limited_flood": {},
    "sigterm_stuck": {"request_timeout_seconds": 30, "header_timeout_seconds": 10},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--store", default="memory")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    store_name = "memory" if args.store == "memory" else args.store.split(":")[0]
    failures = []
    for fn in SCENARIOS:
        if only and fn.__name__ not in only:
            continue
        extra = dict(SCENARIO_LIMITS.get(fn.__name__, {}))
        if fn.__name__ == "create_flood":
            extra["pending_sessions_per_caller"] = 100_000 if args.full else 5000
        if fn.__name__ == "sigterm_stuck" and not args.full:
            extra["shutdown_grace_seconds"] = 2
        with tempfile.TemporaryDirectory(prefix="nox-attack-") as workdir:
            store = args.store
            if store.startswith("sqlite"):
                store = f"sqlite:{os.path.join(workdir, 'nox.db')}"
            server = Server(args.binary, store, limits_for(args, **extra), workdir)
            res = Result(fn.__name__, store_name)
            try:
                time.sleep(0.3)
                before = res.before = server.rss_mb()
                server.reset_peak()
                legit = Legit(server.addr)
                fn(args, server, res)
                time.sleep(1.0)
                figures = legit.stop()
                after = server.rss_mb()
                if fn.__name__ != "sigterm_stuck":
                    res.check(figures[1] >= 0.99,
                              f"legitimate requests succeeded {figures[1] * 100:.2f}% (>= 99%)")
                print(res.line(server, before, after, figures), flush=True)
            finally:
                server.stop()
            for f in res.failures:
                print(f"  FAIL {fn.__name__} ({store_name}): {f}", flush=True)
            failures += res.failures
    if failures and not args.full:
        sys.exit(1)


if __name__ == "__main__":
    main()
