# SPDX-License-Identifier: MIT
"""What the test servers (faultproxy.py, tokenserver.py) share: an HTTP/1.1
server on a free port of 127.0.0.1, the port written to a file (renamed
into place, so a reader never sees half of it), one log file written under
a lock."""
import http.server
import os
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, line):
        with self.server.lock:
            self.server.logf.write(line + "\n")
            self.server.logf.flush()


def serve(handler, port_file, log, **attrs):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.logf = open(log, "a")
    for k, v in attrs.items():
        setattr(srv, k, v)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()
