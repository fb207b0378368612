#!/usr/bin/env bash
# Installs the Debian packages contract-indexer needs, when missing.
# As root it runs apt-get; otherwise it names what to install and fails.
set -euo pipefail

PACKAGES=(
  tesseract-ocr tesseract-ocr-eng poppler-utils  # page OCR and PDF rendering
  maven                                          # fetches the Elasticsearch test distribution once
  fonts-dejavu-core fonts-liberation             # printed text of generated test pages
  fonts-dkg-handwriting fonts-breip fonts-femkeklaver fonts-humor-sans  # handwriting fonts (pages and HTR)
  fonts-bwht fonts-dancingscript fonts-kristi fonts-ecolier-court fonts-rufscript  # more hands (HTR)
  fonts-comic-neue fonts-kaushanscript fonts-yusei-magic fonts-klee fonts-seto fonts-havana
  chromium chromium-driver                       # the review page's browser test (headless, Selenium)
  redis-server                                   # the queue's tests (INDEXER_QUEUE__URL); make run needs none
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "contract-indexer needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
