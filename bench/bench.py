#!/usr/bin/env python3
"""sandboxd benchmarks: runs every figure, prints it next to its target, writes results.json.

Started by bench/run (which builds the programs first). Figures never fail the run: only a
harness error (a program missing, a server that does not start, a figure key not produced)
makes the exit status non-zero. Targets are printed for reading, never asserted.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (target text, unit note). Printed next to each figure; never asserted.
TARGETS = {
    "status_rps": ">= 10000",
    "auth_check_rps": ">= 10000",
    "k8s_calls_per_status": "= 0",
    "list_ms_10k": "<= 50",
    "k8s_calls_per_create": "= one write per object",
    "k8s_calls_per_stop": "= 1",
    "k8s_calls_per_start": "= 1",
    "k8s_calls_per_env": "= 1",
    "k8s_calls_per_status_single": "= 0",
    "rss_mb_10k": "<= 64",
    "rss_mb_10k_real": "<= 64",
    "startup_ms_10k": "<= 2000",
    "startup_ms_10k_real": "<= 2000",
    "list_ms_10k_real": "<= 50",
    "overhead_p50_ms": "<= 1",
    "overhead_p99_ms": "<= 5",
    "overhead_lifecycle_p50_ms": "<= 1",
    "overhead_lifecycle_p99_ms": "<= 5",
    "render_us": "",
    "create_ratio": ">= 0.8",
    "rss_mb_100k": "<= 256",
    "startup_ms_100k": "<= 5000",
    "list_page_ms_100k": "<= 5",
    "list_page_ms_100k_p99": "<= 20",
    "status_rps_100k": ">= 0.9 x status_rps",
    "stopstart_ratio": ">= 0.8",
    "sse_streams_held": ">= 1000",
    "sse_fanout_p99_ms": "<= 50",
}

# Keys every run must produce (a value, or null only where noted).
REQUIRED = [
    "render_us", "status_rps", "status_p50_ms", "status_p99_ms", "k8s_calls_per_status",
    "k8s_calls_per_create", "k8s_writes_per_create", "objects_per_create",
    "k8s_calls_per_stop", "k8s_calls_per_start", "k8s_calls_per_env",
    "k8s_calls_per_status_single", "overhead_p50_ms", "overhead_p99_ms",
    "overhead_paced_p50_ms", "overhead_paced_p99_ms", "overhead_lifecycle_p50_ms",
    "overhead_lifecycle_p99_ms", "overhead_lifecycle_paced_p50_ms",
    "overhead_lifecycle_paced_p99_ms", "populate_api_creates_per_s",
    "list_ms_10k", "rss_mb_10k", "startup_ms_10k", "create_ratio", "stopstart_ratio",
    "status_rps_after_restart", "overhead_p50_ms_after_restart", "overhead_p99_ms_after_restart",
    "auth_check_rps",
    "rss_mb_100k", "startup_ms_100k", "list_page_ms_100k", "list_page_ms_100k_p99",
    "status_rps_100k", "create_ops_s_100k",
    "sse_streams_held", "sse_rss_mb_1k", "sse_fanout_p99_ms", "status_rps_sse",
]
# Only measured in full mode against the real control plane; null in smoke mode.
REAL_ONLY = ["create_ratio", "stopstart_ratio", "create_api_ops_per_s",
             "create_direct_ops_per_s", "stopstart_api_pairs_per_s",
             "stopstart_direct_pairs_per_s"]

results = {}
notes = []


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def figure(name, value, extra=""):
    results[name] = value
    target = TARGETS.get(name, "")
    shown = "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else value)
    line = f"  {name:<32} {shown!s:>14}"
    if target:
        line += f"   target {target}"
    if extra:
        line += f"   ({extra})"
    print(line, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def child_env():
    # The benchmark's servers use only what we pass them.
    return {k: v for k, v in os.environ.items() if not k.startswith("SANDBOXD_")}


class Server:
    """`sandboxd serve` as a child process with its own config, database and port."""

    def __init__(self, args, workdir, config_path, db, kube="memory"):
        self.args, self.workdir, self.config, self.db, self.kube = args, workdir, config_path, db, kube
        self.proc = None
        self.port = None
        self.conn = None
        self.logf = None
        self.last_kube_ms = None
        self.last_total_ms = None

    def start(self, timeout=300):
        last = None
        for _ in range(3):  # a port picked as free may be taken meanwhile: retry
            self.port = free_port()
            self.logf = open(os.path.join(self.workdir, f"serve-{self.port}.log"), "wb")
            t0 = time.monotonic()
            self.proc = subprocess.Popen(
                [self.args.sandboxd, "serve", "--config", self.config, "--db", self.db,
                 "--kube", self.kube, "--listen", f"127.0.0.1:{self.port}"],
                cwd=self.workdir, env=child_env(), stdout=self.logf, stderr=subprocess.STDOUT)
            ms = self.wait_ready(t0, timeout)
            if ms is not None:
                return ms
            exited = self.proc.poll()
            last = f"serve did not become ready in {timeout}s (exit {exited}); see {self.logf.name}"
            self.stop()
            if exited is None:
                break  # it ran but was slow: no retry
        raise RuntimeError(last)

    def wait_ready(self, t0, timeout):
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                return None
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return (time.monotonic() - t0) * 1000.0
            except OSError:
                pass
            time.sleep(0.005)
        return None

    def stop(self):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()
        self.proc = None

    def request(self, method, path, token=None, body=None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                payload = r.read()
                self.last_kube_ms = server_timing_kube_ms(r.getheader("Server-Timing", ""))
                self.last_total_ms = server_timing_ms(r.getheader("Server-Timing", ""), "total")
                return r.status, payload
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt:
                    raise

    def metrics(self):
        status, body = self.request("GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return parse_metrics(body.decode())

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return None

    def rss_window_mb(self, seconds, every=0.5):
        """(median, max) of VmRSS sampled over `seconds`: the median is the resident memory
        between reconcile passes (a pass at 10,000 sandboxes holds ~100 MB more for a second
        or two, every ~12 s in memory mode), the max what a pass in the window added."""
        samples = []
        end = time.monotonic() + seconds
        while True:
            samples.append(self.rss_mb())
            if time.monotonic() >= end:
                break
            time.sleep(every)
        return statistics.median(samples), max(samples)


def server_timing_ms(value, name):
    """The NAME;dur=MS entry of a Server-Timing header, or None: "kube" is sandboxd's time in
    Kubernetes calls for that request, "total" its time from the request's arrival to the
    answer."""
    for part in (value or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields and fields[0] == name:
            for f in fields[1:]:
                if f.startswith("dur="):
                    return float(f[4:])
    return None


def server_timing_kube_ms(value):
    return server_timing_ms(value, "kube")


def parse_metrics(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        try:
            head, value = line.rsplit(" ", 1)
            value = float(value)
        except ValueError:
            continue
        if "{" in head:
            name, rest = head.split("{", 1)
            labels = []
            for part in rest.rstrip("}").split('",'):
                if "=" in part:
                    k, v = part.split("=", 1)
                    labels.append((k.strip(), v.strip().strip('"')))
            out[(name, frozenset(labels))] = value
        else:
            out[(head, frozenset())] = value
    return out


def k8s_calls(m, writes_only=False):
    total = 0.0
    for (name, labels), v in m.items():
        if name != "sandboxd_kubernetes_calls_total":
            continue
        verb = dict(labels).get("verb", "")
        if writes_only and verb not in ("create", "update", "patch", "delete", "replace", "apply"):
            continue
        total += v
    return total


def k8s_by_call(before, after):
    diff = {}
    for key, v in after.items():
        if key[0] != "sandboxd_kubernetes_calls_total":
            continue
        d = v - before.get(key, 0.0)
        if d:
            l = dict(key[1])
            diff[f"{l.get('verb')} {l.get('resource')}"] = diff.get(
                f"{l.get('verb')} {l.get('resource')}", 0) + d
    return diff


def http_requests(m, route, method):
    return sum(v for (name, labels), v in m.items()
               if name == "sandboxd_http_requests_total"
               and dict(labels).get("route") == route and dict(labels).get("method") == method)


def token(args, config, db, user, admin=False):
    cmd = [args.sandboxd, "token", "create", "--user", user, "--config", config, "--db", db]
    if admin:
        cmd.append("--admin")
    out = subprocess.run(cmd, env=child_env(), check=True, capture_output=True, text=True,
                         timeout=120)
    return out.stdout.strip()


def http_load(args, port, *extra):
    cmd = [args.http_load, "--port", str(port)] + [str(x) for x in extra]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=1800)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        raise RuntimeError(f"http_load failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def sign_in(port, token):
    """POST /auth/signin (forward auth) with `token`; the session cookie ("name=value")."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/auth/signin", body=f"token={token}",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        cookie = r.getheader("Set-Cookie", "")
        if r.status != 200 or not cookie:
            raise RuntimeError(f"sign-in answered {r.status}")
        return cookie.split(";", 1)[0]
    finally:
        conn.close()


