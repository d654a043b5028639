#!/usr/bin/env python3
"""fault_proxy.py — an HTTP(S) proxy between sandboxd and the kube-apiserver that injects faults.

Reliability-tier test tool (stdlib only). sandboxd (or curl) talks to the proxy as if it were the
API server; the proxy terminates TLS with its own certificate, forwards every request to the real
API server over TLS (Authorization passes through unchanged, so bearer tokens work; client
certificates cannot pass a TLS-terminating proxy) and, by configuration, injects:

  429 (+ Retry-After) / 500 / 503 (+ Retry-After)  answered by the proxy with a Kubernetes Status
  reset            RST the client connection, 50/50 before forwarding or AFTER the upstream
                   answered (the write happened, the client never hears about it)
  latency          sleep a random time in latency_ms, then forward
  truncate_watch   watch requests only: forward, pass 1-3 events (or cut at a random byte offset
                   inside an event), then close the client connection mid-stream
  gone_on_watch_resume  watches carrying a resourceVersion (other than "0") get a 200 stream with a
                   single ERROR event (Status 410 Expired) and a properly ended stream

Usage:
  fault_proxy.py --make-cert DIR     # writes DIR/ca.crt, DIR/proxy.crt, DIR/proxy.key (openssl CLI;
                                     # reused if present; 127.0.0.1 + localhost), exits if no --upstream
  fault_proxy.py --upstream https://127.0.0.1:6443 --upstream-ca STATE/ca.crt \\
                 (--make-cert DIR | --cert C --key K | --plain) [--port 0] [--config faults.json]
                 [--upstream-client-cert C --upstream-client-key K] [--verbose]

  Clients trust DIR/ca.crt (the proxy's CA). The first stdout line is "LISTENING <port>" once the
  proxy accepts connections; one stderr line is logged per injected fault; SIGTERM/SIGINT exit 0.

Configuration (JSON; every field optional; a new config replaces the old one entirely and
re-seeds the random generator, so a run is deterministic given seed and request order):
  {"seed": 0, "rate": 0.2,
   "faults": {"429": 1, "500": 1, "503": 1, "reset": 1, "latency": 1, "truncate_watch": 1},
   "retry_after_seconds": 1, "latency_ms": [100, 500],
   "methods": ["GET", "POST"], "path_regex": "^/api/v1/namespaces/[^/]+/configmaps",
   "gone_on_watch_resume": false,   # true = every resumed watch; an integer N = the next N only
   "truncate_watch_max_ms": null}   # optional: cut a truncate_watch stream after this long even
                                    # if the chosen number of events did not arrive (the limit
                                    # of the config in force when the watch began)
  `rate` is the probability that a request matching methods/path_regex gets a fault; the fault is
  then drawn by weight among those applicable (truncate_watch only applies to watch requests).
  Sources, last writer wins: --config FILE (re-read when its mtime/size changes, checked on every
  request; a missing file means "no faults" until it appears) and the control endpoint:
    POST /__proxy/config        JSON body as above      -> 200 {"ok": true} / 400 on a bad config
    GET  /__proxy/config        the active config
    GET  /__proxy/stats         {"requests", "forwarded", "watch_requests", "upstream_errors",
                                 "faults": {"429", "500", "503", "reset", "reset_before",
                                 "reset_after", "latency", "truncate_watch", "truncate_watch_missed",
                                 "gone_on_watch_resume"}, "injected", "config_loads"}
    POST /__proxy/stats/reset   zero the counters
  Control requests are never faulted or counted as requests.

HTTP: HTTP/1.1 keep-alive on both sides (one upstream connection per client connection). Request
bodies (Content-Length or chunked) are read whole and forwarded with Content-Length; responses are
streamed piece by piece (chunked stays chunked, watch streams pass event by event), never buffered.
"Expect: 100-continue" is answered by the proxy. Connection upgrades (exec, port-forward) are not
supported: Upgrade is a hop-by-hop header and is dropped.
"""
import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("429", "500", "503", "reset", "latency", "truncate_watch")
CONFIG_KEYS = {"seed", "rate", "faults", "retry_after_seconds", "latency_ms", "methods",
               "path_regex", "gone_on_watch_resume", "truncate_watch_max_ms"}
