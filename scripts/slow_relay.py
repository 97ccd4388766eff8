"""A relay that answers each POST after a fixed delay: it waits DELAY seconds, then forwards the body to TARGET
and returns its answer. Used by scripts/load.sh to make a timestamp authority slow on purpose.
Usage: python3 slow_relay.py PORT TARGET DELAY"""
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, TARGET, DELAY = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])


class Relay(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(DELAY)
        request = urllib.request.Request(
            TARGET, data=body, headers={"Content-Type": self.headers.get("Content-Type", "")}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, kind, data = answer.status, answer.headers.get("Content-Type", ""), answer.read()
        except urllib.error.HTTPError as e:
            status, kind, data = e.code, e.headers.get("Content-Type", ""), e.read()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Relay).serve_forever()
