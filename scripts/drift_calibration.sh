#!/usr/bin/env bash
# Re-makes the input-drift calibration table of the README ("Reading the drift view"): simulated recordings of
# users the demo model never saw (6 users x 5 minutes each), with and without sensor changes, through
# `har-monitor drift` with the demo model and its baseline. Prints, per scenario, how many 150-window chunks raised
# input drift and each chunk's measurements (`input_checks`). Needs cargo and python3 (standard library only).
set -euo pipefail
cd "$(dirname "$0")/.."
# HAR_MONITOR_BIN=path/to/har-monitor uses that build instead of a fresh release build (same results, slower).
if [[ -n "${HAR_MONITOR_BIN:-}" ]]; then
  bin=$HAR_MONITOR_BIN
else
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/har-monitor
fi
out=${CARGO_TARGET_DIR:-target}/drift-calibration
mkdir -p "$out"

scenario() {
  local name=$1; shift
  "$bin" simulate --users 6 --minutes-per-user 5 --unlabeled --out "$out/$name.csv" "$@" >/dev/null
  "$bin" drift --data "$out/$name.csv" --out "$out/$name.json" >/dev/null 2>&1
}
scenario clean1 --seed 5 --first-user 201
scenario clean2 --seed 7 --first-user 301
scenario clean3 --seed 9 --first-user 401
scenario mix_smoking --seed 5 --first-user 201 --class-weights smoking=5,sitting=0,standing=0
scenario mix_tapping --seed 6 --first-user 211 --class-weights sitting=0,standing=0,smoking=0,hand_tapping=4
scenario mix_static --seed 8 --first-user 221 --class-weights sitting=6,standing=6
for deg in 30 -45 60 90; do scenario "rotate_$deg" --seed 5 --first-user 201 --rotate-deg "$deg"; done
scenario units_g --seed 5 --first-user 201 --accel-unit g
scenario units_milli_g --seed 5 --first-user 201 --accel-unit milli-g
scenario units_g_from_minute_2 --seed 5 --first-user 201 --accel-unit g --drift-after-min 2
for x in 2 3; do scenario "noise_x$x" --seed 5 --first-user 201 --noise-scale "$x"; done
for b in 2 3 5; do scenario "gyro_bias_$b" --seed 5 --first-user 201 --gyro-bias "$b"; done
"$bin" drift --data data/demo/production_drift.csv --out "$out/demo_production_drift.json" >/dev/null 2>&1

python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for path in sorted(out.glob("*.json"), key=lambda p: p.stat().st_mtime):
    chunks = json.loads(path.read_text())["chunks"]
    judged = [c for c in chunks if c["windows"] >= 30]
    print(f"{path.stem}: input drift in {sum(c['input_drift'] for c in judged)} / {len(judged)} chunks")
    for c in chunks:
        e = c["input_checks"]
        r = e.get("rotation") or {}
        offset = e.get("gyro_offset")
        size = sum(v * v for v in offset) ** 0.5 if offset else float("nan")
        print(f"  {c['start_window']:>5}  scale x{e.get('accel_scale') or float('nan'):.3f}"
              f"  off-scale {100 * (e.get('accel_off_scale_share') or 0):.0f}%"
              f"  rotation {r.get('angle_deg', float('nan')):+.0f} deg ({r.get('mismatch_deg', float('nan')):.1f}"
              f" -> {r.get('mismatch_undone_deg', float('nan')):.1f})"
              f"  noise x{e.get('accel_noise_ratio') or float('nan'):.2f} / x{e.get('gyro_noise_ratio') or float('nan'):.2f}"
              f"  gyro offset {size:.2f} (limit {e.get('gyro_offset_threshold') or float('nan'):.2f})"
              f"  JS {c['js_distance']:.2f}  fired {','.join(e['fired']) or '-'}")
PY
