#!/bin/sh
# Renders a run's frontier.svg, exposure.svg and sensitivity.svg (when present) to PNG
# beside them, so that a person can look at them: scripts/render-plots.sh output/sif-sweep
# Needs rsvg-convert (Debian: librsvg2-bin).
set -eu
dir=${1:?usage: render-plots.sh OUTPUT_DIR}
command -v rsvg-convert >/dev/null || { echo "rsvg-convert not found: apt-get install librsvg2-bin" >&2; exit 2; }
for name in frontier exposure sensitivity; do
    if [ -f "$dir/$name.svg" ]; then
        rsvg-convert -o "$dir/$name.png" "$dir/$name.svg"
        echo "$dir/$name.png"
    fi
done
