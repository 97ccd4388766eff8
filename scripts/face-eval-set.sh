#!/usr/bin/env bash
# Assembles the face-match evaluation set from photos shipped inside registry packages, and writes
# pairs.csv for `banso id face-eval`. Nothing here is committed: the photos are third-party files
# fetched by package name (PyPI, npm) each time the set is built.
#
#   scripts/face-eval-set.sh OUT_DIR BANSO_BINARY
#
# Sources (identity labels are certain only where stated):
#   - PyPI face_recognition 1.3.0 sdist, tests/test_images/: obama.jpg, obama2.jpg, obama3.jpg,
#     obama_partial_face*.jpg (one person, five photos), biden.jpg.
#   - npm @vladmandic/face-api 1.7.15, demo/sample1..6.jpg: six group photos, 21 faces. Faces in
#     the same photo are different people; faces in different photos may be the same person, so
#     no pair across two of these photos is used.
#   - crates/face/tests/fixtures/astronaut.jpg (scikit-image's astronaut, public domain).
# Every face is cropped (with margin) into faces/, then two variants are made of each crop:
#   chip: what a chip's DG2 holds (grey-free colour, ~240 px, JPEG quality 30, ~10 kB);
#   live: what a kiosk camera gives (darker, 6° roll, sensor noise, JPEG quality 70).
# Pairs (kind column):
#   real       - two different photos of one person (obama: 5 photos → 10 pairs);
#   synthetic  - one photo against its chip/live variants (optimistic: no change of pose or age);
#   impostor   - faces of two people known to be different, every variant combination.
set -euo pipefail

OUT="${1:?usage: face-eval-set.sh OUT_DIR BANSO_BINARY}"
BANSO="${2:?usage: face-eval-set.sh OUT_DIR BANSO_BINARY}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"

if [ -f "$OUT/pairs.csv" ] && [ -f "$OUT/.complete" ]; then
  echo "face evaluation set already in $OUT"
  exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT/src" "$OUT/dl"

"$PY" -c 'import PIL' 2>/dev/null || "$PY" -m pip install -q --disable-pip-version-check pillow

# face_recognition's sdist: only its test photos are used (no build, no install).
"$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  -d "$OUT/dl" face_recognition==1.3.0 2>&1 | grep -v -i "running pip as the 'root' user" || true
tar -xzf "$OUT"/dl/face_recognition-1.3.0.tar.gz -C "$OUT/dl"
for f in obama obama2 obama3 obama_partial_face obama_partial_face2 biden; do
  cp "$OUT/dl/face_recognition-1.3.0/tests/test_images/$f.jpg" "$OUT/src/fr_$f.jpg"
done

(cd "$OUT/dl" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null)
tar -xzf "$OUT"/dl/vladmandic-face-api-1.7.15.tgz -C "$OUT/dl"
for i in 1 2 3 4 5 6; do
  cp "$OUT/dl/package/demo/sample$i.jpg" "$OUT/src/fa_sample$i.jpg"
done
cp "$ROOT/crates/face/tests/fixtures/astronaut.jpg" "$OUT/src/sk_astronaut.jpg"

"$BANSO" id face-detect --json "$OUT"/src/*.jpg > "$OUT/detections.json"

OUT="$OUT" "$PY" - <<'PY'
import itertools, json, os, random
from PIL import Image, ImageEnhance, ImageFilter

out = os.environ["OUT"]
faces_dir = os.path.join(out, "faces")
os.makedirs(faces_dir, exist_ok=True)
rng = random.Random(20261121)

def identity(src, k):
    base = os.path.basename(src)[:-4]
    if base.startswith("fr_obama"):
        return "obama", "single"
    if base == "fr_biden":
        return "biden", "single"
    if base == "sk_astronaut":
        return "collins", "single"
    return f"{base}_face{k}", base  # group photo: a person of its own, known only within the photo

faces = []  # (name, identity, group)
for entry in json.load(open(os.path.join(out, "detections.json"))):
    src = entry["file"]
    found = sorted(entry["faces"], key=lambda f: f["box"][0])
    if not found:
        print(f"no face in {src}: left out")
        continue
    if not os.path.basename(src).startswith("fa_"):
        found = [max(found, key=lambda f: f["box"][2] * f["box"][3])]
    img = Image.open(src).convert("RGB")
    for k, f in enumerate(found):
        x, y, w, h = f["box"]
        m = 0.6 * max(w, h)
        box = (max(0, int(x - m)), max(0, int(y - m)), min(img.width, int(x + w + m)), min(img.height, int(y + h + m)))
        crop = img.crop(box)
        ident, group = identity(src, k)
        name = f"{os.path.basename(src)[:-4]}_{k}"
        crop.save(os.path.join(faces_dir, name + ".jpg"), quality=95)
        # chip: a DG2-like portrait, ~240 px wide, heavily compressed.
        chip = crop.copy()
        chip.thumbnail((240, 320))
        chip.save(os.path.join(faces_dir, name + "_chip.jpg"), quality=30)
        # live: kiosk camera: darker, a little roll, sensor noise, moderate compression.
        live = ImageEnhance.Brightness(crop).enhance(0.75)
        live = live.rotate(6, resample=Image.BILINEAR, expand=False)
        noise = Image.effect_noise(live.size, 18).convert("RGB")
        live = Image.blend(live, noise, 0.08).filter(ImageFilter.GaussianBlur(0.8))
        live.save(os.path.join(faces_dir, name + "_live.jpg"), quality=70)
        faces.append((name, ident, group))

variants = ["", "_chip", "_live"]
rows = []
# real genuine: different photos of the same person (originals and chip-vs-live)
by_ident = {}
for name, ident, _ in faces:
    by_ident.setdefault(ident, []).append(name)
for ident, names in sorted(by_ident.items()):
    for a, b in itertools.combinations(sorted(names), 2):
        rows.append((f"faces/{a}.jpg", f"faces/{b}.jpg", 1, "real"))
        rows.append((f"faces/{a}_chip.jpg", f"faces/{b}_live.jpg", 1, "real"))
# synthetic genuine: one photo against its own variants
for name, _, _ in faces:
    for a, b in [("", "_chip"), ("", "_live"), ("_chip", "_live")]:
        rows.append((f"faces/{name}{a}.jpg", f"faces/{name}{b}.jpg", 1, "synthetic"))
# impostors: people known to differ
def known_different(f1, f2):
    (_, i1, g1), (_, i2, g2) = f1, f2
    if i1 == i2:
        return False
    if g1.startswith("fa_") and g2.startswith("fa_"):
        return g1 == g2  # only within one group photo
    return True
for f1, f2 in itertools.combinations(faces, 2):
    if known_different(f1, f2):
        for v1 in variants:
            for v2 in variants:
                rows.append((f"faces/{f1[0]}{v1}.jpg", f"faces/{f2[0]}{v2}.jpg", 0, "impostor"))

with open(os.path.join(out, "pairs.csv"), "w") as fh:
    fh.write("a,b,same,kind\n")
    for r in rows:
        fh.write(",".join(map(str, r)) + "\n")
kinds = {}
for r in rows:
    kinds[r[3]] = kinds.get(r[3], 0) + 1
print(f"{len(faces)} faces of {len(by_ident)} people; pairs: {kinds}")
PY
touch "$OUT/.complete"
