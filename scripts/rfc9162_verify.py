#!/usr/bin/env python3
"""An RFC 9162 proof checker written straight from the RFC's text (sections 2.1.3.2 and 2.1.4.2), kept apart
from banso's Rust code so the tests check the log's proofs with a second implementation.

  rfc9162_verify.py inclusion PROOF.json          (the JSON of /api/v1/log/proof/inclusion)
  rfc9162_verify.py consistency PROOF.json        (the JSON of /api/v1/log/proof/consistency)
Exit 0 when the proof verifies, 1 when it does not."""
import hashlib
import json
import sys


def h(b):
    return hashlib.sha256(b).digest()


def verify_inclusion(p):
    leaf = bytes.fromhex(p["leaf"])
    if hashlib.sha256(p["record"].encode()).digest() != leaf:
        return False
    leaf_index, tree_size = p["leaf_index"], p["tree_size"]
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = h(b"\x00" + leaf)
    if r.hex() != p["leaf_hash"]:
        return False
    for pe in (bytes.fromhex(x) for x in p["audit_path"]):
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = h(b"\x01" + pe + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = h(b"\x01" + r + pe)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r.hex() == p["root_hash"]


def verify_consistency(p):
    first, second = p["first"], p["second"]
    first_hash, second_hash = bytes.fromhex(p["first_root"]), bytes.fromhex(p["second_root"])
    path = [bytes.fromhex(x) for x in p["proof"]]
    if first == second:
        return not path and first_hash == second_hash
    if first == 0 or first > second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash] + path
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = h(b"\x01" + c + fr)
            sr = h(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = h(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    proof = json.load(open(path))
    ok = verify_inclusion(proof) if kind == "inclusion" else verify_consistency(proof)
    print("VERIFIED" if ok else "FAILED")
    sys.exit(0 if ok else 1)