def write_config(path, namespace=None, extra_server=None):
    lines = ["server:", "  logLevel: warn", "  memoryReadyDelayMs: 100"]
    for k, v in (extra_server or {}).items():
        lines.append(f"  {k}: {v}")
    if namespace:
        lines += ["sandbox:", f"  namespace: {namespace}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def sub(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) - v
    return {k: v for k, v in out.items() if v}


def op_delta(server, fn):
    """Kubernetes calls made by fn(), from /metrics deltas, minus the calls one /metrics scrape
    makes itself (measured as the delta between two back-to-back scrapes)."""
    m0 = server.metrics()
    m1 = server.metrics()
    scrape, scrape_by = k8s_calls(m1) - k8s_calls(m0), k8s_by_call(m0, m1)
    scrape_w = k8s_calls(m1, True) - k8s_calls(m0, True)
    fn()
    m2 = server.metrics()
    return (k8s_calls(m2) - k8s_calls(m1) - scrape, sub(k8s_by_call(m1, m2), scrape_by),
            k8s_calls(m2, True) - k8s_calls(m1, True) - scrape_w)


def expect(status, body, codes, what):
    if status not in codes:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:300]!r}")


# ---------------------------------------------------------------------------------------------
def google_benchmarks_us(args, program):
    """{benchmark name: real time in microseconds} of one Google Benchmark program."""
    min_time = "0.01" if args.smoke else "1"
    out = subprocess.run([program, f"--benchmark_min_time={min_time}",
                          "--benchmark_format=json"], capture_output=True, text=True, check=True,
                         timeout=600)
    times = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
        times[b["name"]] = b["real_time"] * scale
        for counter in ("p99_us", "p999_us"):  # counters of the benchmark's own
            if counter in b:
                times[b["name"] + "/" + counter] = b[counter]
    return times


def bench_render(args):
    print("render", flush=True)
    if not args.render_bench:
        figure("render_us", None, "render_bench not built (Google Benchmark missing)")
        return
    us = google_benchmarks_us(args, args.render_bench)
    figure("render_us", round(us["BM_RenderSandbox"], 2), "StatefulSet+Service+2 Ingress+Secret")
    figure("render_yaml_us", round(us["BM_RenderSandboxToYaml"], 2), "render + YAML text")
    if args.watch_event_bench:
        us = google_benchmarks_us(args, args.watch_event_bench)
        figure("watch_event_us", round(us["BM_WatchEventKept"], 2),
               "one 4.5 KB pod watch event parsed keeping the cached fields, then packed")
        figure("watch_event_whole_us", round(us["BM_WatchEventWhole"], 2),
               "the same event parsed whole (nlohmann), then packed")
    if args.registry_bench:
        us = google_benchmarks_us(args, args.registry_bench)
        figure("registry_intent_us", round(us["BM_IntentFinishLater"], 2),
               "a stop's registry work on its path: read the row, the intent and its operation "
               "in one commit, the finish left for later (file database, WAL)")
        figure("registry_intent_finish_us", round(us["BM_IntentFinishNow"], 2),
               "the same with the finish stored at once, in a commit of its own")
        for name, bm in (("registry_intent", "BM_IntentFinishLater"),
                         ("registry_intent_finish", "BM_IntentFinishNow")):
            figure(f"{name}_p99_us", round(us[f"{bm}/p99_us"], 2), f"p99 of {name}_us's requests")
            figure(f"{name}_p999_us", round(us[f"{bm}/p999_us"], 2),
                   f"p99.9 (a checkpoint of the write-ahead log, in the commit or not)")


