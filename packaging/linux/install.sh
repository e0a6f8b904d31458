#!/bin/sh
# Install ColorCore Studio for the current user, no root needed: the app folder, an applications-menu
# entry, the icon, and `colorcore-studio` / `colorcore` launchers (symbolic links) in ~/.local/bin.
#
#   ./install.sh               install, or update an earlier install
#   ./install.sh --uninstall   remove everything this script installed
#
# Honours XDG_DATA_HOME (default ~/.local/share). Run it from the unpacked tarball.
set -eu

APP_ID=colorcore-studio
CLI_ID=colorcore
HERE=$(cd "$(dirname "$0")" && pwd)
BUNDLE=$HERE/$APP_ID
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
BIN_DIR=$HOME/.local/bin
APP_DIR=$DATA_HOME/$APP_ID
DESKTOP_FILE=$DATA_HOME/applications/$APP_ID.desktop
ICON_THEME=$DATA_HOME/icons/hicolor
ICON_SIZES="16 24 32 48 64 128 256 512"

refresh_caches() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA_HOME/applications" 2>/dev/null || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICON_THEME" 2>/dev/null || true
}

remove_link() {
    # remove a launcher only if it is our symbolic link
    if [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]; then rm -f "$1"; fi
}

uninstall() {
    remove_link "$BIN_DIR/$APP_ID" "$APP_DIR/$APP_ID"
    remove_link "$BIN_DIR/$CLI_ID" "$APP_DIR/$CLI_ID"
    rm -f "$DESKTOP_FILE"
    for size in $ICON_SIZES; do rm -f "$ICON_THEME/${size}x${size}/apps/$APP_ID.png"; done
    rm -rf "$APP_DIR"
    refresh_caches
    echo "ColorCore Studio removed from $APP_DIR"
}

install() {
    if [ ! -x "$BUNDLE/$APP_ID" ]; then
        echo "install.sh: $BUNDLE/$APP_ID not found: run this script from the unpacked ColorCore Studio tarball" >&2
        exit 2
    fi
    resources=$BUNDLE/_internal/resources
    [ -d "$resources" ] || resources=$BUNDLE/resources
    mkdir -p "$DATA_HOME/applications" "$BIN_DIR"

    # copy next to the old install, then swap, so a failed copy leaves the old one working
    staging=$APP_DIR.new.$$
    rm -rf "$staging"
    cp -R "$BUNDLE" "$staging"
    rm -rf "$APP_DIR"
    mv "$staging" "$APP_DIR"

    for size in $ICON_SIZES; do
        icon=$resources/icons/$APP_ID-$size.png
        if [ -f "$icon" ]; then
            mkdir -p "$ICON_THEME/${size}x${size}/apps"
            cp "$icon" "$ICON_THEME/${size}x${size}/apps/$APP_ID.png"
        fi
    done

    sed -e "s|^Exec=.*|Exec=\"$APP_DIR/$APP_ID\" %F|" \
        -e "s|^TryExec=.*|TryExec=$APP_DIR/$APP_ID|" \
        "$resources/$APP_ID.desktop" > "$DESKTOP_FILE.tmp"
    mv "$DESKTOP_FILE.tmp" "$DESKTOP_FILE"

    ln -sfn "$APP_DIR/$APP_ID" "$BIN_DIR/$APP_ID"
    ln -sfn "$APP_DIR/$CLI_ID" "$BIN_DIR/$CLI_ID"
    refresh_caches

    echo "ColorCore Studio installed in $APP_DIR"
    echo "  menu entry: $DESKTOP_FILE"
    echo "  launchers:  $BIN_DIR/$APP_ID, $BIN_DIR/$CLI_ID"
    case ":$PATH:" in
        *":$BIN_DIR:"*) ;;
        *) echo "  note: $BIN_DIR is not on your PATH; start the app from the applications menu or add it" ;;
    esac
    echo "Check it with: $APP_ID --self-test"
}

case "${1:-}" in
    --uninstall) uninstall ;;
    "") install ;;
    *) echo "usage: $0 [--uninstall]" >&2; exit 2 ;;
esac
