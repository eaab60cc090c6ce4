#!/usr/bin/env bash
# Renders the app icon (har-monitor.svg, the source) to the PNG the window, the .desktop entry and the packages
# use. Needs ImageMagick; the PNG is committed, so building never needs it.
set -euo pipefail
cd "$(dirname "$0")"
convert -background none -density 96 har-monitor.svg -resize 256x256 -depth 8 har-monitor-256.png
