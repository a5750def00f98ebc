#!/usr/bin/env bash
# The main job: publish coffer (Release, ReadyToRun), package and install the two bundled plugins, create the
# default store if there is none, and back up a directory (default: the current directory) into it.
#
#   ./coffer.sh [DIRECTORY]
#
# The default store lives in $COFFER_DATA_DIR/store (~/.local/share/coffer/store). Its passphrase comes
# from COFFER_PASSPHRASE or a terminal prompt; run unattended without either, the first run generates
# one into $COFFER_CONFIG_DIR/default-store.passphrase (mode 0600) and later runs read it from there.
set -euo pipefail

root=$(cd "$(dirname "$0")" && pwd)
target=$(cd "${1:-.}" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# A ReadyToRun publish: precompiled, coffer starts in about half the time a plain build takes.
dotnet publish "$root/Host/Cli/Coffer.Cli.csproj" -c Release --use-current-runtime -o "$root/Host/Cli/bin/Release/publish" \
  -v quiet -nologo -clp:"ErrorsOnly;NoSummary" >&2
coffer() { dotnet "$root/Host/Cli/bin/Release/publish/coffer.dll" "$@"; }

packages=$(mktemp -d)
trap 'rm -rf "$packages"' EXIT
for plugin in Posix AzBlob; do
  ptar=$(coffer pkg build "$root/Plugins.$plugin" -o "$packages" | tail -n 1)
  coffer pkg add -u --allow-unsigned "$ptar" >&2
done

# 'create' refuses an existing store with one line; anything else is a real error.
if ! created=$(coffer create 2>&1); then
  case "$created" in
    *"already exists"*) ;;
    *) echo "$created" >&2; exit 1 ;;
  esac
else
  echo "$created" >&2
fi

coffer backup "$target"
