#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A token server of the docker token flow, for oci-push's tests.

usage: tokenserver.py --port-file FILE --key KEY.pem --cert CERT.pem
                      --issuer ISSUER --service SERVICE --user USER
                      --password PASSWORD --log FILE

Listens on 127.0.0.1 (a free port, written to --port-file).  GET
/token?service=S&scope=repository:NAME:ACTIONS... with Basic credentials
USER:PASSWORD gets {"token": JWT, "expires_in": 300}, the JWT granting
every scope asked for; other credentials get 401, no credentials a token
without access.  The JWT is RS256, signed by `openssl dgst` with KEY, its
certificate CERT in the x5c header: a docker-registry whose
auth.token.rootcertbundle is CERT accepts it.  Each request is logged:
"token user=U scope=S" or "denied".
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse

from localserver import Handler as BaseHandler, serve


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(path):
    pem = open(path).read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return "".join(body.split())


class Handler(BaseHandler):
    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="token"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        a = self.server.args
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if u != a.user or p != a.password:
                self.note("denied user=%s" % u)
                self.answer(401, {"details": "wrong user name or password"})
                return
            user = u
        scopes = []
        for s in q.get("scope", []):
            scopes.extend(s.split())
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) == 3 and user is not None:
                access.append({"type": parts[0], "name": parts[1],
                               "actions": parts[2].split(",")})
        now = int(time.time())
        claims = {"iss": a.issuer, "sub": user or "", "aud": a.service,
                  "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": b64url(os.urandom(12)), "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [cert_der_b64(a.cert)]}
        signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", a.key],
                             input=signing.encode(), stdout=subprocess.PIPE, check=True).stdout
        self.note("token user=%s service=%s scope=%s" %
                  (user or "-", ",".join(q.get("service", [])), " ".join(scopes)))
        self.answer(200, {"token": signing + "." + b64url(sig), "expires_in": 300})


def main():
    ap = argparse.ArgumentParser()
    for o in ("port-file", "key", "cert", "issuer", "service", "user", "password", "log"):
        ap.add_argument("--" + o, required=True)
    a = ap.parse_args()
    serve(Handler, a.port_file, a.log, args=a)


if __name__ == "__main__":
    sys.exit(main())
