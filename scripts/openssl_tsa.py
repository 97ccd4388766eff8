#!/usr/bin/env python3
"""An external RFC 3161 timestamp authority for tests: OpenSSL's `openssl ts -reply` behind a tiny HTTP
server on loopback. Usage: openssl_tsa.py PORT TSA_CERT TSA_KEY CHAIN_PEM LOG_FILE"""
import http.server
import os
import subprocess
import sys
import tempfile

port, cert, key, chain, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
work = tempfile.mkdtemp(prefix="openssl-tsa-")
open(os.path.join(work, "serial"), "w").write("01\n")
config = os.path.join(work, "tsa.cnf")
open(config, "w").write(f"""[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {work}
serial = {work}/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = self.rfile.read(int(self.headers.get("content-length", "0")))
        q, r = os.path.join(work, "q.tsq"), os.path.join(work, "r.tsr")
        open(q, "wb").write(query)
        done = subprocess.run(["openssl", "ts", "-reply", "-config", config, "-queryfile", q, "-inkey", key,
                               "-signer", cert, "-chain", chain, "-out", r], capture_output=True)
        if done.returncode != 0:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(done.stderr)
            return
        body = open(r, "rb").read()
        with open(log, "a") as f:
            f.write("stamped\n")
        self.send_response(200)
        self.send_header("content-type", "application/timestamp-reply")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
