#!/usr/bin/env bash
# Builds the installable packages from a checkout into target/dist/ (docs/FORMATS.md §11):
#   har-monitor-<version>-x86_64-unknown-linux-gnu.tar.gz   the app, ONNX Runtime beside it, the demo, licences
#   har-monitor_<version>-1_amd64.deb                        the same files in the usual places (cargo-deb)
#   <each>.sha256                                           its SHA-256, as `sha256sum -c` reads it
#
# usage: dist/build.sh [--profile dist|release|dev] [--no-build] [--out DIR] [--no-deb] [--fast]
#   --profile  the cargo profile to build (default: dist — fat LTO, one codegen unit, stripped; ~20 min on 2 cores).
#   --no-build package the profile's binary as it is (the tests package their dev build: `--profile dev --no-build`;
#              the layout is what they check)
#   --out      where the packages go (default: target/dist)
#   --no-deb   only the archive
#   --fast     faster, larger compression of the .deb (tests)
# Needs: cargo, python3 with pip (to download the pinned onnxruntime wheel from PyPI once; cached in
# target/dist/cache), tar, sha256sum; for the .deb, cargo-deb (installed into target/dist/tools when missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

profile=dist
out="$root/target/dist"
deb=1
build=1
fast=()
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-deb) deb=0; shift ;;
    --no-build) build=0; shift ;;
    --fast) fast=(--fast); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "dist/build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
ort="$(sed -n 's/^pub const ORT_VERSION: &str = "\(.*\)";/\1/p' src/model/runtime.rs)"
triple=x86_64-unknown-linux-gnu
[ -n "$version" ] && [ -n "$ort" ] || { echo "dist/build.sh: cannot read the version or ORT_VERSION" >&2; exit 1; }
case "$profile" in dev) profile_dir=debug ;; *) profile_dir="$profile" ;; esac
target_dir="${CARGO_TARGET_DIR:-$root/target}"
binary="$target_dir/$profile_dir/har-monitor"
cache="$root/target/dist/cache"
mkdir -p "$out" "$cache"

echo "== har-monitor $version, ONNX Runtime $ort, profile $profile"
[ "$build" = 1 ] && cargo build --profile "$profile" --bin har-monitor
[ -x "$binary" ] || { echo "dist/build.sh: the build left no $binary" >&2; exit 1; }

# ONNX Runtime: the library and its licences from the pinned manylinux wheel (the same file the app fetches).
wheel="$(ls "$cache"/onnxruntime-"$ort"-*manylinux*x86_64*.whl 2>/dev/null | head -1 || true)"
if [ -z "$wheel" ]; then
  python3 -m pip download --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 "onnxruntime==$ort" -d "$cache" >/dev/null
  wheel="$(ls "$cache"/onnxruntime-"$ort"-*manylinux*x86_64*.whl | head -1)"
fi
ort_dir="$cache/onnxruntime-$ort"
rm -rf "$ort_dir" && mkdir -p "$ort_dir"
python3 - "$wheel" "$ort_dir" "$ort" <<'PY'
import sys, zipfile
wheel, dest, ort = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for entry, name in [(f"onnxruntime/capi/libonnxruntime.so.{ort}", f"libonnxruntime.so.{ort}"),
                        ("onnxruntime/LICENSE", "LICENSE"),
                        ("onnxruntime/ThirdPartyNotices.txt", "ThirdPartyNotices.txt")]:
        with z.open(entry) as src, open(f"{dest}/{name}", "wb") as dst:
            dst.write(src.read())
PY

# The fonts built into the binary: ours (DejaVu, for the report PNGs) and egui's defaults.
fonts_src="$(cargo metadata --format-version 1 --filter-platform x86_64-unknown-linux-gnu 2>/dev/null | python3 -c '
import json, sys, os
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "epaint_default_fonts":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "fonts"))
        break')"