STATUS_REASONS = {429: ("Too Many Requests", "TooManyRequests"),
                  500: ("Internal Server Error", "InternalError"),
                  502: ("Bad Gateway", "InternalError"),
                  503: ("Service Unavailable", "ServiceUnavailable"),
                  400: ("Bad Request", "BadRequest"),
                  404: ("Not Found", "NotFound")}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "expect", "content-length"}
MAX_HEAD = 256 * 1024
PIECE = 64 * 1024


def log(msg):
    print(f"[fault-proxy] {msg}", file=sys.stderr, flush=True)


class BadRequest(Exception):
    pass


class UpstreamError(Exception):
    pass


# --------------------------------------------------------------------------- configuration
class Config:
    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise ValueError("config must be a JSON object")
        unknown = set(raw) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        self.raw = raw
        self.seed = int(raw.get("seed", 0))
        self.rate = float(raw.get("rate", 0.0))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        faults = raw.get("faults") or {}
        if not isinstance(faults, dict) or set(faults) - set(FAULT_KINDS):
            raise ValueError(f"faults must be an object with keys among {list(FAULT_KINDS)}")
        self.weights = {k: float(v) for k, v in faults.items()}
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("fault weights must be >= 0")
        self.retry_after = int(raw.get("retry_after_seconds", 1))
        lat = raw.get("latency_ms", [100, 500])
        if not (isinstance(lat, list) and len(lat) == 2 and 0 <= lat[0] <= lat[1]):
            raise ValueError("latency_ms must be [min, max] with 0 <= min <= max")
        self.latency = (float(lat[0]), float(lat[1]))
        methods = raw.get("methods")
        self.methods = {m.upper() for m in methods} if methods else None
        self.path_re = re.compile(raw["path_regex"]) if raw.get("path_regex") else None
        gone = raw.get("gone_on_watch_resume", False)
        if isinstance(gone, bool):
            self.gone_left = -1 if gone else 0      # -1 = unlimited
        elif isinstance(gone, int) and gone >= 0:
            self.gone_left = gone
        else:
            raise ValueError("gone_on_watch_resume must be a boolean or a count")
        tmax = raw.get("truncate_watch_max_ms")
        self.truncate_max = None if tmax is None else float(tmax) / 1000.0


class Injector:
    """Holds the active config and its random generator; decides the fault of each request."""

    def __init__(self):
        self.set(Config({}))

    def set(self, cfg):
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)

    def matches(self, method, path):
        c = self.cfg
        return ((c.methods is None or method in c.methods) and
                (c.path_re is None or c.path_re.search(path) is not None))

    def gone(self, method, path, is_watch, rv):
        c = self.cfg
        if not (is_watch and rv and rv != "0" and c.gone_left != 0 and self.matches(method, path)):
            return False
        if c.gone_left > 0:
            c.gone_left -= 1
        return True

    def decide(self, method, path, is_watch):
        """Returns None or a plan tuple: (kind, *parameters)."""
        c, rng = self.cfg, self.rng
        if c.rate <= 0 or not self.matches(method, path):
            return None
        if rng.random() >= c.rate:
            return None
        choices = [(k, w) for k, w in sorted(c.weights.items())
                   if w > 0 and (k != "truncate_watch" or is_watch)]
        total = sum(w for _, w in choices)
        if total <= 0:
            return None
        x = rng.random() * total
        kind = choices[-1][0]
        for k, w in choices:
            if x < w:
                kind = k
                break
            x -= w
        if kind == "reset":
            return ("reset", "before" if rng.random() < 0.5 else "after")
        if kind == "latency":
            return ("latency", rng.uniform(*c.latency))
        if kind == "truncate_watch":
            # The time limit is the one in force now: a config loaded while the request is
            # forwarded must not leave this stream without one (it would stay up until the
            # watch's own timeout, minutes, on a quiet collection).
            if rng.random() < 0.5:     # after 1-3 complete events
                return ("truncate_watch", rng.randint(1, 3), None, c.truncate_max)
            return ("truncate_watch", rng.randint(0, 2), rng.uniform(0.05, 0.95),   # mid-event
                    c.truncate_max)
        return (kind,)


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        self.c = {"requests": 0, "forwarded": 0, "watch_requests": 0, "upstream_errors": 0,
                  "faults": {k: 0 for k in ("429", "500", "503", "reset", "reset_before",
                                            "reset_after", "latency", "truncate_watch",
                                            "truncate_watch_missed", "gone_on_watch_resume")},
                  "config_loads": 0}

    def inc(self, key):
        self.c[key] += 1

    def fault(self, key):
        self.c["faults"][key] += 1

    def snapshot(self):
        f = self.c["faults"]
        injected = sum(f[k] for k in ("429", "500", "503", "reset", "latency", "truncate_watch",
                                      "gone_on_watch_resume"))
        return dict(self.c, faults=dict(f), injected=injected)


