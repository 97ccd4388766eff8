#!/usr/bin/env python3
"""A VNPAY payment gateway (API 2.1.0) simulator for banso's tests, standard library only.

It is a second, independent implementation of the protocol in crates/core/src/payment/vnpay.rs:
the signature is the HMAC-SHA512, under the merchant's hash secret, of the vnp_* parameters except
vnp_SecureHash and vnp_SecureHashType, empty values left out, sorted by name, joined as name=value with
'&', each value encoded like PHP's urlencode (letters, digits and -_. kept, space as '+', every other
UTF-8 byte as %XX upper case), sent as hex in vnp_SecureHash.

    python3 scripts/vnpay-sim.py --listen 127.0.0.1:8099 --tmn-code BANSO001 --secret S \
        --ipn-url http://127.0.0.1:8080/payment/vnpay/ipn [--ipn-retries 3 --ipn-retry-delay 1]
    python3 scripts/vnpay-sim.py --vectors > crates/core/tests/data/vnpay_vectors.json

Endpoints:
  GET  /paymentv2/vpcpay.html?...  checks the merchant's request like VNPAY (signature, terminal code,
                                   version, command, currency, amount, dates); 400 with a message when
                                   wrong, else records a pending transaction and shows Pay/Cancel buttons.
  POST /sim/pay                    form or query: vnp_TxnRef, result=success|cancel|insufficient
                                   [, amount=VND to report a different amount, signature=bad]. Sends the
                                   signed IPN (GET) to the merchant's IPN URL, records the JSON answer,
                                   then 302-redirects the browser to vnp_ReturnUrl with the same params.
  POST /sim/replay                 vnp_TxnRef: sends that transaction's IPN again; answers what happened.
  GET  /sim/transactions           JSON of everything seen: requests, transactions, IPN attempts.
With --ipn-retries N, an IPN not answered with RspCode 00 or 02 is sent again up to N times, in the
background, --ipn-retry-delay seconds apart (VNPAY retries too; its real schedule is not published here).
Prints "listening on http://HOST:PORT" once ready (PORT 0 picks a free port).
"""
import argparse
import datetime
import hashlib
import hmac
import html
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "2.1.0"
MAX_PARAMS = 32
MAX_VALUE = 255
MAX_QUERY = 8 * 1024
GMT7 = datetime.timezone(datetime.timedelta(hours=7))
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
NAME = re.compile(r"[A-Za-z0-9_]{1,32}")
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
RESULTS = {  # result -> (vnp_ResponseCode, vnp_TransactionStatus, state)
    "success": ("00", "00", "paid"),
    "cancel": ("24", "02", "cancelled"),
    "insufficient": ("51", "02", "failed"),
}


class Refused(Exception):
    """A request the gateway turns away; the message is shown to the caller."""


def php_urlencode(text):
    out = []
    for byte in text.encode("utf-8"):
        if byte in UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def hash_data(params):
    names = sorted(k for k, v in params.items()
                   if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType") and v != "")
    return "&".join(php_urlencode(k) + "=" + php_urlencode(params[k]) for k in names)


def secure_hash(params, secret):
    return hmac.new(secret.encode("utf-8"), hash_data(params).encode("utf-8"), hashlib.sha512).hexdigest()


def signed_query(params, secret):
    """The query VNPAY sends: every parameter encoded, sorted, then vnp_SecureHash."""
    body = "&".join(php_urlencode(k) + "=" + php_urlencode(v) for k, v in sorted(params.items()))
    return body + "&vnp_SecureHash=" + secure_hash(params, secret)


def parse_params(raw):
    """Decodes a query or form body within the same bounds as banso; refuses duplicates."""
    if len(raw) > MAX_QUERY:
        raise Refused("query longer than %d bytes" % MAX_QUERY)
    if BAD_ESCAPE.search(raw):
        raise Refused("a '%' escape is not two hex digits")
    try:
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS)
    except ValueError as e:
        raise Refused("unreadable parameters: %s" % e)
    params = {}
    for name, value in pairs:
        if not NAME.fullmatch(name):
            raise Refused("bad parameter name")
        if len(value.encode("utf-8")) > MAX_VALUE:
            raise Refused("%s is longer than %d bytes" % (name, MAX_VALUE))
        if name in params:
            raise Refused("%s appears twice" % name)
        params[name] = value
    return params


def check_signature(params, secret):
    sent = params.get("vnp_SecureHash", "")
    if not sent:
        raise Refused("code=70 vnp_SecureHash is missing")
    if not hmac.compare_digest(sent.lower().encode(), secure_hash(params, secret).encode()):
        raise Refused("code=70 invalid signature (vnp_SecureHash)")


def gmt7_text(at):
    return at.astimezone(GMT7).strftime("%Y%m%d%H%M%S")


