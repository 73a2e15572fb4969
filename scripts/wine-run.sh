#!/usr/bin/env bash
# Runs a Windows executable under Wine, headless and quiet: the emulator of the
# Windows build's tests (cmake/mingw-w64.cmake). The Wine prefix is
# $SYNGUARD_WINEPREFIX (scripts/build-windows.sh: build-windows/wineprefix), else
# a temporary one. Without Wine the run is skipped (exit 77, ctest's
# SKIP_RETURN_CODE) — except with CI=true, where it fails.
set -euo pipefail
# SYNGUARD_WINE names the wine64 binary (set empty: behave as without Wine).
if [ -n "${SYNGUARD_WINE+set}" ]; then
  wine=$SYNGUARD_WINE
else
  wine=$(command -v wine64 || true)
  [ -n "$wine" ] || { [ -x /usr/lib/wine/wine64 ] && wine=/usr/lib/wine/wine64; } || true
fi
if [ -z "$wine" ] || [ ! -x "$wine" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "wine-run: wine64 not found (apt-get install wine64); CI=true, failing" >&2
    exit 1
  fi
  echo "wine-run: wine64 not found; skipping $1" >&2
  exit 77
fi
# --stop-prefix: stops the wineserver of $SYNGUARD_WINEPREFIX (a test's own
# prefix, tests/windows/lib.sh, before it removes it).
if [ "${1:-}" = --stop-prefix ]; then
  [ -z "${SYNGUARD_WINEPREFIX:-}" ] ||
    WINEPREFIX="$SYNGUARD_WINEPREFIX" "$(dirname "$wine")/wineserver" -k 2>/dev/null || true
  exit 0
fi
export WINEDEBUG=-all
if [ -n "${SYNGUARD_WINEPREFIX:-}" ]; then
  export WINEPREFIX="$SYNGUARD_WINEPREFIX"
else
  WINEPREFIX=$(mktemp -d /tmp/sg-wine.XXXXXX)
  export WINEPREFIX
  # The prefix's wineserver lingers a few seconds after the last process.
  trap '"$(dirname "$wine")/wineserver" -k 2>/dev/null || true; rm -rf "$WINEPREFIX"' EXIT
fi
# No desktop, no crash dialogs.
export DISPLAY=
"$wine" "$@"