# --------------------------------------------------------------------------- I/O helpers
class Reader:
    """A StreamReader wrapper with its own buffer (so a pending read can be abandoned safely)."""

    def __init__(self, sr):
        self.sr = sr
        self.buf = bytearray()

    async def fill(self):
        data = await self.sr.read(PIECE)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    async def head(self):
        """Bytes up to the blank line; None on a clean EOF before the first byte."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("header section too large")
            try:
                await self.fill()
            except (EOFError, ConnectionError):
                if not self.buf:
                    return None
                raise

    async def line(self):
        while (i := self.buf.find(b"\n")) < 0:
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("line too long")
            await self.fill()
        line = bytes(self.buf[:i + 1])
        del self.buf[:i + 1]
        return line.rstrip(b"\r\n")

    async def some(self, n):
        if not self.buf:
            await self.fill()
        data = bytes(self.buf[:n])
        del self.buf[:len(data)]
        return data

    async def exactly(self, n):
        out = bytearray()
        while len(out) < n:
            out += await self.some(n - len(out))
        return bytes(out)

    def at_eof(self):
        return not self.buf and self.sr.at_eof()


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for ln in lines[1:]:
        if ":" not in ln:
            raise BadRequest(f"malformed header line {ln!r}")
        name, value = ln.split(":", 1)
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def hget(headers, name):
    name = name.lower()
    vals = [v for k, v in headers if k.lower() == name]
    return ", ".join(vals) if vals else None


def tokens(value):
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


def rst(writer):
    """Closes a connection abruptly: SO_LINGER 0 makes the kernel send RST instead of FIN."""
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


async def read_chunked(reader):
    """Yields the decoded pieces of a chunked body (trailers are dropped)."""
    while True:
        size_line = await reader.line()
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise BadRequest(f"bad chunk size {size_line!r}")
        if size == 0:
            while await reader.line():
                pass
            return
        left = size
        while left:
            piece = await reader.some(min(left, PIECE))
            left -= len(piece)
            yield piece
        if await reader.exactly(2) != b"\r\n":
            raise BadRequest("chunk not followed by CRLF")


async def read_length(reader, n):
    while n:
        piece = await reader.some(min(n, PIECE))
        n -= len(piece)
        yield piece


async def read_to_eof(reader):
    while True:
        try:
            yield await reader.some(PIECE)
        except EOFError:
            return


class WatchCutter:
    """Passes whole watch events (newline-delimited JSON) and says when to cut the stream."""

    def __init__(self, events, frac, max_s):
        self.left, self.frac, self.buf = events, frac, bytearray()
        self.max_s = max_s     # cut after this long even without events (None: no limit)

    def feed(self, data):
        self.buf += data
        out = bytearray()
        while (i := self.buf.find(b"\n")) >= 0:
            event = bytes(self.buf[:i + 1])
            del self.buf[:i + 1]
            if self.left > 0:
                out += event
                self.left -= 1
                if self.left == 0 and self.frac is None:
                    return bytes(out), True
                continue
            cut = max(1, min(len(event) - 1, int(len(event) * self.frac)))
            return bytes(out + event[:cut]), True
        return bytes(out), False


# --------------------------------------------------------------------------- one connection
class Connection:
    def __init__(self, proxy, reader, writer):
        self.p = proxy
        self.cr, self.cw = Reader(reader), writer
        self.ur = self.uw = None

    async def run(self):
        try:
            while await self.one_request():
                pass
        except BadRequest as e:
            try:
                await self.respond_status(400, str(e), keep=False)
            except (ConnectionError, OSError):
                pass
        except (EOFError, ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            self.close_upstream()
            if not self.cw.is_closing():
                self.cw.close()

    def close_upstream(self, abort=False):
        if self.uw is not None:
            if abort:
                self.uw.transport.abort()
            else:
                self.uw.close()
        self.ur = self.uw = None

    async def send(self, data):
        self.cw.write(data)
        await self.cw.drain()

    async def respond(self, code, body, ctype="application/json", extra=(), keep=True):
        phrase = STATUS_REASONS.get(code, ("Error",))[0]
        head = [f"HTTP/1.1 {code} {phrase}", f"Content-Type: {ctype}",
                f"Content-Length: {len(body)}", *extra]
        if not keep:
            head.append("Connection: close")
        await self.send(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    async def respond_status(self, code, message, extra=(), keep=True, retry_after=None):
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": STATUS_REASONS[code][1], "code": code}
        if retry_after is not None:
            status["details"] = {"retryAfterSeconds": retry_after}
            extra = (*extra, f"Retry-After: {retry_after}")
        await self.respond(code, json.dumps(status).encode(), extra=extra, keep=keep)

    async def one_request(self):
        """Serves one request; returns True to keep the client connection open."""
        head = await self.cr.head()
        if head is None:
            return False
        request_line, headers = parse_head(head)
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(f"bad request line {request_line!r}")
        method, target, version = parts
        if "://" in target:                          # absolute-form: keep path + query only
            u = urlsplit(target)
            target = (u.path or "/") + (f"?{u.query}" if u.query else "")
        conn = tokens(hget(headers, "connection"))
        keep = "close" not in conn if version == "HTTP/1.1" else "keep-alive" in conn
        if "100-continue" in tokens(hget(headers, "expect")):
            await self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await self.read_request_body(headers)

        url = urlsplit(target)
        if url.path.startswith("/__proxy/"):
            await self.control(method, url.path, body, keep)
            return keep

        p = self.p
        p.maybe_reload()
        p.stats.inc("requests")
        query = parse_qs(url.query)
        is_watch = (query.get("watch", [""])[0].lower() in ("true", "1")) or "/watch/" in url.path
        if is_watch:
            p.stats.inc("watch_requests")
        what = f"{method} {target}"

        if p.inj.gone(method, url.path, is_watch, query.get("resourceVersion", [""])[0]):
            p.fault("gone_on_watch_resume", what)
            event = {"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"too old resource version: {query['resourceVersion'][0]} "
                           "(injected by fault proxy)", "reason": "Expired", "code": 410}}
            data = json.dumps(event).encode() + b"\n"
            await self.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            b"Transfer-Encoding: chunked\r\n" +
                            (b"" if keep else b"Connection: close\r\n") + b"\r\n" +
                            f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
            return keep

        plan = p.inj.decide(method, url.path, is_watch)
        kind = plan[0] if plan else None
        if kind in ("429", "500", "503"):
            code = int(kind)
            p.fault(kind, what)
            await self.respond_status(code, "injected by fault proxy", keep=keep,
                                      extra=("X-Fault-Proxy: injected",),
                                      retry_after=p.inj.cfg.retry_after if code != 500 else None)
            return keep
        if kind == "reset" and plan[1] == "before":
            p.fault("reset", what, "before forwarding", sub="reset_before")
            rst(self.cw)
            return False
        if kind == "latency":
            p.fault("latency", what, f"{plan[1]:.0f} ms")
            await asyncio.sleep(plan[1] / 1000.0)

        try:
            status, phrase, rheaders = await self.forward(method, target, headers, body)
        except UpstreamError as e:
            p.stats.inc("upstream_errors")
            log(f"upstream error for {what}: {e}")
            await self.respond_status(502, f"fault proxy: upstream error: {e}", keep=keep)
            return keep
        p.stats.inc("forwarded")
        if p.verbose:
            log(f"{what} -> {status}")

        if kind == "reset":      # the upstream has answered: the request took effect
            p.fault("reset", what, f"after forwarding (upstream answered {status})",
                    sub="reset_after")
            self.close_upstream(abort=True)
            rst(self.cw)
            return False
        cutter = None
        if kind == "truncate_watch":
            if status == 200:
                cutter = WatchCutter(plan[1], plan[2], plan[3])
            else:
                p.stats.fault("truncate_watch_missed")
        return await self.relay_response(method, status, phrase, rheaders, keep, cutter, what)

    async def read_request_body(self, headers):
        te = tokens(hget(headers, "transfer-encoding"))
        if "chunked" in te:
            return b"".join([piece async for piece in read_chunked(self.cr)])
        length = hget(headers, "content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                raise BadRequest("bad Content-Length")
            return await self.cr.exactly(n)
        return None

    async def connect_upstream(self):
        p = self.p
        try:
            sr, self.uw = await asyncio.wait_for(asyncio.open_connection(
                p.up_host, p.up_port, ssl=p.up_ssl,
                server_hostname=p.up_host if p.up_ssl else None), 10)
        except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
            raise UpstreamError(f"connect {p.up_host}:{p.up_port}: {e!r}")
        self.ur = Reader(sr)

    async def forward(self, method, target, headers, body):
        """Sends the request upstream; returns the response head (skipping 1xx answers)."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.p.up_netloc}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP | {"host"}]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        for attempt in (0, 1):
            fresh = self.uw is None or self.ur.at_eof() or self.uw.is_closing()
            if fresh:
                self.close_upstream()
                await self.connect_upstream()
            try:
                self.uw.write(data)
                await self.uw.drain()
                head = await self.ur.head()
                if head is None:
                    raise EOFError("upstream closed the connection before answering")
                while True:
                    status_line, rheaders = parse_head(head)
                    sp = status_line.split(" ", 2)
                    status = int(sp[1])
                    if not 100 <= status < 200:
                        return status, (sp[2] if len(sp) > 2 else ""), rheaders
                    head = await self.ur.head()     # 100 Continue & co: not for the client
                    if head is None:
                        raise EOFError("upstream closed after an interim response")
            except (EOFError, ConnectionError, ssl.SSLError, OSError, ValueError, IndexError) as e:
                self.close_upstream(abort=True)
                # A kept-alive connection the server closed meanwhile: retry once on a new one.
                if fresh or attempt:
                    raise UpstreamError(repr(e))

    async def relay_response(self, method, status, phrase, rheaders, keep, cutter, what):
        rte = tokens(hget(rheaders, "transfer-encoding"))
        rlen = hget(rheaders, "content-length")
        up_close = "close" in tokens(hget(rheaders, "connection"))
        if method == "HEAD" or status in (204, 304):
            framing = "none"
        elif "chunked" in rte:
            framing = "chunked"
        elif rlen is not None:
            framing = "length"
        else:
            framing = "eof"
        keep = keep and not up_close and framing != "eof"
        out = [f"HTTP/1.1 {status} {phrase}"]
        for k, v in rheaders:
            lk = k.lower()
            if lk not in HOP_BY_HOP or (lk == "content-length" and framing in ("length", "none")):
                out.append(f"{k}: {v}")
        if framing == "chunked":
            out.append("Transfer-Encoding: chunked")
        if not keep:
            out.append("Connection: close")
        await self.send(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        if framing == "none":
            if up_close:
                self.close_upstream()
            return keep

        pieces = {"chunked": lambda: read_chunked(self.ur),
                  "length": lambda: read_length(self.ur, int(rlen)),
                  "eof": lambda: read_to_eof(self.ur)}[framing]()
        # While streaming, notice a client that goes away and drop the upstream request with it.
        monitor = asyncio.ensure_future(self.cr.fill())
        monitor.add_done_callback(self.client_gone)
        deadline = None
        if cutter is not None and cutter.max_s is not None:
            deadline = asyncio.get_running_loop().time() + cutter.max_s
        try:
            while True:
                try:
                    if deadline is None:
                        piece = await pieces.__anext__()
                    else:
                        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
                        piece = await asyncio.wait_for(pieces.__anext__(), timeout)
                except StopAsyncIteration:
                    break
                except asyncio.TimeoutError:
                    await self.cut(b"", framing, what, "at truncate_watch_max_ms")
                    return False
                cut = False
                if cutter is not None:
                    piece, cut = cutter.feed(piece)
                if cut:
                    await self.cut(piece, framing, what, "mid-event" if cutter.frac is not None
                                   else "after complete events")
                    return False
                if piece:
                    await self.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
                                    if framing == "chunked" else piece)
        except (EOFError, ConnectionError, ssl.SSLError, OSError, BadRequest):
            # Upstream died mid-body (or the client left): pass the truncation on as it is.
            self.close_upstream(abort=True)
            if cutter is not None:
                self.p.stats.fault("truncate_watch_missed")
                log(f"truncate_watch on {what}: connection ended before the cut point")
            self.cw.close()
            return False
        finally:
            monitor.cancel()
            await asyncio.wait({monitor})    # its read must be over before the next request
        if cutter is not None:
            self.p.stats.fault("truncate_watch_missed")
            log(f"truncate_watch on {what}: stream ended before the cut point")
        if framing == "chunked":
            await self.send(b"0\r\n\r\n")
        if not keep:
            self.close_upstream()
        return keep

    def client_gone(self, monitor):
        if not monitor.cancelled() and monitor.exception() is not None and self.uw is not None:
            self.uw.transport.abort()

    async def cut(self, piece, framing, what, how):
        if piece:
            await self.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
                            if framing == "chunked" else piece)
        self.p.fault("truncate_watch", what, f"cut {how}")
        self.close_upstream(abort=True)
        self.cw.close()

    async def control(self, method, path, body, keep):
        p = self.p
        if method == "GET" and path == "/__proxy/stats":
            await self.respond(200, json.dumps(p.stats.snapshot()).encode(), keep=keep)
        elif method == "GET" and path == "/__proxy/config":
            p.maybe_reload()
            await self.respond(200, json.dumps(p.inj.cfg.raw).encode(), keep=keep)
        elif method == "POST" and path == "/__proxy/config":
            try:
                cfg = Config(json.loads(body or b"{}"))
            except (ValueError, TypeError, AttributeError, re.error) as e:
                await self.respond_status(400, f"bad fault config: {e}", keep=keep)
                return
            p.load(cfg, "control endpoint")
            await self.respond(200, b'{"ok": true}', keep=keep)
        elif method == "POST" and path == "/__proxy/stats/reset":
            p.stats.reset()
            await self.respond(200, b'{"ok": true}', keep=keep)
        else:
            await self.respond_status(404, f"no control endpoint {method} {path}", keep=keep)