def check_payment_request(params, config, now):
    check_signature(params, config.secret)
    expect = {"vnp_Version": VERSION, "vnp_Command": "pay", "vnp_CurrCode": "VND", "vnp_TmnCode": config.tmn_code}
    for name, value in expect.items():
        if params.get(name) != value:
            raise Refused("%s must be %s" % (name, value))
    for name, pattern in (("vnp_Amount", r"[1-9][0-9]{0,11}"), ("vnp_TxnRef", r"[A-Za-z0-9]{1,100}"),
                          ("vnp_CreateDate", r"[0-9]{14}"), ("vnp_ExpireDate", r"[0-9]{14}"),
                          ("vnp_Locale", r"vn|en"), ("vnp_OrderType", r"[A-Za-z0-9_]{1,100}"),
                          ("vnp_IpAddr", r"[0-9A-Fa-f.:]{7,45}"), ("vnp_ReturnUrl", r"https?://\S{3,247}"),
                          ("vnp_OrderInfo", r"[ -~]{1,255}")):
        if not re.fullmatch(pattern, params.get(name, "")):
            raise Refused("%s is missing or malformed" % name)
    if int(params["vnp_Amount"]) % 100:
        raise Refused("vnp_Amount must be VND x 100")
    if params["vnp_ExpireDate"] <= gmt7_text(now):
        raise Refused("the payment has expired (vnp_ExpireDate)")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.transactions = {}
        self.attempts = []
        self.next_no = 14000000


def send_ipn(config, state, txn_ref, attempt):
    with state.lock:
        query = state.transactions[txn_ref]["ipn_query"]
    url = config.ipn_url + ("&" if "?" in config.ipn_url else "?") + query
    record = {"txn_ref": txn_ref, "attempt": attempt, "at": datetime.datetime.now(GMT7).isoformat()}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "vnpay-sim"}), timeout=10) as r:
            record["http_status"] = r.status
            body = r.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        record["http_status"] = e.code
        body = e.read(4096).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        record["error"] = str(e)
        body = None
    if body is not None:
        try:
            record["answer"] = json.loads(body)
        except ValueError:
            record["body"] = body
    with state.lock:
        state.attempts.append(record)
        state.transactions[txn_ref]["ipn_answers"].append(record)
    answer = record.get("answer")
    return record, isinstance(answer, dict) and answer.get("RspCode") in ("00", "02")


def retry_ipn(config, state, txn_ref):
    for attempt in range(2, config.ipn_retries + 2):
        time.sleep(config.ipn_retry_delay)
        if send_ipn(config, state, txn_ref, attempt)[1]:
            return


