#!/usr/bin/env python3
"""A webhook receiver for the tests, as another agency's system would run one: it checks every delivery with
the `standardwebhooks` package (an implementation independent of banso's), drops a repeat by its id, and
appends what it accepted to a JSON-lines file. A delivery whose signature does not verify is answered 400 and
recorded as refused.

usage: webhook_receiver.py --listen 127.0.0.1:PORT --secret whsec_... --out FILE [--fail-first N]
(--fail-first N: answers 503 to the first N deliveries, so the tests see retries)."""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

parser = argparse.ArgumentParser()
parser.add_argument("--listen", required=True)
parser.add_argument("--secret", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--fail-first", type=int, default=0)
args = parser.parse_args()

hook = Webhook(args.secret)
lock = threading.Lock()
seen = set()
failed = [0]


def record(entry):
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            if failed[0] < args.fail_first:
                failed[0] += 1
                self.send_response(503)
                self.end_headers()
                return
            try:
                payload = hook.verify(body, headers)
            except WebhookVerificationError as e:
                record({"refused": str(e), "id": headers.get("webhook-id")})
                self.send_response(400)
                self.end_headers()
                return
            msg_id = headers["webhook-id"]
            repeat = msg_id in seen
            seen.add(msg_id)
            record({
                "id": msg_id,
                "type": payload["type"],
                "code": payload["data"]["code"],
                "status": payload["data"]["status"],
                "repeat": repeat,
                "timestamp": headers["webhook-timestamp"],
                "signature": headers["webhook-signature"],
                "body": body.decode("utf-8"),
            })
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


host, port = args.listen.rsplit(":", 1)
server = ThreadingHTTPServer((host, int(port)), Handler)
print(f"listening on http://{host}:{server.server_address[1]}", flush=True)
server.serve_forever()