def bench_memory(args, work):
    n_status = args.status_sandboxes
    n_list = args.list_sandboxes
    config = os.path.join(work, "memory.yaml")
    write_config(config)
    db = os.path.join(work, "memory.db")
    srv = Server(args, work, config, db)
    srv.start()
    try:
        admin = token(args, config, db, "bench-admin", admin=True)
        user_tok = token(args, config, db, "bench")

        # ---- single operations: Kubernetes calls per operation
        print("kubernetes calls per operation (--kube memory)", flush=True)
        create_body = {"name": "probe-a", "env": {"EDITOR": "vim"}, "secretEnv": {"API_KEY": "x"}}
        box = {}

        def do_create():
            box["create"] = srv.request("POST", "/api/v1/sandboxes", user_tok, create_body)
        calls, by, writes = op_delta(srv, do_create)
        expect(*box["create"], (201,), "create probe-a")
        objects = 5  # Secret, Service, StatefulSet, 2 Ingresses (default config, secret env)
        figure("k8s_calls_per_create", calls, ", ".join(f"{k}={v:g}" for k, v in sorted(by.items())))
        figure("k8s_writes_per_create", writes, f"objects={objects}")
        figure("objects_per_create", objects)
        for op, method, path, body, codes in [
            ("status_single", "GET", "/api/v1/sandboxes/probe-a", None, (200,)),
            ("stop", "POST", "/api/v1/sandboxes/probe-a/stop", None, (202,)),
            ("start", "POST", "/api/v1/sandboxes/probe-a/start", None, (202,)),
            ("env", "PATCH", "/api/v1/sandboxes/probe-a/env", {"set": {"LANG": "C.UTF-8"}}, (200,)),
        ]:
            def do(method=method, path=path, body=body):
                box["r"] = srv.request(method, path, user_tok, body)
            calls, by, _ = op_delta(srv, do)
            expect(*box["r"], codes, f"{method} {path}")
            figure(f"k8s_calls_per_{op}", calls, ", ".join(f"{k}={v:g}" for k, v in sorted(by.items())))

        # ---- populate: every sandbox through the API (timed)
        print(f"populate (--kube memory): {n_status} sandboxes for status reads", flush=True)
        n_api = n_status
        secs = create_via_api(args, srv, user_tok, n_api, "sb-")
        figure("populate_api_creates_per_s", round(n_api / secs, 2),
               f"{n_api} creates, 8 concurrent, {secs:.1f}s")
        # Kubernetes calls per status read (every sandbox has its objects: the reconciler has
        # nothing to repair, so background calls do not pollute the delta).
        reads = 50 if args.smoke else 500
        m0, m1 = srv.metrics(), srv.metrics()
        scrape, scrape_by = k8s_calls(m1) - k8s_calls(m0), k8s_by_call(m0, m1)
        r = http_load(args, srv.port, "--connections", 4, "--count", reads, "--range", n_api,
                      "--path", "/api/v1/sandboxes/sb-{i}", "--header", f"Authorization: Bearer {user_tok}")
        m2 = srv.metrics()
        served = http_requests(m2, "/api/v1/sandboxes/{name}", "GET") - \
            http_requests(m1, "/api/v1/sandboxes/{name}", "GET")
        calls = k8s_calls(m2) - k8s_calls(m1) - scrape
        figure("k8s_calls_per_status", round(calls / served, 3) if served else None,
               f"{calls:g} calls / {served:g} reads of {n_api} sandboxes; " +
               ", ".join(f"{k}={v / served:.2f}" for k, v in
                         sorted(sub(k8s_by_call(m1, m2), scrape_by).items())) if served else "")
        # ---- status_rps: 64 keep-alive connections
        print(f"status reads: 64 connections, {n_status} sandboxes, {args.duration}s", flush=True)
        mA = srv.metrics()
        m0 = srv.metrics()
        scrape, scrape_by = k8s_calls(m0) - k8s_calls(mA), k8s_by_call(mA, m0)
        r = http_load(args, srv.port, "--connections", 64, "--duration", args.duration,
                      "--warmup", args.warmup, "--path", "/api/v1/sandboxes/sb-{i}",
                      "--range", n_status, "--header", f"Authorization: Bearer {user_tok}")
        m1 = srv.metrics()
        served = http_requests(m1, "/api/v1/sandboxes/{name}", "GET") - \
            http_requests(m0, "/api/v1/sandboxes/{name}", "GET")
        calls = k8s_calls(m1) - k8s_calls(m0) - scrape
        figure("status_rps", round(r["rps"], 1), f"codes={r['codes']} errors={r['errors']}")
        figure("status_p50_ms", r["p50_ms"])
        figure("status_p99_ms", r["p99_ms"])
        figure("k8s_calls_per_status_under_load", round(calls / served, 3) if served else None,
               f"{calls:g} calls / {served:g} reads, incl. the reconciler's background calls; " +
               ", ".join(f"{k}={v / served:.2f}" for k, v in sorted(sub(k8s_by_call(m0, m1), scrape_by).items()))
               if served else "")

        # ---- overhead: 32 concurrent clients doing status reads
        print("API overhead: 32 clients, status reads", flush=True)
        r = http_load(args, srv.port, "--connections", 32, "--duration", args.duration,
                      "--warmup", args.warmup, "--path", "/api/v1/sandboxes/sb-{i}",
                      "--range", n_status, "--header", f"Authorization: Bearer {user_tok}")
        figure("overhead_p50_ms", r["p50_ms"], f"closed loop, {r['rps']:.0f} req/s")
        figure("overhead_p99_ms", r["p99_ms"])
        # Paced at half the closed-loop throughput just measured: latency below saturation.
        rate = max(2.0, round(r["rps"] * 0.5, 1))
        r = http_load(args, srv.port, "--connections", 32, "--duration", args.duration,
                      "--warmup", args.warmup, "--rate", rate, "--path", "/api/v1/sandboxes/sb-{i}",
                      "--range", n_status, "--header", f"Authorization: Bearer {user_tok}")
        figure("overhead_paced_p50_ms", r["p50_ms"],
               f"paced at half the closed-loop rate, {rate} req/s total, achieved {r['rps']:.0f}; latency from scheduled send time")
        figure("overhead_paced_p99_ms", r["p99_ms"])

        # ---- auth_check_rps: forward auth as ingress-nginx asks it for each request to a
        # sandbox host (session cookie of the owner, X-Original-URL), 32 connections
        print("forward auth checks: 32 connections", flush=True)
        cookie = sign_in(srv.port, user_tok)
        r = http_load(args, srv.port, "--connections", 32, "--duration", args.duration,
                      "--warmup", args.warmup, "--path", "/auth/check",
                      "--header", f"Cookie: {cookie}",
                      "--header", "X-Original-URL: https://sb-0-app.sandbox.example.com/")
        if r["codes"].get("200", 0) == 0 or set(r["codes"]) != {"200"}:
            raise RuntimeError(f"auth check: {r}")
        figure("auth_check_rps", round(r["rps"], 1),
               f"codes={r['codes']} p50={r['p50_ms']}ms p99={r['p99_ms']}ms")

        # ---- 10k: list, rss
        print(f"list (--kube memory): {n_list} sandboxes", flush=True)
        if n_list > n_status:
            secs = create_via_api(args, srv, user_tok, n_list - n_status, "sl-")
            log(f"populate: {n_list - n_status} more through the API in {secs:.0f}s")
        total = count_sandboxes(db)
        # At rest, as in steady state: after the creates, serve is still busy for a while (the
        # simulated pods becoming ready, each a status to derive, in this same process).
        idle_s = wait_idle([srv.proc.pid], window_s=1 if args.smoke else 2, max_s=120)
        # The whole list, in pages of 5,000 (the largest a page may be).
        _, _, first_ms, _ = list_all(srv, admin)
        walks = [list_all(srv, admin) for _ in range(args.list_reps)]
        items, size = len(walks[-1][0]), walks[-1][3]
        figure("list_ms_10k", round(statistics.median(w[2] for w in walks), 2),
               f"median of {args.list_reps} whole lists in pages of 5,000 ({len(walks[-1][1])} "
               f"pages), {items} items, {size / 1e6:.1f} MB; first list "
               f"{first_ms:.0f} ms; serve at rest after {idle_s:.0f} s")
        results["list_items"] = items
        # serve --kube memory holds the simulated cluster in its own process, in a heap arena of
        # its own: serve's own memory is VmRSS less that arena (cluster_arena_mb). What the same
        # cluster takes alone in a process of its own is printed beside it, as a check.
        time.sleep(7)  # serve trims its heap 5 s after a large list (scheduleTrim)
        window_s = 1 if args.smoke else 15
        process_mb, process_peak_mb = srv.rss_window_mb(window_s)
        arena_mb, heap_note = cluster_arena_mb(srv)
        out = subprocess.run([args.memory_cluster_rss, "--config", config, "--count", str(total)],
                             check=True, capture_output=True, text=True, timeout=1800)
        fake = json.loads(out.stdout.strip().splitlines()[-1])
        fake_mb = fake["rss_mb_after"] - fake["rss_mb_before"]
        figure("rss_mb_10k_process", round(process_mb, 1),
               f"VmRSS of serve --kube memory after listing {total} sandboxes, simulated cluster "
               f"included; median of samples every 0.5 s for {window_s} s")
        figure("memory_cluster_mb_10k", round(arena_mb, 1),
               f"the simulated cluster's heap arena in serve, resident; the same cluster alone in "
               f"a process of its own: {fake_mb:.1f} MB (bench_memory_cluster_rss)")
        figure("rss_mb_10k", round(process_mb - arena_mb, 1),
               f"serve's own: process minus the simulated cluster's arena (watch cache, status "
               f"index, registry, server); {heap_note}")
        figure("rss_mb_10k_peak", round(process_peak_mb - arena_mb, 1),
               "the highest sample minus the simulated cluster's arena: a reconcile pass in the "
               "window (in memory mode its lists are copies the simulated cluster makes in this "
               "process)")
        # Lifecycle operations: what sandboxd adds to its Kubernetes calls, from each answer's
        # Server-Timing (latency minus kube;dur), stop and start of every sandbox in turn. Last:
        # every write grows the simulated cluster's watch history (in serve's memory).
        print("API overhead: 32 clients, stop/start, latency minus Kubernetes call time",
              flush=True)
        lifecycle = ["--connections", 32, "--duration", args.duration, "--warmup", args.warmup,
                     "--range", n_status, "--path", "POST /api/v1/sandboxes/sb-{i}/stop",
                     "--path", "POST /api/v1/sandboxes/sb-{i}/start",
                     "--header", f"Authorization: Bearer {user_tok}"]
        r = http_load(args, srv.port, *lifecycle)
        figure("overhead_lifecycle_p50_ms", r["overhead_p50_ms"],
               f"closed loop, {r['rps']:.0f} ops/s, {r['timed']} timed, codes={r['codes']}; "
               f"latency p50 {r['p50_ms']:.2f} ms, Kubernetes calls {r['kube_mean_ms']:.2f} ms mean")
        figure("overhead_lifecycle_p99_ms", r["overhead_p99_ms"])
        rate = max(2.0, round(r["rps"] * 0.5, 1))
        r = http_load(args, srv.port, *lifecycle, "--rate", rate)
        figure("overhead_lifecycle_paced_p50_ms", r["overhead_p50_ms"],
               f"paced at half the closed-loop rate ({rate} ops/s), latency from scheduled send "
               f"time minus Kubernetes call time ({r['kube_mean_ms']:.2f} ms mean)")
        figure("overhead_lifecycle_paced_p99_ms", r["overhead_p99_ms"])
    finally:
        srv.stop()

    # ---- startup on the 10k database
    print(f"startup (--kube memory): {n_list} sandboxes", flush=True)
    times = []
    for rep in range(args.startup_reps):
        srv = Server(args, work, config, db)
        try:
            times.append(srv.start())
            if rep == args.startup_reps - 1:
                # The restarted server's simulated cluster starts empty (its reconciler then
                # re-creates missing objects in the background): the same reads again.
                figure("startup_ms_10k", round(statistics.median(times), 1),
                       f"start -> first 200 on /readyz, median of {len(times)}: " +
                       ", ".join(f"{t:.0f}" for t in times))
                list_ms = list_all(srv, admin)[2]
                m = srv.metrics()
                sts = sum(v for (name, labels), v in m.items()
                          if name == "sandboxd_kubernetes_calls_total"
                          and dict(labels).get("verb") == "create"
                          and dict(labels).get("resource") == "statefulsets")
                figure("rss_mb_10k_after_restart", round(srv.rss_mb(), 1),
                       f"restarted, one list ({list_ms:.0f} ms); simulated cluster holds "
                       f"{sts:g} re-created StatefulSets")
                print("status reads again, on the restarted server", flush=True)
                r = http_load(args, srv.port, "--connections", 64, "--duration", args.duration,
                              "--warmup", args.warmup, "--path", "/api/v1/sandboxes/sb-{i}",
                              "--range", n_status, "--header", f"Authorization: Bearer {user_tok}")
                figure("status_rps_after_restart", round(r["rps"], 1),
                       f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, codes={r['codes']}")
                r = http_load(args, srv.port, "--connections", 32, "--duration", args.duration,
                              "--warmup", args.warmup, "--path", "/api/v1/sandboxes/sb-{i}",
                              "--range", n_status, "--header", f"Authorization: Bearer {user_tok}")
                figure("overhead_p50_ms_after_restart", r["p50_ms"], f"32 clients, {r['rps']:.0f} req/s")
                figure("overhead_p99_ms_after_restart", r["p99_ms"])
        finally:
            srv.stop()


def cluster_arena_mb(srv):
    """(MB the simulated cluster's heap arena holds resident in serve, a note on serve's own
    heap), from /metrics. The cluster's objects have a jemalloc arena of their own inside
    `serve --kube memory` (common/heap.h), so serve's own memory is its VmRSS less that arena.
    (Subtracting a separate process that builds the cluster alone measured the same build at
    292 and 951 MB at 100,000: built inside serve among serve's own allocations, the cluster's
    objects pinned serve's freed pages, more or less by load.)"""
    heap = srv.metrics()
    kind = lambda k: heap.get(("sandboxd_heap_bytes", frozenset({("kind", k)})))
    if kind("simulated_cluster_resident") is None:
        raise RuntimeError("serve reports no heap figures (built without jemalloc?)")
    mb = 1024 * 1024
    arena_mb = kind("simulated_cluster_resident") / mb
    own_alloc = (kind("allocated") - kind("simulated_cluster_allocated")) / mb
    note = (f"serve's own heap {own_alloc:.1f} MB allocated of "
            f"{kind('resident') / mb - arena_mb:.1f} MB resident")
    if kind("long_lived_resident") is not None:
        note += (f", of which its long-lived objects' arena {kind('long_lived_allocated') / mb:.1f}"
                 f" of {kind('long_lived_resident') / mb:.1f} MB")
    return arena_mb, note


def bench_scale(args, work):
    """One instance holding args.scale_sandboxes (100,000 in a full run), --kube memory: rss,
    start-up, a page of the list, status reads and creates at that size."""
    n = args.scale_sandboxes
    tag = "100k"
    config = os.path.join(work, "scale.yaml")
    write_config(config)
    db = os.path.join(work, "scale.db")
    srv = Server(args, work, config, db)
    srv.start()
    try:
        admin = token(args, config, db, "bench-admin", admin=True)
        user_tok = token(args, config, db, "bench")
        print(f"scale (--kube memory): {n} sandboxes through the API", flush=True)
        secs = create_via_api(args, srv, user_tok, n, "sx-")
        log(f"scale: {n} creates in {secs:.0f}s ({n / secs:.0f}/s)")
        idle_s = wait_idle([srv.proc.pid], window_s=1 if args.smoke else 2, max_s=600)
        # A page of 500 (the default), at rest: every page of one walk, twice.
        page_ms = []
        for _ in range(2):
            items, ms, _, _ = list_all(srv, admin, limit=500)
            page_ms.extend(ms)
        figure(f"list_page_ms_{tag}", round(percentile(page_ms, 0.5), 2),
               f"p50 of {len(page_ms)} pages of 500 (two walks of {len(items)} items); serve at "
               f"rest after {idle_s:.0f} s")
        figure(f"list_page_ms_{tag}_p99", round(percentile(page_ms, 0.99), 2))
        # A sandbox's first status read after its pod became Ready records that status (a row
        # in the status recorder's next commit, and an event for the streams); later reads
        # only read. status_rps reads 1,000 sandboxes for 10 s, ~140 reads each: all but the
        # first 1,000 are later reads. Here 10 s of reads would reach ~70,000 sandboxes once
        # each, all first reads: a different mix. So every sandbox is read once first (its own
        # figure), and status_rps_100k is then the same mix as status_rps, at 100,000.
        print(f"first status reads: each of {n} sandboxes once, 64 connections", flush=True)
        r = http_load(args, srv.port, "--connections", 64, "--count", n,
                      "--path", "/api/v1/sandboxes/sx-{i}", "--range", n,
                      "--header", f"Authorization: Bearer {user_tok}")
        figure(f"status_rps_{tag}_first_reads", round(r["rps"], 1),
               f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, codes={r['codes']}: each "
               "read records the status the sandbox reached")
        print(f"status reads: 64 connections, {n} sandboxes, {args.duration}s", flush=True)
        r = http_load(args, srv.port, "--connections", 64, "--duration", args.duration,
                      "--warmup", args.warmup, "--path", "/api/v1/sandboxes/sx-{i}",
                      "--range", n, "--header", f"Authorization: Bearer {user_tok}")
        figure(f"status_rps_{tag}", round(r["rps"], 1),
               f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, codes={r['codes']}; "
               f"later reads, as status_rps's; status_rps (1,000 sandboxes) = "
               f"{results.get('status_rps')}")
        time.sleep(7)  # serve trims its heap 5 s after a large list
        window_s = 1 if args.smoke else 15
        process_mb, process_peak_mb = srv.rss_window_mb(window_s)
        arena_mb, heap_note = cluster_arena_mb(srv)
        figure(f"rss_mb_{tag}", round(process_mb - arena_mb, 1),
               f"serve's own: VmRSS {process_mb:.1f} MB (median over {window_s} s) minus the "
               f"simulated cluster's heap arena, {arena_mb:.1f} MB resident; {heap_note}")
        figure(f"rss_mb_{tag}_peak", round(process_peak_mb - arena_mb, 1),
               "the highest sample minus the simulated cluster's arena (a reconcile pass in the "
               "window)")
        extra = 50 if args.smoke else 2000
        secs = create_via_api(args, srv, user_tok, extra, "sy-")
        figure(f"create_ops_s_{tag}", round(extra / secs, 1),
               f"{extra} creates through the API (8 concurrent) into an instance holding {n}")
    finally:
        srv.stop()
    times = []
    for _ in range(args.startup_reps):
        srv = Server(args, work, config, db)
        try:
            times.append(srv.start(timeout=600))
        finally:
            srv.stop()
    figure(f"startup_ms_{tag}", round(statistics.median(times), 1),
           f"start -> first 200 on /readyz with {n + extra} sandboxes, median of {len(times)}: " +
           ", ".join(f"{t:.0f}" for t in times))


def create_via_api(args, srv, user_tok, count, prefix):
    """Creates sandboxes prefix0..prefix{count-1} through the API, 8 concurrent; returns
    seconds. A lost connection loses its request: those are made up one by one."""
    t0 = time.monotonic()
    r = http_load(args, srv.port, "--connections", 8, "--count", count, "--method", "POST",
                  "--path", "/api/v1/sandboxes", "--body", '{"name":"%s{i}"}' % prefix,
                  "--header", f"Authorization: Bearer {user_tok}")
    secs = time.monotonic() - t0
    if r["codes"].get("201", 0) != count:
        log(f"populate: {r['codes']} errors={r['errors']}; filling in sequentially")
        for i in range(count):
            st, body = srv.request("GET", f"/api/v1/sandboxes/{prefix}{i}", user_tok)
            if st == 404:
                st, body = srv.request("POST", "/api/v1/sandboxes", user_tok, {"name": f"{prefix}{i}"})
            expect(st, body, (200, 201), f"populate {prefix}{i}")
    return secs


def list_all(srv, tok, limit=5000, query=""):
    """Every page of GET /api/v1/sandboxes (pages of `limit`, following "continue"): returns
    (items, [ms per page], total ms, body bytes)."""
    items, page_ms, size, cont = [], [], 0, None
    t_all = time.perf_counter()
    while True:
        path = f"/api/v1/sandboxes?limit={limit}{query}" + (f"&continue={cont}" if cont else "")
        t0 = time.perf_counter()
        st, body = srv.request("GET", path, tok)
        page_ms.append((time.perf_counter() - t0) * 1000)
        expect(st, body, (200,), "list page")
        size += len(body)
        doc = json.loads(body)
        items.extend(doc["items"])
        cont = doc.get("continue")
        if not cont:
            return items, page_ms, (time.perf_counter() - t_all) * 1000, size


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else None


def count_sandboxes(db):
    con = sqlite3.connect(db, timeout=60)
    n = con.execute("SELECT count(*) FROM sandboxes").fetchone()[0]
    con.close()
    return n


# ---------------------------------------------------------------------------------------------
class Kube:
    """Minimal direct Kubernetes client (bearer token + CA), one keep-alive connection."""

    def __init__(self, state):
        env = {}
        with open(os.path.join(state, "env")) as f:
            for line in f:
                if "=" in line and not line.startswith("export"):
                    k, v = line.strip().split("=", 1)
                    env[k] = v
        server = env["SANDBOXD_K8S_SERVER"]
        self.host, self.port = server.split("//", 1)[1].rsplit(":", 1)
        self.ctx = ssl.create_default_context(cafile=env["SANDBOXD_K8S_CA"])
        with open(env["SANDBOXD_K8S_ADMIN_TOKEN_FILE"]) as f:
            self.token = f.read().strip()
        self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = ctype
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, int(self.port),
                                                            context=self.ctx, timeout=60)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt:
                    raise


