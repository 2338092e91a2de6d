#!/usr/bin/env bash
# Installs apprun for the composite action (action.yml), in three steps:
#   locate  find apprun's source and a digest of it (the build cache key)
#   build   cargo install it into the cached folder
#   path    put that folder's bin/ on PATH
# Inputs arrive as environment variables, never spliced into the script.
set -euo pipefail

locate() {
  local source=${APPRUN_SOURCE:-}
  if [ -z "$source" ]; then
    # The action lives in <apprun>/ci/github.
    source="$GITHUB_ACTION_PATH/../.."
  fi
  source=$(cd "$source" && pwd)
  if ! grep -qs '^name = "apprun"' "$source/Cargo.toml"; then
    echo "::error title=apprun source not found::$source is not apprun's source tree (no Cargo.toml of the package apprun). Set the action's 'source' input, or 'install: false' with apprun on PATH."
    exit 1
  fi
  local digest
  digest=$(
    cd "$source"
    {
      rustc --version 2>/dev/null || true
      find Cargo.toml Cargo.lock src schema engine state -type f \
        -not -path '*/tests/*' -not -path '*/benches/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-24
  )
  {
    echo "source=$source"
    echo "digest=$digest"
    echo "root=$RUNNER_TEMP/apprun-$digest"
  } >>"$GITHUB_OUTPUT"
}

build() {
  if command -v rustup >/dev/null; then
    rustup toolchain install stable --profile minimal --no-self-update
    rustup default stable
  fi
  cargo install --locked --path "$APPRUN_SOURCE" --root "$APPRUN_ROOT"
}

path() {
  "$APPRUN_ROOT/bin/apprun" --version
  echo "$APPRUN_ROOT/bin" >>"$GITHUB_PATH"
}

case "${1:-}" in
  locate) locate ;;
  build) build ;;
  path) path ;;
  *)
    echo "usage: install.sh locate|build|path" >&2
    exit 1
    ;;
esac
