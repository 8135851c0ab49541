#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An HTTP proxy that breaks requests on purpose (oci-push's fault tests).

usage: faultproxy.py --target HOST:PORT --port-file FILE --log FILE [--fault SPEC]...

It listens on 127.0.0.1 (a free port, written to --port-file), forwards
each request to --target and its answer back, and logs one line per
request: "METHOD PATH [RANGE] -> STATUS" or "-> FAULT KIND".  The Host
header is passed on, so the registry's Location headers name the proxy.

A fault SPEC is MATCH:N:KIND.  MATCH is a method, optionally followed by a
part of the path ("PATCH", "PUT/manifests/"); N is which matching request
(1 = the first) or "*" for every one; KIND is one of
  reset   read half of the request body, then reset the connection;
          nothing reaches the registry (a proxy that buffers requests,
          as nginx does, loses the request whole)
  500     answer 500 Internal Server Error, nothing forwarded
  401     forward the request without its Authorization header: the
          registry's own 401 and challenge (a token that expired)
  stall   read the request and answer nothing (the client times out)
  lost    forward the request, then reset instead of answering (the
          registry took it, the client never hears)
"""
import argparse
import http.client
import socket
import struct
import sys
import time

from localserver import Handler as BaseHandler, serve

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "expect",
       "content-length", "upgrade", "te", "trailer"}


class Fault:
    def __init__(self, spec):
        match, n, self.kind = spec.rsplit(":", 2)
        i = 0
        while i < len(match) and match[i].isalpha():
            i += 1
        self.method, self.path = match[:i], match[i:]
        self.n = None if n == "*" else int(n)
        self.seen = 0
        if self.kind not in ("reset", "500", "401", "stall", "lost"):
            raise SystemExit("faultproxy: unknown fault kind " + self.kind)

    def hit(self, method, path):
        if method != self.method or self.path not in path:
            return False
        self.seen += 1
        return self.n is None or self.seen == self.n


class Handler(BaseHandler):
    def note(self, what):
        rng = self.headers.get("Content-Range")
        super().note("%s %s%s -> %s" % (self.command, self.path, " " + rng if rng else "", what))

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        fault = None
        with self.server.lock:
            for f in self.server.faults:
                if f.hit(self.command, self.path):
                    fault = f.kind
                    break
        if fault == "reset":
            self.rfile.read(length // 2)
            self.note("FAULT reset")
            self.reset()
            return
        body = self.rfile.read(length) if length else b""
        if fault == "500":
            self.note("FAULT 500")
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            data = b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}'
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if fault == "stall":
            self.note("FAULT stall")
            time.sleep(3600)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if fault == "401":
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        host, port = self.server.target
        conn = http.client.HTTPConnection(host, port, timeout=120)
        try:
            conn.request(self.command, self.path, body=body if length or self.command in
                         ("PUT", "PATCH", "POST") else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if fault == "lost":
            self.note("FAULT lost (registry said %d)" % resp.status)
            self.reset()
            return
        self.note(str(resp.status) + (" (FAULT 401)" if fault == "401" else ""))
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        if self.command == "HEAD":
            if resp.getheader("Content-Length") is not None:
                self.send_header("Content-Length", resp.getheader("Content-Length"))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fault", action="append", default=[])
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    serve(Handler, a.port_file, a.log, target=(host, int(port)),
          faults=[Fault(s) for s in a.fault])


if __name__ == "__main__":
    sys.exit(main())