COLLECTIONS = {
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "Service": "/api/v1/namespaces/{ns}/services",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
}


def bench_real(args, work):
    state = os.path.join(work, "k8s")
    print("real control plane: create / stop+start through the API vs direct", flush=True)
    up = subprocess.run(["bash", os.path.join(ROOT, "tools/k8s/up.sh"), state],
                        capture_output=True, text=True, timeout=1800)
    if up.returncode != 0:
        raise RuntimeError(f"tools/k8s/up.sh failed: {up.stderr[-2000:]}")
    srv = None
    try:
        kube = Kube(state)
        ns = "bench-" + uuid.uuid4().hex[:8]
        st, body = kube.call("POST", "/api/v1/namespaces",
                             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        expect(st, body, (201,), "create namespace")
        config = os.path.join(work, "real.yaml")
        write_config(config, namespace=ns)
        db = os.path.join(work, "real.db")
        srv = Server(args, work, config, db, kube=os.path.join(state, "kubeconfig"))
        srv.start()
        tok = token(args, config, db, "bench")
        n = args.real_ops

        # Warm both paths up (connections, TLS, caches on the API server).
        expect(*srv.request("POST", "/api/v1/sandboxes", tok, {"name": "warm-api"}), (201,), "warm")
        rendered = subprocess.run([args.render_json, "--config", config, "--user", "bench"] +
                                  ["warm-direct"] + [f"direct-{i}" for i in range(n)],
                                  capture_output=True, text=True, check=True, env=child_env())
        manifests = [json.loads(l) for l in rendered.stdout.splitlines()]

        def direct_create(objs):
            for o in objs:
                path = COLLECTIONS[o["kind"]].format(ns=o["metadata"].get("namespace", ns))
                st, body = kube.call("POST", path, o)
                expect(st, body, (201,), f"direct create {o['kind']}")
        direct_create(manifests[0])

        # Interleave the two clients in rounds so that a noisy neighbour hits both alike.
        api_s = direct_s = kube_s = 0.0
        m0 = srv.metrics()
        for i in range(n):
            t0 = time.monotonic()
            st, body = srv.request("POST", "/api/v1/sandboxes", tok, {"name": f"api-{i}"})
            api_s += time.monotonic() - t0
            kube_s += (srv.last_kube_ms or 0.0) / 1000.0
            expect(st, body, (201,), f"api create api-{i}")
            t0 = time.monotonic()
            direct_create(manifests[i + 1])
            direct_s += time.monotonic() - t0
        figure("create_api_ops_per_s", round(n / api_s, 2))
        figure("create_direct_ops_per_s", round(n / direct_s, 2),
               f"{len(manifests[1])} POSTs per sandbox")
        m1 = srv.metrics()
        figure("create_ratio", round(direct_s / api_s, 3), f"{n} creates each, sequential")
        figure("real_create_kube_ms", round(kube_s * 1000 / n, 3),
               "sandboxd's own Kubernetes call time per create (Server-Timing kube)")
        figure("real_create_overhead_ms", round((api_s - kube_s) * 1000 / n, 3),
               "API latency minus sandboxd's Kubernetes call time, per create")
        figure("real_k8s_calls_per_create", round((k8s_calls(m1) - k8s_calls(m0)) / n, 2),
               ", ".join(f"{k}={v / n:.2f}" for k, v in sorted(k8s_by_call(m0, m1).items())))

        def scale(name, replicas):
            st, body = kube.call("PATCH", f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}/scale",
                                 {"spec": {"replicas": replicas}}, "application/merge-patch+json")
            expect(st, body, (200,), f"direct scale {name}")

        api_s = direct_s = kube_s = served_s = 0.0
        m0 = srv.metrics()
        for i in range(n):
            t0 = time.monotonic()
            expect(*srv.request("POST", f"/api/v1/sandboxes/api-{i}/stop", tok), (202,), "stop")
            kube_s += (srv.last_kube_ms or 0.0) / 1000.0
            served_s += (srv.last_total_ms or 0.0) / 1000.0
            expect(*srv.request("POST", f"/api/v1/sandboxes/api-{i}/start", tok), (202,), "start")
            kube_s += (srv.last_kube_ms or 0.0) / 1000.0
            served_s += (srv.last_total_ms or 0.0) / 1000.0
            api_s += time.monotonic() - t0
            t0 = time.monotonic()
            scale(f"direct-{i}", 0)
            scale(f"direct-{i}", 1)
            direct_s += time.monotonic() - t0
        figure("stopstart_api_pairs_per_s", round(n / api_s, 2))
        figure("stopstart_direct_pairs_per_s", round(n / direct_s, 2))
        m1 = srv.metrics()
        figure("stopstart_ratio", round(direct_s / api_s, 3), f"{n} stop+start pairs each")
        figure("real_stopstart_kube_ms_per_op", round(kube_s * 1000 / (2 * n), 3),
               "sandboxd's own Kubernetes call time per stop or start (Server-Timing kube)")
        figure("real_stopstart_direct_ms_per_op", round(direct_s * 1000 / (2 * n), 3),
               "one scale PATCH by the direct client")
        figure("real_stopstart_overhead_ms_per_op", round((api_s - kube_s) * 1000 / (2 * n), 3),
               "API latency minus sandboxd's Kubernetes call time, per stop or start")
        figure("real_stopstart_handler_ms_per_op", round((served_s - kube_s) * 1000 / (2 * n), 3),
               "of that overhead, the part inside sandboxd (Server-Timing total minus kube); the "
               "rest is HTTP on both sides and the client")
        figure("real_k8s_calls_per_stopstart", round((k8s_calls(m1) - k8s_calls(m0)) / n, 2),
               ", ".join(f"{k}={v / n:.2f}" for k, v in sorted(k8s_by_call(m0, m1).items())))

        # Where the time goes: one status read through the API vs the three reads it makes.
        t0 = time.monotonic()
        for i in range(n):
            expect(*srv.request("GET", f"/api/v1/sandboxes/api-{i}", tok), (200,), "status")
        api_ms = (time.monotonic() - t0) * 1000 / n
        t0 = time.monotonic()
        for i in range(n):
            for path in (f"/apis/apps/v1/namespaces/{ns}/statefulsets/direct-{i}",
                         f"/api/v1/namespaces/{ns}/persistentvolumeclaims/vn-homevn-agent-direct-{i}-0",
                         f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3Ddirect-{i}"):
                st, body = kube.call("GET", path)
                expect(st, body, (200, 404), f"direct GET {path}")
        direct_ms = (time.monotonic() - t0) * 1000 / n
        figure("real_status_api_ms", round(api_ms, 2), f"mean of {n} sequential reads")
        figure("real_status_direct_3gets_ms", round(direct_ms, 2),
               "GET StatefulSet + GET PVC + LIST pods, directly")
        srv.stop()
        srv = None
        if args.real_sandboxes > 0:
            bench_real_scale(args, work, state, kube)
    finally:
        if srv:
            srv.stop()
        subprocess.run(["bash", os.path.join(ROOT, "tools/k8s/down.sh"), state],
                       capture_output=True, timeout=300)


def stop_controllers(state):
    """Stops the control plane's controllers, scheduler, KWOK and provisioner (up.sh's pids
    file), leaving etcd and kube-apiserver: objects created from now on stay as written."""
    with open(os.path.join(state, "pids")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] not in ("etcd", "kube-apiserver"):
                try:
                    os.kill(int(parts[1]), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass


def plane_pids(state):
    """The pids of etcd and kube-apiserver (up.sh's pids file)."""
    pids = []
    with open(os.path.join(state, "pids")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("etcd", "kube-apiserver"):
                pids.append(int(parts[1]))
    return pids


def cpu_ms(pids):
    """CPU time (user + system) the processes have used, in ms."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * 1000 // tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_plane_idle(state, below=0.15, window_s=2.0, max_s=180):
    """Waits until etcd and kube-apiserver together use less than `below` of a core over
    `window_s` (after writing tens of thousands of objects they keep busy for a while: etcd
    compaction, the API server's garbage collection). Returns the seconds waited."""
    return wait_idle(plane_pids(state), below, window_s, max_s)


def wait_idle(pids, below=0.15, window_s=2.0, max_s=180):
    """Waits until the processes together use less than `below` of a core over `window_s`;
    returns the seconds waited (at most about `max_s`)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_s:
        before = cpu_ms(pids)
        time.sleep(window_s)
        if cpu_ms(pids) - before < below * window_s * 1000:
            break
    return time.monotonic() - t0


def parallel(fn, items, threads=4):
    """fn(item) for every item on `threads` threads (each its own connection); re-raises the
    first error."""
    import threading
    errors, it, lock = [], iter(items), threading.Lock()

    def worker():
        local = {}
        while not errors:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                fn(item, local)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def bench_real_scale(args, work, state, kube):
    """serve's own memory, start-up and list time with N sandboxes in a real API server (the
    simulated cluster of --kube memory lives in serve's process, so only a real one separates
    serve's memory). The controllers are stopped first: the API creates N sandboxes (StatefulSet,
    Service, 2 Ingresses each), and this client adds what the StatefulSet controller and a
    kubelet would (a Running, Ready pod and a claim per sandbox, the StatefulSet's status)."""
    print(f"real control plane: {args.real_sandboxes} sandboxes (controllers stopped)",
          flush=True)
    config, db, admin = populate_real_scale(args, work, state, kube)
    measure_real_scale(args, work, state, config, db, admin)


def populate_real_scale(args, work, state, kube):
    """Stops the controllers and makes args.real_sandboxes sandboxes (see bench_real_scale);
    returns serve's config, database and an admin token. serve is stopped again."""
    n = args.real_sandboxes
    stop_controllers(state)
    ns = "scale-" + uuid.uuid4().hex[:8]
    expect(*kube.call("POST", "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
           (201,), "create namespace")
    # The service account controller is stopped too: pods need the namespace's default one.
    expect(*kube.call("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
                      {"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "default"}}), (201, 409), "create service account")
    config = os.path.join(work, "real-scale.yaml")
    write_config(config, namespace=ns)
    db = os.path.join(work, "real-scale.db")
    srv = Server(args, work, config, db, kube=os.path.join(state, "kubeconfig"))
    srv.start()
    try:
        tok = token(args, config, db, "bench")
        admin = token(args, config, db, "bench-admin", admin=True)
        secs = create_via_api(args, srv, tok, n, "sc-")
        figure("real_populate_api_creates_per_s", round(n / secs, 1),
               f"{n} creates through the API, 8 concurrent, {secs:.0f}s")
        con = sqlite3.connect(db, timeout=60)
        rows = con.execute("SELECT name, sandbox_id, user FROM sandboxes").fetchall()
        con.close()

        def pod_and_claim(row, local):
            name, sandbox_id, user = row
            if "kube" not in local:
                local["kube"] = Kube(state)
            k = local["kube"]
            labels = {"app": name, "cloud.sealos.io/app-deploy-manager": name,
                      "app.kubernetes.io/managed-by": "sandboxd",
                      "sandboxd.io/sandbox-id": sandbox_id, "sandboxd.io/owner": user}
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": f"vn-homevn-agent-{name}-0", "labels": {"app": name},
                                "annotations": {"path": "/home/agent", "value": "5"}},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "5Gi"}}}}
            expect(*k.call("POST", f"/api/v1/namespaces/{ns}/persistentvolumeclaims", pvc),
                   (201,), "create claim")
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": f"{name}-0", "labels": dict(labels, **{
                       "controller-revision-hash": f"{name}-5d8f7c9b4",
                       "statefulset.kubernetes.io/pod-name": f"{name}-0",
                       "apps.kubernetes.io/pod-index": "0"})},
                   "spec": {"nodeName": "kwok-node-0", "hostname": f"{name}-0",
                            "subdomain": f"{name}-service",
                            "containers": [{"name": "sandbox", "image": "sandbox:latest",
                                            "volumeMounts": [{"name": "vn-homevn-agent",
                                                              "mountPath": "/home/agent"}]}],
                            "volumes": [{"name": "vn-homevn-agent", "persistentVolumeClaim": {
                                "claimName": f"vn-homevn-agent-{name}-0"}}]}}
            expect(*k.call("POST", f"/api/v1/namespaces/{ns}/pods", pod), (201,), "create pod")
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            cond = [{"type": t, "status": "True", "lastTransitionTime": now}
                    for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]
            status = {"status": {"phase": "Running", "conditions": cond, "podIP": "10.0.0.1",
                                 "startTime": now, "containerStatuses": [{
                                     "name": "sandbox", "ready": True, "started": True,
                                     "restartCount": 0, "image": "sandbox:latest",
                                     "imageID": "", "state": {"running": {"startedAt": now}}}]}}
            expect(*k.call("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}-0/status", status,
                           "application/merge-patch+json"), (200,), "pod status")
            revision = f"{name}-5d8f7c9b4"
            sts = {"status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1,
                              "currentReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                              "currentRevision": revision, "updateRevision": revision}}
            expect(*k.call("PATCH", f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}/status",
                           sts, "application/merge-patch+json"), (200,), "statefulset status")
        t0 = time.monotonic()
        parallel(pod_and_claim, rows)
        log(f"scale: {len(rows)} pods, claims and statuses written directly in "
            f"{time.monotonic() - t0:.0f}s")
        # Until serve's cache has seen them all (every sandbox RUNNING).
        deadline = time.monotonic() + 600
        while True:
            items = list_all(srv, admin)[0]
            running = sum(1 for i in items if i["status"] == "RUNNING")
            if running >= len(rows) or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        srv.stop()
    return config, db, admin