# --------------------------------------------------------------------------- the proxy
class Proxy:
    def __init__(self, args):
        u = urlsplit(args.upstream)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise SystemExit(f"bad --upstream {args.upstream!r}")
        self.up_host = u.hostname
        self.up_port = u.port or (443 if u.scheme == "https" else 80)
        self.up_netloc = u.netloc
        self.up_ssl = None
        if u.scheme == "https":
            self.up_ssl = ssl.create_default_context(cafile=args.upstream_ca)
            self.up_ssl.set_alpn_protocols(["http/1.1"])
            if args.upstream_client_cert:
                self.up_ssl.load_cert_chain(args.upstream_client_cert, args.upstream_client_key)
        self.verbose = args.verbose
        self.stats = Stats()
        self.inj = Injector()
        self.config_path = args.config
        self.config_sig = None
        self.maybe_reload()

    def load(self, cfg, source):
        self.inj.set(cfg)
        self.stats.inc("config_loads")
        log(f"config from {source}: {json.dumps(cfg.raw, sort_keys=True)}")

    def maybe_reload(self):
        if not self.config_path:
            return
        try:
            st = os.stat(self.config_path)
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            sig = None
        if sig == self.config_sig:
            return
        self.config_sig = sig
        if sig is None:
            return
        try:
            with open(self.config_path, "rb") as f:
                self.load(Config(json.loads(f.read() or b"{}")), self.config_path)
        except (OSError, ValueError, TypeError, AttributeError, re.error) as e:
            log(f"ignoring bad config file {self.config_path}: {e}")

    def fault(self, kind, what, detail="", sub=None):
        self.stats.fault(kind)
        if sub:
            self.stats.fault(sub)
        log(f"FAULT {kind} {what}" + (f" ({detail})" if detail else ""))


