#!/usr/bin/env bash
# Wrap the one-folder build into the Linux downloads:
#   dist/colorcore-studio-VERSION-linux-ARCH.tar.gz   the bundle + install.sh (user-local install)
#   dist/ColorCore_Studio-VERSION-ARCH.AppImage       only where appimagetool is on PATH
#
# Usage: packaging/linux/package.sh [BUNDLE_DIR [OUT_DIR]]
#   BUNDLE_DIR defaults to dist/colorcore-studio (made by `python packaging/build.py`), OUT_DIR to dist/.
set -euo pipefail

APP_ID=colorcore-studio
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUNDLE=$(cd "${1:-$ROOT/dist/$APP_ID}" 2>/dev/null && pwd) || {
    echo "package.sh: no one-folder build at ${1:-$ROOT/dist/$APP_ID}: run python packaging/build.py first" >&2
    exit 2
}
OUT=${2:-$ROOT/dist}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/colorcore/__init__.py")
ARCH=$(uname -m)
NAME=$APP_ID-$VERSION-linux-$ARCH
APPIMAGE=$OUT/ColorCore_Studio-$VERSION-$ARCH.AppImage

if [ ! -x "$BUNDLE/$APP_ID" ]; then
    echo "package.sh: $BUNDLE has no $APP_ID executable: run python packaging/build.py first" >&2
    exit 2
fi
mkdir -p "$OUT"
STAGE=$(mktemp -d "$OUT/.package.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# hard links when possible: the bundle can be several GB
copy_tree() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }

# --- tarball with install.sh ---
mkdir "$STAGE/$NAME"
copy_tree "$BUNDLE" "$STAGE/$NAME/$APP_ID"
cp "$ROOT/packaging/linux/install.sh" "$STAGE/$NAME/install.sh"
chmod +x "$STAGE/$NAME/install.sh"
if command -v pigz >/dev/null 2>&1; then COMPRESSOR=pigz; else COMPRESSOR=gzip; fi
tar -C "$STAGE" -cf - "$NAME" | "$COMPRESSOR" -6 > "$OUT/$NAME.tar.gz.part"
mv "$OUT/$NAME.tar.gz.part" "$OUT/$NAME.tar.gz"
echo "tarball: $OUT/$NAME.tar.gz ($(du -h "$OUT/$NAME.tar.gz" | cut -f1))"

# --- AppImage ---
if ! command -v appimagetool >/dev/null 2>&1; then
    echo "AppImage skipped: appimagetool is not on PATH (Debian/Ubuntu do not package it; get it from"
    echo "  https://github.com/AppImage/appimagetool/releases, chmod +x, put it on PATH and run this again)"
    exit 0
fi
APPDIR=$STAGE/ColorCore_Studio.AppDir
RESOURCES=$BUNDLE/_internal/resources
mkdir -p "$APPDIR/usr/lib"
copy_tree "$BUNDLE" "$APPDIR/usr/lib/$APP_ID"
cp "$RESOURCES/$APP_ID.desktop" "$APPDIR/$APP_ID.desktop"
cp "$RESOURCES/icons/$APP_ID-256.png" "$APPDIR/$APP_ID.png"
ln -s "$APP_ID.png" "$APPDIR/.DirIcon"
cat > "$APPDIR/AppRun" <<'APPRUN'
#!/bin/sh
# AppImage entry: the desktop app, or the command line with --cli (e.g. `./ColorCore_Studio.AppImage --cli info`)
HERE=$(dirname "$(readlink -f "$0")")
if [ "${1:-}" = "--cli" ]; then
    shift
    exec "$HERE/usr/lib/colorcore-studio/colorcore" "$@"
fi
exec "$HERE/usr/lib/colorcore-studio/colorcore-studio" "$@"
APPRUN
chmod +x "$APPDIR/AppRun"
ARCH=$ARCH appimagetool --no-appstream "$APPDIR" "$APPIMAGE.part"
mv "$APPIMAGE.part" "$APPIMAGE"
echo "AppImage: $APPIMAGE ($(du -h "$APPIMAGE" | cut -f1))"
