#!/usr/bin/env python3
"""The pyHanko side of `banso bench sign`: adds a signature to banso's signed copy (a new field and an
incremental update, the work banso's countersignature does on the same file) and validates the signed copy,
in-process, N times each, and prints the median times as JSON. Python start-up and imports are outside the
timed loops."""
import argparse
import io
import json
import statistics
import time

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.keys import load_cert_from_pemder
from pyhanko_certvalidator import ValidationContext


def split_pem(path, out_first, out_rest):
    text = open(path).read()
    certs = [c + "-----END CERTIFICATE-----\n" for c in text.split("-----END CERTIFICATE-----") if "BEGIN" in c]
    open(out_first, "w").write(certs[0].lstrip())
    open(out_rest, "w").write("".join(c.lstrip() for c in certs[1:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--signed", required=True, help="banso's signed copy (the input of both loops)")
    ap.add_argument("--key", required=True)
    ap.add_argument("--chain", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--n", type=int, default=20)
    a = ap.parse_args()

    split_pem(a.chain, "seal-cert.pem", "seal-ca.pem")
    signer = signers.SimpleSigner.load(a.key, "seal-cert.pem", ca_chain_files=("seal-ca.pem",))
    signed = open(a.signed, "rb").read()
    meta = signers.PdfSignatureMetadata(field_name="pyHankoSig", subfilter=fields.SigSeedSubFilter.PADES)

    sign_ms = []
    for _ in range(a.n):
        t = time.perf_counter()
        w = IncrementalPdfFileWriter(io.BytesIO(signed))
        out = signers.sign_pdf(w, meta, signer=signer)
        out.getvalue()
        sign_ms.append((time.perf_counter() - t) * 1000)

    root = load_cert_from_pemder(a.root)
    verify_ms = []
    for _ in range(a.n):
        t = time.perf_counter()
        reader = PdfFileReader(io.BytesIO(signed))
        status = validate_pdf_signature(reader.embedded_signatures[0], ValidationContext(trust_roots=[root]))
        verify_ms.append((time.perf_counter() - t) * 1000)
        if not (status.intact and status.valid and status.trusted):
            raise SystemExit("pyHanko did not accept banso's signed copy: " + status.summary())

    print(json.dumps({
        "n": a.n,
        "sign_p50_ms": statistics.median(sign_ms),
        "verify_p50_ms": statistics.median(verify_ms),
    }))


if __name__ == "__main__":
    main()