def reconcile_passes(srv):
    return sum(v for (name, _), v in srv.metrics().items()
               if name == "sandboxd_reconcile_passes_total")


def real_tag(args):
    """The real-scale figures' size in their names: 10k in a default run (the targets are for
    10,000), 20k with BENCH_REAL_SANDBOXES=20000 (issue 26 asks to report that size)."""
    return f"{round(args.real_sandboxes / 1000)}k"


def measure_real_scale(args, work, state, config, db, admin):
    tag = real_tag(args)
    srv = Server(args, work, config, db, kube=os.path.join(state, "kubeconfig"))
    srv.start()
    try:
        items, _, first_ms, _ = list_all(srv, admin)
        running = sum(1 for i in items if i["status"] == "RUNNING")
        # The first reconcile pass (it lists every type from the API server) runs right after
        # start-up; the list figure is taken after it, at rest, as in steady state.
        deadline = time.monotonic() + 120
        while reconcile_passes(srv) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        idle_s = wait_idle([srv.proc.pid] + plane_pids(state), max_s=120)
        walks = [list_all(srv, admin)[2] for _ in range(args.list_reps)]
        figure(f"list_ms_{tag}_real", round(statistics.median(walks), 2),
               f"median of {args.list_reps} whole lists in pages of 5,000 after the first reconcile pass, {len(items)} items, "
               f"{running} RUNNING; first list, during that pass: {first_ms:.0f} ms; serve and "
               f"the API server at rest after {idle_s:.0f} s")
        time.sleep(7)  # serve trims its heap 5 s after a large list
        rss_mb, rss_peak_mb = srv.rss_window_mb(15)
        figure(f"rss_mb_{tag}_real", round(rss_mb, 1),
               f"VmRSS of serve with {len(items)} sandboxes in a real API server, after a list; "
               "median of samples every 0.5 s for 15 s")
        figure(f"rss_mb_{tag}_real_peak", round(rss_peak_mb, 1),
               "the highest of those samples (a reconcile pass, when one fell in the window)")
    finally:
        srv.stop()
    # Each start on an idle API server, so that the figure is serve's start-up and not what
    # the API server still had to do; its CPU during each start is reported beside it.
    times, waits, plane_cpu = [], [], []
    pids = plane_pids(state)
    for _ in range(args.startup_reps):
        waits.append(wait_plane_idle(state))
        srv = Server(args, work, config, db, kube=os.path.join(state, "kubeconfig"))
        try:
            cpu0 = cpu_ms(pids)
            times.append(srv.start())
            plane_cpu.append(cpu_ms(pids) - cpu0)
            running = sum(1 for i in list_all(srv, admin)[0] if i["status"] == "RUNNING")
            time.sleep(12)  # the first reconcile pass lists every type
            rss_after = srv.rss_mb()
        finally:
            srv.stop()
    figure(f"startup_ms_{tag}_real", round(statistics.median(times), 1),
           f"start -> first 200 on /readyz (every list of the cache done), median of "
           f"{len(times)}: " + ", ".join(f"{t:.0f}" for t in times) +
           f"; then {running} RUNNING in the first list. Each on an idle API server (waited "
           + ", ".join(f"{w:.0f}" for w in waits) + " s); API server + etcd CPU during each: "
           + ", ".join(f"{c}" for c in plane_cpu) + " ms")
    figure(f"rss_mb_{tag}_real_after_restart", round(rss_after, 1),
           "restarted, after one list and the first reconcile pass")


