#!/usr/bin/env bash
# Wrap the macOS app bundle (dist/ColorCore Studio.app, made by `python packaging/build.py` on a Mac)
# into a drag-to-Applications disk image: dist/ColorCore-Studio-VERSION-macos-ARCH.dmg.
#
# Uses create-dmg (`brew install create-dmg`) for a laid-out window when it is installed, otherwise
# plain hdiutil (part of macOS). Optional signing: set CODESIGN_IDENTITY="Developer ID Application: ..."
# to sign the .app before it goes into the image (notarise the .dmg afterwards with `xcrun notarytool`).
#
# Usage: packaging/macos/make_dmg.sh [APP_PATH [OUT_DIR]]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP=${1:-$ROOT/dist/ColorCore Studio.app}
OUT=${2:-$ROOT/dist}
VOLUME="ColorCore Studio"
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/colorcore/__init__.py")
DMG=$OUT/ColorCore-Studio-$VERSION-macos-$(uname -m).dmg

if [ "$(uname -s)" != "Darwin" ]; then
    echo "make_dmg.sh: disk images are built on macOS (hdiutil); this is $(uname -s)" >&2
    exit 2
fi
if [ ! -d "$APP" ]; then
    echo "make_dmg.sh: no app bundle at $APP: run python packaging/build.py on this Mac first" >&2
    exit 2
fi
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
fi

mkdir -p "$OUT"
rm -f "$DMG"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"

if command -v create-dmg >/dev/null 2>&1; then
    create-dmg --volname "$VOLUME" \
        --volicon "$ROOT/resources/icons/colorcore-studio.icns" \
        --window-size 560 340 --icon-size 112 \
        --icon "$(basename "$APP")" 140 150 \
        --app-drop-link 420 150 \
        --hide-extension "$(basename "$APP")" \
        "$DMG" "$STAGE"
else
    ln -s /Applications "$STAGE/Applications"
    hdiutil create -volname "$VOLUME" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
fi
echo "disk image: $DMG ($(du -h "$DMG" | cut -f1))"
