#!/usr/bin/env python3
"""The independent face pipeline banso's face tests and `banso bench face` compare with: OpenCV's
own FaceDetectorYN (YuNet) + FaceRecognizerSF (alignCrop + SFace), on the same model files.

  face_opencv.py scores PAIRS.csv        one line per pair: a,b,cosine (or a,b,noface)
  face_opencv.py bench A B N             N full pair comparisons on one thread, each decoding both files from
                                         bytes in memory (as banso's does); prints p50 and p95 in ms/pair

Models: $BANSO_MODELS_DIR (default ~/.cache/banso-models)/yunet.onnx and sface.onnx.
"""
import os
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
MODELS = os.environ.get("BANSO_MODELS_DIR", os.path.expanduser("~/.cache/banso-models"))
det = cv2.FaceDetectorYN.create(os.path.join(MODELS, "yunet.onnx"), "", (320, 320), 0.9, 0.3, 5000)
rec = cv2.FaceRecognizerSF.create(os.path.join(MODELS, "sface.onnx"), "")


def feature(img):
    h, w = img.shape[:2]
    det.setInputSize((w, h))
    _, faces = det.detect(img)
    if faces is None or len(faces) == 0:
        return None
    face = max(faces, key=lambda f: f[2] * f[3])
    return rec.feature(rec.alignCrop(img, face))


def score(fa, fb):
    return rec.match(fa, fb, cv2.FaceRecognizerSF_FR_COSINE)


def main():
    if sys.argv[1] == "scores":
        base = os.path.dirname(os.path.abspath(sys.argv[2]))
        cache = {}
        for n, line in enumerate(open(sys.argv[2])):
            cols = line.strip().split(",")
            if n == 0 or len(cols) < 3:
                continue
            for p in cols[:2]:
                if p not in cache:
                    cache[p] = feature(cv2.imread(os.path.join(base, p)))
            fa, fb = cache[cols[0]], cache[cols[1]]
            s = "noface" if fa is None or fb is None else f"{score(fa, fb):.6f}"
            print(f"{cols[0]},{cols[1]},{s}")
    elif sys.argv[1] == "bench":
        n = int(sys.argv[4])
        raw = [np.frombuffer(open(p, "rb").read(), np.uint8) for p in sys.argv[2:4]]

        def pair():
            a, b = (cv2.imdecode(r, cv2.IMREAD_COLOR) for r in raw)
            return score(feature(a), feature(b))

        pair()  # warm-up
        ms = []
        for _ in range(n):
            t = time.perf_counter()
            pair()
            ms.append((time.perf_counter() - t) * 1000)
        ms.sort()
        # The same percentile as banso's bench (index (n - 1) * p rounded half up, of the sorted runs).
        print(" ".join(f"{ms[int((len(ms) - 1) * p + 0.5)]:.3f}" for p in (0.5, 0.95)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