def make_handler(config, state):
    class Handler(BaseHTTPRequestHandler):
        server_version = "vnpay-sim/1"

        def reply(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def params(self):
            raw = urllib.parse.urlsplit(self.path).query
            if self.command == "POST":
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    if length < 0 or length > MAX_QUERY:
                        raise Refused("body longer than %d bytes" % MAX_QUERY)
                    body = self.rfile.read(length).decode("utf-8", "strict") if length else ""
                except ValueError as e:  # also UnicodeDecodeError
                    raise Refused("unreadable body: %s" % e)
                raw = "&".join(part for part in (raw, body) if part)
            return parse_params(raw)

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path == "/paymentv2/vpcpay.html":
                return self.payment_page()
            if path == "/sim/transactions":
                with state.lock:
                    seen = json.dumps({"requests": state.requests, "transactions": state.transactions,
                                       "ipn_attempts": state.attempts}, ensure_ascii=False, indent=1)
                return self.reply(200, seen, "application/json")
            self.reply(404, "no such endpoint\n")

        def do_POST(self):
            path = urllib.parse.urlsplit(self.path).path
            try:
                if path == "/sim/pay":
                    return self.pay(self.params())
                if path == "/sim/replay":
                    record, _ = send_ipn(config, state, self.pending(self.params(), replay=True), 0)
                    return self.reply(200, json.dumps(record, ensure_ascii=False), "application/json")
            except Refused as e:
                return self.reply(400, "%s\n" % e)
            self.reply(404, "no such endpoint\n")

        def pending(self, params, replay=False):
            txn_ref = params.get("vnp_TxnRef", "")
            with state.lock:
                txn = state.transactions.get(txn_ref)
                if txn is None:
                    raise Refused("no transaction %r" % txn_ref)
                if replay != (txn["state"] != "pending"):
                    raise Refused("transaction %r is %s" % (txn_ref, txn["state"]))
            return txn_ref

        def payment_page(self):
            raw = urllib.parse.urlsplit(self.path).query
            entry = {"at": datetime.datetime.now(GMT7).isoformat(), "query": raw[:MAX_QUERY]}
            try:
                params = parse_params(raw)
                check_payment_request(params, config, datetime.datetime.now(datetime.timezone.utc))
                with state.lock:
                    known = state.transactions.get(params["vnp_TxnRef"])
                    if known is not None and known["request"] != params:
                        raise Refused("vnp_TxnRef %s was already used" % params["vnp_TxnRef"])
                    if known is None:
                        state.transactions[params["vnp_TxnRef"]] = {
                            "request": params, "state": "pending", "ipn_params": None, "ipn_query": None,
                            "ipn_answers": []}
            except Refused as e:
                entry.update(accepted=False, error=str(e))
                with state.lock:
                    state.requests.append(entry)
                return self.reply(400, "VNPAY simulator refused the request: %s\n" % e)
            entry.update(accepted=True, txn_ref=params["vnp_TxnRef"])
            with state.lock:
                state.requests.append(entry)
            txn = html.escape(params["vnp_TxnRef"])
            buttons = "".join(
                '<form method="post" action="/sim/pay"><input type="hidden" name="vnp_TxnRef" value="%s">'
                '<button name="result" value="%s">%s</button></form>' % (txn, value, label)
                for value, label in (("success", "Pay"), ("cancel", "Cancel"), ("insufficient", "Pay (no funds)")))
            self.reply(200, '<!doctype html><html lang="vi"><meta charset="utf-8"><title>VNPAY simulator</title>'
                       '<h1>VNPAY simulator</h1><p>%s</p><p>%s VND &middot; ref %s</p>%s</html>' % (
                           html.escape(params["vnp_OrderInfo"]), int(params["vnp_Amount"]) // 100, txn, buttons),
                       "text/html; charset=utf-8")

        def pay(self, params):
            result = params.get("result", "")
            if result not in RESULTS:
                raise Refused("result must be success, cancel or insufficient")
            txn_ref = self.pending(params)
            response_code, status, new_state = RESULTS[result]
            with state.lock:
                txn = state.transactions[txn_ref]
                if txn["state"] != "pending":  # another /sim/pay got here first
                    raise Refused("transaction %r is %s" % (txn_ref, txn["state"]))
                request = txn["request"]
                state.next_no += 1
                number = str(state.next_no) if result != "cancel" else "0"
                amount = request["vnp_Amount"]
                if params.get("amount", "").isdigit():
                    amount = str(int(params["amount"]) * 100)
                ipn = {"vnp_Amount": amount, "vnp_BankCode": "NCB" if result != "cancel" else "VNPAY",
                       "vnp_OrderInfo": request["vnp_OrderInfo"], "vnp_PayDate": gmt7_text(datetime.datetime.now(GMT7)),
                       "vnp_ResponseCode": response_code, "vnp_TmnCode": config.tmn_code,
                       "vnp_TransactionNo": number, "vnp_TransactionStatus": status, "vnp_TxnRef": txn_ref}
                if result == "success":
                    ipn.update(vnp_BankTranNo="VNP" + number, vnp_CardType="ATM")
                query = signed_query(ipn, config.secret)
                if params.get("signature") == "bad":
                    query = query[:-1] + ("0" if query[-1] != "0" else "1")
                txn.update(state=new_state, ipn_params=ipn, ipn_query=query)
            _, done = send_ipn(config, state, txn_ref, 1)
            if not done and config.ipn_retries > 0:
                threading.Thread(target=retry_ipn, args=(config, state, txn_ref), daemon=True).start()
            back = request["vnp_ReturnUrl"]
            self.reply(302, "", headers=[("Location", back + ("&" if "?" in back else "?") + query)])

        def log_message(self, fmt, *args):
            sys.stderr.write("vnpay-sim: %s\n" % (fmt % args))

    return Handler


def vectors():
    """Fixed, signed examples for banso's Rust tests (crates/core/tests/data/vnpay_vectors.json)."""
    secret, tmn = "BANSOVNPAYTESTSECRET0123456789AB", "BANSO001"
    created = datetime.datetime(2025, 3, 5, 7, 30, 0, tzinfo=datetime.timezone.utc)
    urls = []
    for name, info, bank in (("plain", "Le phi chung thuc BS2025000123", None),
                             ("colon and slash, bank preselected", "Le phi: 2 ban / ho so #42", "VNPAYQR")):
        params = {"vnp_Version": VERSION, "vnp_Command": "pay", "vnp_TmnCode": tmn, "vnp_Amount": "5000000",
                  "vnp_CurrCode": "VND", "vnp_TxnRef": "BS2025000123", "vnp_OrderInfo": info,
                  "vnp_OrderType": "billpayment", "vnp_Locale": "vn",
                  "vnp_ReturnUrl": "https://kiosk.example.vn/payment/vnpay/return?k=7",
                  "vnp_IpAddr": "203.0.113.9", "vnp_CreateDate": gmt7_text(created),
                  "vnp_ExpireDate": gmt7_text(created + datetime.timedelta(minutes=15))}
        if bank:
            params["vnp_BankCode"] = bank
        urls.append({"name": name, "base": "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
                     "tmn_code": tmn, "amount_vnd": 50000, "txn_ref": "BS2025000123", "order_info": info,
                     "order_type": "billpayment", "return_url": params["vnp_ReturnUrl"], "ip_addr": "203.0.113.9",
                     "create_utc": created.isoformat(), "expire_utc": (created + datetime.timedelta(minutes=15)).isoformat(),
                     "bank_code": bank, "url": "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?"
                     + signed_query(params, secret)})
    base = {"vnp_Amount": "5000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14831393", "vnp_CardType": "ATM",
            "vnp_OrderInfo": "Le phi chung thuc BS2025000123", "vnp_PayDate": "20250305143258",
            "vnp_ResponseCode": "00", "vnp_TmnCode": tmn, "vnp_TransactionNo": "14831393",
            "vnp_TransactionStatus": "00", "vnp_TxnRef": "BS2025000123"}
    cases = [
        ("paid", {}),
        ("Vietnamese text with spaces", {"vnp_OrderInfo": "Lệ phí chứng thực bản sao số 42: 2 bản"}),
        ("characters PHP encodes and others may not", {"vnp_OrderInfo": "a&b=c+d%e/f~g*h!(i)'j"}),
        ("cancelled by the payer", {"vnp_ResponseCode": "24", "vnp_TransactionStatus": "02", "vnp_BankCode": "VNPAY",
                                    "vnp_TransactionNo": "0", "vnp_BankTranNo": "", "vnp_CardType": ""}),
        ("insufficient funds", {"vnp_ResponseCode": "51", "vnp_TransactionStatus": "02"}),
        ("paid at VNPAY but not settled", {"vnp_ResponseCode": "00", "vnp_TransactionStatus": "01"}),
    ]
    ipn = []
    for name, change in cases:
        params = dict(base, **change)
        # Empty values travel in the query but are not signed; "params" lists what the merchant should read.
        fields = {k: v for k, v in params.items() if v != ""}
        ipn.append({"name": name, "query": signed_query(params, secret), "valid": True, "params": fields})
    good = signed_query(base, secret)
    ipn += [
        {"name": "merchant's own parameter next to VNPAY's", "query": "kiosk=7&" + good, "valid": True,
         "params": base},
        {"name": "upper-case hex signature", "query": good.split("vnp_SecureHash=")[0] + "vnp_SecureHash="
         + secure_hash(base, secret).upper(), "valid": True, "params": base},
        {"name": "vnp_SecureHashType is not signed", "query": "vnp_SecureHashType=HmacSHA512&" + good,
         "valid": True, "params": base},
        {"name": "amount changed after signing", "query": good.replace("vnp_Amount=5000000", "vnp_Amount=500000"),
         "valid": False, "error": "signature"},
        {"name": "signature removed", "query": good.split("&vnp_SecureHash=")[0], "valid": False,
         "error": "missing_signature"},
        {"name": "signed over %20 instead of + for spaces", "query": good.split("vnp_SecureHash=")[0]
         + "vnp_SecureHash=" + hmac.new(secret.encode(), hash_data(base).replace("+", "%20").encode(),
                                        hashlib.sha512).hexdigest(), "valid": False, "error": "signature"},
        {"name": "a parameter twice", "query": good + "&vnp_Amount=5000000", "valid": False, "error": "duplicate"},
        {"name": "signed with another secret", "query": signed_query(base, secret + "x"), "valid": False,
         "error": "signature"},
    ]
    return {"generator": "python3 scripts/vnpay-sim.py --vectors", "secret": secret, "payment_urls": urls,
            "ipn": ipn}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", help="HOST:PORT")
    parser.add_argument("--tmn-code")
    parser.add_argument("--secret")
    parser.add_argument("--ipn-url")
    parser.add_argument("--ipn-retries", type=int, default=0, help="extra IPN attempts when not answered 00/02")
    parser.add_argument("--ipn-retry-delay", type=float, default=1.0, help="seconds between IPN attempts")
    parser.add_argument("--vectors", action="store_true", help="print signed test vectors as JSON and exit")
    config = parser.parse_args()
    if config.vectors:
        json.dump(vectors(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    if not (config.listen and config.tmn_code and config.secret and config.ipn_url):
        parser.error("--listen, --tmn-code, --secret and --ipn-url are required")
    host, _, port = config.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), make_handler(config, State()))
    print("listening on http://%s:%d" % (host, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
