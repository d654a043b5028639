"""Live event stream figures (bench.py's `sse` group; nothing asserted).

sse_streams_held: of N streams opened against one `serve --kube memory` (admin and user streams,
each a raw socket read by one selector loop), how many answered 200 and were still open after
status reads ran beside them. status_rps_sse: those status reads (64 connections), with the
streams open. sse_rss_mb_1k: serve's VmRSS with the streams open. sse_fanout_p99_ms: per stop or
start through the API, from its 202 answer (its intent is in the registry; the event feed reacts
to that write and then to the watch cache's changes) to each stream reading the sandbox's first
event with the new desired replicas; the 99th percentile over every (operation, stream) pair.
"""
import json
import os
import resource
import selectors
import socket
import time


def _open_stream(port, token):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall((f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    return s


class _Reader:
    """Reads every stream; hands each complete event to `on_event(stream_index, type, data)`."""

    def __init__(self, socks):
        self.sel = selectors.DefaultSelector()
        self.buf = {}
        self.status = {}
        self.closed = set()
        for i, s in enumerate(socks):
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, i)
            self.buf[i] = b""

    def poll(self, on_event, timeout):
        for key, _ in self.sel.select(timeout):
            i = key.data
            try:
                data = key.fileobj.recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed.add(i)
                self.sel.unregister(key.fileobj)
                continue
            self.buf[i] += data
            b = self.buf[i]
            if i not in self.status:
                end = b.find(b"\r\n\r\n")
                if end < 0:
                    continue
                self.status[i] = int(b[9:12])
                b = b[end + 4:]
            # Chunk framing is not decoded: events are found by their text (chunk size lines
            # are hex digits alone on a line, never "event:" or "data:").
            while True:
                end = b.find(b"\n\n")
                if end < 0:
                    break
                block, b = b[:end], b[end + 2:]
                etype, edata = None, None
                for line in block.split(b"\n"):
                    line = line.rstrip(b"\r")
                    if line.startswith(b"event: "):
                        etype = line[7:].decode()
                    elif line.startswith(b"data: "):
                        edata = line[6:]
                if etype:
                    on_event(i, etype, edata)
            self.buf[i] = b


def bench_sse(args, work, bench):
    n_streams = 40 if args.smoke else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n_streams + 200:  # this process holds a socket per stream
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n_streams + 1024), hard))
    n_sandboxes = 4 if args.smoke else 20
    ops = 4 if args.smoke else 20
    config = os.path.join(work, "sse.yaml")
    bench.write_config(config)
    with open(config, "a") as f:
        f.write(f"  events:\n    maxStreams: {n_streams + 100}\n"
                f"    maxStreamsPerUser: {n_streams + 100}\n")
    db = os.path.join(work, "sse.db")
    srv = bench.Server(args, work, config, db)
    srv.start()
    socks = []
    try:
        user = bench.token(args, config, db, "alice")
        admin = bench.token(args, config, db, "root", admin=True)
        for k in range(n_sandboxes):
            st, body = srv.request("POST", "/api/v1/sandboxes", user, {"name": f"ev-{k}"})
            bench.expect(st, body, (201,), "create")
        print(f"sse: {n_streams} streams, {n_sandboxes} sandboxes", flush=True)
        for k in range(n_streams):
            socks.append(_open_stream(srv.port, admin if k % 10 == 0 else user))
        reader = _Reader(socks)
        deadline = time.monotonic() + 60
        while len(reader.status) < n_streams and time.monotonic() < deadline:
            reader.poll(lambda *a: None, 0.5)
        ok = sum(1 for v in reader.status.values() if v == 200)

        # Status reads with the streams open.
        r = bench.http_load(args, srv.port, "--connections", 64, "--duration", args.duration,
                            "--warmup", args.warmup, "--path", "/api/v1/sandboxes/ev-{i}",
                            "--range", n_sandboxes, "--header", f"Authorization: Bearer {user}")
        reader.poll(lambda *a: None, 0.2)
        held = sum(1 for i, v in reader.status.items() if v == 200 and i not in reader.closed)
        bench.figure("sse_streams_held", held, f"of {n_streams} opened, {ok} answered 200")
        bench.figure("status_rps_sse", round(r["rps"], 1),
                     f"codes={r['codes']} errors={r['errors']} with {held} streams open")
        bench.figure("sse_rss_mb_1k", round(srv.rss_mb(), 1),
                     f"VmRSS with {held} streams open")

        # Fan-out: one stop or start at a time; every stream waits for its event.
        latencies = []
        for k in range(ops):
            name = f"ev-{k % n_sandboxes}"
            action, want = ("stop", 0) if (k // n_sandboxes) % 2 == 0 else ("start", 1)
            seen = {}

            # Matched on the bytes (compact JSON, sorted keys): parsing 1,000 events per
            # operation in Python would be most of the figure.
            name_b = b'"name":"' + name.encode() + b'"'
            want_b = b'"desired":' + str(want).encode() + b','

            def on_event(i, etype, data, name_b=name_b, want_b=want_b):
                if i in seen or etype != "sandbox" or data is None:
                    return
                if name_b in data and want_b in data:
                    seen[i] = time.monotonic()

            while reader.sel.select(0):  # drain what came before
                reader.poll(lambda *a: None, 0)
            st, body = srv.request("POST", f"/api/v1/sandboxes/{name}/{action}", user)
            t0 = time.monotonic()
            bench.expect(st, body, (202,), action)
            deadline = time.monotonic() + 30
            while len(seen) < held and time.monotonic() < deadline:
                reader.poll(on_event, 0.5)
            latencies += [(t - t0) * 1000.0 for t in seen.values()]
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None
        p50 = latencies[len(latencies) // 2] if latencies else None
        bench.figure("sse_fanout_p99_ms", round(p99, 2) if p99 is not None else None,
                     f"p50 {round(p50, 2) if p50 is not None else None} ms over {len(latencies)} "
                     f"(operation, stream) pairs, {ops} operations")
    finally:
        for s in socks:
            s.close()
        srv.stop()
