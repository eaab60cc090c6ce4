#!/usr/bin/env bash
# Validates the label-free performance estimate (CBPE) of `har-monitor drift` against the realised accuracy, and
# re-makes the table of the README ("Reading the drift view", *Estimated accuracy*).
#
#   scripts/cbpe_validation.sh [--model M.onnx] [--temperature T]...
#
# Simulated, labeled recordings of users the model never saw (6 users x 5 minutes, about 900 windows, 6 chunks of
# 150 each) with known shifts: other behaviour mixes (covariate shift: where the estimate should hold), more sensor
# noise, a gyroscope bias, the watch turned 30 and 60 degrees (where it should not). The baseline is built from a
# separate labeled recording of 8 other unseen users (the reference calibration is measured there), then `drift`
# runs on every file. Prints per scenario and chunk the realised and the estimated accuracy with its band, and a
# summary: mean absolute error (points), share of chunks whose realised accuracy lies in the 95 % band, share
# flagged untrusted (and why). Each --temperature T repeats everything with a copy of the model card that has
# `"temperature": T` (the probabilities are then softmax(logits / T)).
#
# HAR_MONITOR_BIN=path/to/har-monitor uses that build instead of building a release one. Needs python3 (standard
# library only). Files go to ${CARGO_TARGET_DIR:-target}/cbpe-validation (simulated afresh on every run: a file kept
# from an earlier build of the simulator would silently measure the old one).
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/demo/demo-1dcnn-bilstm.onnx
temperatures=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) model=$2; shift 2 ;;
    --temperature) temperatures+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--model M.onnx] [--temperature T]..." >&2; exit 2 ;;
  esac
done
if [[ -n ${HAR_MONITOR_BIN:-} ]]; then
  bin=$HAR_MONITOR_BIN
else
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/har-monitor
fi
out=${CARGO_TARGET_DIR:-target}/cbpe-validation
rm -rf "$out/data"
mkdir -p "$out/data"

simulate() {
  local name=$1; shift
  "$bin" simulate --out "$out/data/$name.csv" "$@" >/dev/null
}
simulate reference --users 8 --minutes-per-user 5 --seed 21 --first-user 601
scenarios=(clean_a clean_b mix_smoking mix_static mix_tapping noise_x2 noise_x3 gyro_bias_3 rotate_30 rotate_60)
common=(--users 6 --minutes-per-user 5)
simulate clean_a "${common[@]}" --seed 5 --first-user 201
simulate clean_b "${common[@]}" --seed 7 --first-user 301
simulate mix_smoking "${common[@]}" --seed 5 --first-user 201 --class-weights smoking=5,sitting=0,standing=0
simulate mix_static "${common[@]}" --seed 8 --first-user 221 --class-weights sitting=6,standing=6
simulate mix_tapping "${common[@]}" --seed 6 --first-user 211 \
  --class-weights sitting=0,standing=0,smoking=0,hand_tapping=4
simulate noise_x2 "${common[@]}" --seed 5 --first-user 201 --noise-scale 2
simulate noise_x3 "${common[@]}" --seed 5 --first-user 201 --noise-scale 3
simulate gyro_bias_3 "${common[@]}" --seed 5 --first-user 201 --gyro-bias 3
simulate rotate_30 "${common[@]}" --seed 5 --first-user 201 --rotate-deg 30
simulate rotate_60 "${common[@]}" --seed 5 --first-user 201 --rotate-deg 60

# One pass: baseline from the reference, drift on every scenario, the table.
validate() {
  local label=$1 m=$2 dir=$out/$1
  mkdir -p "$dir"
  echo "== $label ($m)"
  "$bin" baseline --model "$m" --data "$out/data/reference.csv" --out "$dir/baseline.json" 2>"$dir/baseline.log" \
    | grep -E '^(reference performance|the reference data has no labels)' || { cat "$dir/baseline.log"; exit 1; }
  for s in "${scenarios[@]}"; do
    "$bin" drift --model "$m" --baseline "$dir/baseline.json" --data "$out/data/$s.csv" --out "$dir/$s.json" \
      >/dev/null 2>"$dir/$s.log" || { cat "$dir/$s.log"; exit 1; }
  done
  python3 - "$dir" "${scenarios[@]}" <<'PY'
import json, pathlib, sys
from collections import Counter
dir, names = pathlib.Path(sys.argv[1]), sys.argv[2:]
rows = []
by_trust = {True: [], False: []}
for name in names:
    chunks = [c for c in json.loads((dir / f"{name}.json").read_text())["chunks"] if c["windows"] >= 30]
    print(f"{name}:")
    errors, inside, untrusted, reasons, realised, estimated, f1_errors = [], 0, 0, Counter(), [], [], []
    for c in chunks:
        p = c["performance"]
        r, e = p["realised_accuracy"], p["estimated_accuracy"]
        errors.append(abs(e - r))
        f1_errors.append(abs(p["estimated_macro_f1"] - p["realised_macro_f1"]))
        realised.append(r)
        estimated.append(e)
        inside += p["accuracy_lower"] <= r <= p["accuracy_upper"]
        untrusted += not p["trusted"]
        by_trust[p["trusted"]].append(abs(e - r))
        reasons.update(p["untrusted_because"])
        print(f"  windows {c['start_window']:>4}-{c['start_window'] + c['windows'] - 1:<4} realised {r:.3f}"
              f"  estimated {e:.3f} ({p['accuracy_lower']:.3f}-{p['accuracy_upper']:.3f})"
              f"  macro-F1 {p['realised_macro_f1']:.3f} vs {p['estimated_macro_f1']:.3f}"
              f"  {'trusted' if p['trusted'] else 'untrusted: ' + ', '.join(p['untrusted_because'])}")
    n = len(chunks)
    rows.append((name, n, min(realised), max(realised), min(estimated), max(estimated),
                 100 * sum(errors) / n, 100 * sum(f1_errors) / n, inside, untrusted,
                 ", ".join(f"{k} {v}" for k, v in reasons.most_common())))
print()
print("| scenario | chunks | realised accuracy | estimated accuracy | MAE (points) | macro-F1 MAE (points) "
      "| realised in the 95 % band | untrusted (why) |")
print("|---|---|---|---|---|---|---|---|")
for (name, n, r0, r1, e0, e1, mae, f1_mae, inside, untrusted, why) in rows:
    print(f"| {name} | {n} | {r0:.2f}–{r1:.2f} | {e0:.2f}–{e1:.2f} | {mae:.1f} | {f1_mae:.1f} | {inside}/{n} "
          f"| {untrusted}/{n}{' (' + why + ')' if why else ''} |")
print()
for trusted, errors in by_trust.items():
    if errors:
        print(f"{'trusted' if trusted else 'untrusted'} chunks: {len(errors)}, MAE {100 * sum(errors) / len(errors):.1f} "
              f"points, largest error {100 * max(errors):.1f}")
PY
}

validate as_is "$model"
card=${model%.onnx}.model.json
for t in "${temperatures[@]}"; do
  copy=$out/model_t$t
  mkdir -p "$copy"
  cp "$model" "$copy/model.onnx"
  python3 - "$card" "$copy/model.model.json" "$t" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
card["temperature"] = float(sys.argv[3])
card.pop("baseline", None)
json.dump(card, open(sys.argv[2], "w"), indent=2)
PY
  validate "temperature_$t" "$copy/model.onnx"
done
