"""Live event stream figures (bench.py's `sse` group; nothing asserted).

The streams are opened and read by `bench/sse_reader.cc` (C++, a few threads each an epoll loop
over its share of the sockets; a Python selector over 1,000 sockets was most of the figure).

sse_streams_held: of N streams opened against one `serve --kube memory` (one in ten an admin's),
how many answered 200 and were still open after status reads ran beside them. status_rps_sse:
those status reads (64 connections), with the streams open. sse_rss_mb_1k: serve's VmRSS with
the streams open. sse_fanout_p99_ms: serve runs with `server.events.applyStamps`, so an event
caused by a cluster change begins with ": applied <ns>", the moment serve's watch cache applied
that change (CLOCK_MONOTONIC, taken in the cache's change listener); the reader notes when it
has read the whole event (the same clock, same machine). Stops and starts through the API, one
at a time, make the simulated cluster change (the StatefulSet, its pod going away or becoming
Ready); every such event read by every stream is one delivery, and the figure is the 99th
percentile over all of them.
"""
import json
import os
import resource
import subprocess
import time


def bench_sse(args, work, bench):
    n_streams = 40 if args.smoke else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n_streams + 200:  # the reader (a child) holds a socket per stream
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n_streams + 1024), hard))
    n_sandboxes = 4 if args.smoke else 20
    ops = 4 if args.smoke else 20
    config = os.path.join(work, "sse.yaml")
    bench.write_config(config)
    with open(config, "a") as f:
        f.write(f"  events:\n    maxStreams: {n_streams + 100}\n"
                f"    maxStreamsPerUser: {n_streams + 100}\n    applyStamps: true\n")
    db = os.path.join(work, "sse.db")
    srv = bench.Server(args, work, config, db)
    srv.start()
    readers = []
    try:
        user = bench.token(args, config, db, "alice")
        admin = bench.token(args, config, db, "root", admin=True)
        for k in range(n_sandboxes):
            st, body = srv.request("POST", "/api/v1/sandboxes", user, {"name": f"ev-{k}"})
            bench.expect(st, body, (201,), "create")
        print(f"sse: {n_streams} streams, {n_sandboxes} sandboxes", flush=True)
        reader = subprocess.Popen(
            [os.path.join(args.build, "bench", "sse_reader"), "--port", str(srv.port),
             "--streams", str(n_streams), "--token", user, "--admin-token", admin,
             "--admin-every", "10", "--threads", "2"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        readers.append(reader)
        ready = json.loads(reader.stdout.readline().split(" ", 1)[1])
        ok = ready["ok"]

        # Status reads with the streams open.
        r = bench.http_load(args, srv.port, "--connections", 64, "--duration", args.duration,
                            "--warmup", args.warmup, "--path", "/api/v1/sandboxes/ev-{i}",
                            "--range", n_sandboxes, "--header", f"Authorization: Bearer {user}")
        reader.stdin.write("count\n")
        reader.stdin.flush()
        held = json.loads(reader.stdout.readline())["open"]
        bench.figure("sse_streams_held", held, f"of {n_streams} opened, {ok} answered 200")
        bench.figure("status_rps_sse", round(r["rps"], 1),
                     f"codes={r['codes']} errors={r['errors']} with {held} streams open")
        bench.figure("sse_rss_mb_1k", round(srv.rss_mb(), 1),
                     f"VmRSS with {held} streams open")

        # Fan-out: one stop or start at a time, each waited for (the status the API shows, then
        # a moment for the last events to reach every stream). Only the changes applied from
        # here on count: the creates' pods became Ready while the streams were being opened,
        # and those events are not what this figure measures.
        reader.stdin.write("mark\n")
        reader.stdin.flush()
        json.loads(reader.stdout.readline())
        for k in range(ops):
            name = f"ev-{k % n_sandboxes}"
            action, want = ("stop", "STOPPED") if (k // n_sandboxes) % 2 == 0 else \
                ("start", "RUNNING")
            st, body = srv.request("POST", f"/api/v1/sandboxes/{name}/{action}", user)
            bench.expect(st, body, (202,), action)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                st, body = srv.request("GET", f"/api/v1/sandboxes/{name}", user)
                if st == 200 and json.loads(body).get("status") == want:
                    break
                time.sleep(0.02)
            time.sleep(0.3)
        reader.stdin.write("stop\n")
        reader.stdin.flush()
        res = json.loads(reader.stdout.readline())
        reader.wait(timeout=30)
        bench.figure("sse_fanout_p99_ms", res["p99_ms"] if res["deliveries"] else None,
                     f"p50 {res['p50_ms']} ms, max {res['max_ms']} ms over {res['deliveries']} "
                     f"deliveries (watch-cache apply to read), {ops} operations, "
                     f"{res['open']} streams open")
        # The events of the creates' pods becoming Ready, read while the streams were still
        # being opened (each new stream sends its current state): not the figure above.
        bench.figure("sse_fanout_p99_ms_while_opening",
                     res["before_mark_p99_ms"] if res["before_mark_deliveries"] else None,
                     f"over {res['before_mark_deliveries']} deliveries stamped before the "
                     f"operations, while the {n_streams} streams were being opened")
    finally:
        for p in readers:
            if p.poll() is None:
                p.kill()
                p.wait()
        srv.stop()
