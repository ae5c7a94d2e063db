#!/usr/bin/env bash
# Installs the Debian packages CarePipe's engines and tests use, when missing and allowed
# (root or passwordless sudo). `--runtime` installs only what `carepipe up` needs.
set -euo pipefail

RUNTIME=(tesseract-ocr tesseract-ocr-eng)
# Fonts: the OCR corpus is rendered by Chromium in these (make bench; scripts/make_ocr_corpus.py).
TEST=(espeak-ng sox chromium prometheus fonts-dejavu-core fonts-liberation fonts-freefont-ttf
      fonts-crosextra-carlito fonts-crosextra-caladea fonts-noto-mono
      # PostgreSQL backups (docs/backups.md): pgBackRest, and a server for throwaway test clusters.
      pgbackrest postgresql-15)

want=("${RUNTIME[@]}")
if [[ "${1:-}" != "--runtime" ]]; then
  want+=("${TEST[@]}")
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "missing Debian packages (install them, or run as root): ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