# ---------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-real", action="store_true", help="skip the real control plane figures")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--only", choices=["render", "memory", "scale", "sse", "real"], default=None,
                    help="run one group of figures (the others are left out of results.json)")
    args = ap.parse_args()

    b = args.build
    args.sandboxd = os.path.join(b, "sandboxd")
    args.http_load = os.path.join(b, "bench", "http_load")
    args.render_json = os.path.join(b, "bench", "bench_render_json")
    args.render_bench = os.path.join(b, "bench", "render_bench")
    args.memory_cluster_rss = os.path.join(b, "bench", "bench_memory_cluster_rss")
    if not os.access(args.render_bench, os.X_OK):
        args.render_bench = None
    args.watch_event_bench = os.path.join(b, "bench", "watch_event_bench")
    if not os.access(args.watch_event_bench, os.X_OK):
        args.watch_event_bench = None
    args.registry_bench = os.path.join(b, "bench", "registry_bench")
    if not os.access(args.registry_bench, os.X_OK):
        args.registry_bench = None
    for p in (args.sandboxd, args.http_load, args.render_json, args.memory_cluster_rss):
        if not os.access(p, os.X_OK):
            sys.exit(f"bench: {p} is missing; build it first (bench/run does)")
    args.out = args.out or os.path.join(b, "bench", "results.json")

    if args.smoke:
        args.status_sandboxes, args.list_sandboxes = 20, 40
        args.duration, args.warmup, args.list_reps, args.startup_reps = 1, 0.2, 3, 1
        args.real_ops = 0
    else:
        args.status_sandboxes, args.list_sandboxes = 1000, 10000
        args.duration, args.warmup, args.list_reps, args.startup_reps = 10, 1, 7, 3
        args.real_ops = int(os.environ.get("BENCH_REAL_OPS", "30"))
    args.real_sandboxes = 0 if args.smoke else int(os.environ.get("BENCH_REAL_SANDBOXES", "10000"))
    # The scale group's instance (figures named _100k whatever the count; smoke: a few hundred).
    args.scale_sandboxes = 300 if args.smoke else int(
        os.environ.get("BENCH_SCALE_SANDBOXES", "100000"))

    work = tempfile.mkdtemp(prefix="sandboxd-bench-")
    # A private copy: a rebuild of build/sandboxd during the run must not change the subject.
    shutil.copy2(args.sandboxd, os.path.join(work, "sandboxd"))
    args.sandboxd = os.path.join(work, "sandboxd")
    mode = "smoke" if args.smoke else "full"
    print(f"sandboxd benchmarks ({mode}); work dir {work}", flush=True)
    results["bench_smoke"] = 1 if args.smoke else 0
    results["bench_status_sandboxes"] = args.status_sandboxes
    results["bench_list_sandboxes"] = args.list_sandboxes
    results["bench_scale_sandboxes"] = args.scale_sandboxes
    failed = []
    import sse_bench  # bench/sse_bench.py: the live event stream figures

    def bench_sse(args, work):
        sse_bench.bench_sse(args, work, sys.modules[__name__])

    for name, fn in [("render", bench_render), ("memory", bench_memory), ("scale", bench_scale), ("sse", bench_sse)]:
        if args.only and args.only != name:
            continue
        try:
            fn(args, work) if name != "render" else fn(args)
        except Exception as e:  # keep going; report at the end
            failed.append(f"{name}: {e}")
            log(f"{name} failed: {e}")
    if args.only and args.only != "real":
        pass
    elif args.smoke or args.no_real:
        for k in REAL_ONLY:
            results.setdefault(k, None)
        notes.append("create_ratio/stopstart_ratio: not measured (smoke mode or --no-real)")
    else:
        try:
            bench_real(args, work)
        except Exception as e:
            failed.append(f"real: {e}")
            log(f"real control plane failed: {e}")

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"results: {args.out}")
    for n in notes:
        print(f"note: {n}")
    required = [] if args.only else REQUIRED
    missing = [k for k in required if k not in results or
               (results[k] is None and not (k in REAL_ONLY and (args.smoke or args.no_real)))]
    if not args.keep and not failed:
        shutil.rmtree(work, ignore_errors=True)
    if failed or missing:
        for f_ in failed:
            print(f"FAILED: {f_}", file=sys.stderr)
        if missing:
            print(f"FAILED: figures not produced: {', '.join(missing)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