def make_cert(directory):
    """Self-signed CA + server cert for 127.0.0.1/localhost via the openssl CLI (reused if present)."""
    os.makedirs(directory, exist_ok=True)
    ca, crt, key = (os.path.join(directory, n) for n in ("ca.crt", "proxy.crt", "proxy.key"))
    if all(os.path.exists(f) for f in (ca, crt, key)):
        return ca, crt, key
    ca_key, csr, ext = (os.path.join(directory, n) for n in ("ca.key", "proxy.csr", "proxy.ext"))
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
                "keyEncipherment\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for cmd in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
         "-keyout", ca_key, "-out", ca, "-subj", "/CN=fault-proxy-test-ca",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
        ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", key,
         "-out", csr, "-subj", "/CN=fault-proxy"],
        ["x509", "-req", "-sha256", "-days", "3650", "-in", csr, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-extfile", ext],
    ):
        subprocess.run(["openssl", *cmd], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    os.remove(csr)
    log(f"made certificate: CA {ca}, server cert {crt}, key {key}")
    return ca, crt, key


async def serve(args):
    proxy = Proxy(args)
    server_ssl = None
    if not args.plain:
        server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ssl.load_cert_chain(args.cert, args.key)
        server_ssl.set_alpn_protocols(["http/1.1"])
    loop = asyncio.get_running_loop()
    # Clients that drop TLS connections mid-handshake are expected here; keep stderr readable.
    loop.set_exception_handler(lambda lp, ctx: None if isinstance(
        ctx.get("exception"), (ssl.SSLError, ConnectionError, OSError))
        else lp.default_exception_handler(ctx))
    tasks = set()

    async def on_client(reader, writer):
        task = asyncio.current_task()
        tasks.add(task)
        try:
            await Connection(proxy, reader, writer).run()
        except asyncio.CancelledError:
            pass     # shutting down (and Python 3.11's stream callback chokes on a cancelled task)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(on_client, "127.0.0.1", args.port, ssl=server_ssl,
                                        ssl_handshake_timeout=10 if server_ssl else None)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"LISTENING {port}", flush=True)
    log(f"listening on {'http' if args.plain else 'https'}://127.0.0.1:{port}, "
        f"upstream {args.upstream}")
    await stop.wait()
    server.close()
    for t in list(tasks):
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    log(f"stopped; stats {json.dumps(proxy.stats.snapshot(), sort_keys=True)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", help="API server URL, e.g. https://127.0.0.1:6443")
    ap.add_argument("--upstream-ca", help="CA bundle trusted for the upstream (default: system)")
    ap.add_argument("--upstream-client-cert", help="client certificate presented upstream")
    ap.add_argument("--upstream-client-key")
    ap.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (0 = free one)")
    ap.add_argument("--cert", help="server certificate (PEM) the proxy presents")
    ap.add_argument("--key", help="its private key")
    ap.add_argument("--make-cert", metavar="DIR",
                    help="create DIR/ca.crt, DIR/proxy.crt, DIR/proxy.key and use them")
    ap.add_argument("--plain", action="store_true", help="listen with plain HTTP, no TLS")
    ap.add_argument("--config", help="fault config JSON file, re-read when it changes")
    ap.add_argument("--verbose", action="store_true", help="log every forwarded request")
    args = ap.parse_args()
    if args.make_cert:
        _, crt, key = make_cert(args.make_cert)
        args.cert, args.key = args.cert or crt, args.key or key
        if not args.upstream:
            return 0
    if not args.upstream:
        ap.error("--upstream is required")
    if not args.plain and not (args.cert and args.key):
        ap.error("TLS needs --cert and --key (or --make-cert DIR, or --plain)")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