name="har-monitor-$version-$triple"
stage="$out/stage/$name"
rm -rf "$out/stage" && mkdir -p "$stage"/{models/demo,data/demo,share,licenses/fonts}
install -m 0755 "$binary" "$stage/har-monitor"
strip --strip-all "$stage/har-monitor" 2>/dev/null || true
install -m 0644 "$ort_dir/libonnxruntime.so.$ort" "$stage/"
install -m 0644 models/demo/demo-1dcnn-bilstm.onnx models/demo/demo-1dcnn-bilstm.model.json \
  models/demo/demo-1dcnn-bilstm.baseline.json models/demo/TRAINING.md "$stage/models/demo/"
install -m 0644 data/demo/*.csv data/demo/README.md "$stage/data/demo/"
install -m 0644 dist/icons/har-monitor-256.png "$stage/share/har-monitor.png"
install -m 0644 dist/linux/har-monitor.desktop "$stage/share/har-monitor.desktop"
install -m 0644 LICENSE "$stage/LICENSE"
install -m 0644 "$ort_dir/LICENSE" "$stage/licenses/ONNXRUNTIME-LICENSE.txt"
install -m 0644 "$ort_dir/ThirdPartyNotices.txt" "$stage/licenses/ONNXRUNTIME-ThirdPartyNotices.txt"
install -m 0644 assets/fonts/LICENSE-DejaVu.txt "$stage/licenses/fonts/"
if [ -n "$fonts_src" ] && [ -d "$fonts_src" ]; then
  for f in OFL.txt UFL.txt Hack-Regular.txt emoji-icon-font-mit-license.txt egui-icons.txt; do
    case "$f" in egui-*) dest="$f" ;; *) dest="egui-$f" ;; esac
    [ -f "$fonts_src/$f" ] && install -m 0644 "$fonts_src/$f" "$stage/licenses/fonts/$dest"
  done
fi
sed -e "s/@VERSION@/$version/g" -e "s/@ORT@/$ort/g" dist/linux/README.txt > "$stage/README.txt"

archive="$out/$name.tar.gz"
tar -C "$out/stage" --owner=0 --group=0 --numeric-owner -czf "$archive" "$name"
(cd "$out" && sha256sum "$(basename "$archive")" > "$(basename "$archive").sha256")
echo "wrote $archive ($(du -h "$archive" | cut -f1)), binary $(du -h "$stage/har-monitor" | cut -f1)"

if [ "$deb" = 1 ]; then
  tools="$root/target/dist/tools"
  cargo_deb="$(command -v cargo-deb || true)"
  if [ -z "$cargo_deb" ] && [ -x "$tools/bin/cargo-deb" ]; then cargo_deb="$tools/bin/cargo-deb"; fi
  if [ -z "$cargo_deb" ]; then
    echo "== installing cargo-deb into $tools (once)"
    cargo install cargo-deb --version 3.8.0 --locked --root "$tools" >/dev/null
    cargo_deb="$tools/bin/cargo-deb"
  fi
  # The .deb's assets (Cargo.toml [package.metadata.deb]) take the runtime and licences from here.
  assets="$root/target/dist/deb-assets"
  rm -rf "$assets" && mkdir -p "$assets/fonts"
  cp "$ort_dir/libonnxruntime.so.$ort" "$assets/"
  cp "$stage/licenses/ONNXRUNTIME-LICENSE.txt" "$stage/licenses/ONNXRUNTIME-ThirdPartyNotices.txt" "$assets/"
  cp "$stage"/licenses/fonts/* "$assets/fonts/"
  deb_file="$out/har-monitor_${version}-1_amd64.deb"
  "$cargo_deb" --no-build --profile "$profile" "${fast[@]}" --output "$deb_file" >/dev/null
  (cd "$out" && sha256sum "$(basename "$deb_file")" > "$(basename "$deb_file").sha256")
  echo "wrote $deb_file ($(du -h "$deb_file" | cut -f1))"
fi
rm -rf "$out/stage"
