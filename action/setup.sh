#!/usr/bin/env bash
# The install step of the GitHub Action (action.yml): install reconciler, then turn the Action's
# inputs into the environment the plan and apply steps read (written to $GITHUB_ENV).
#
# Inputs (environment): PACKAGE (what pip installs; default: the Action's own checkout, so the
# tool's version is the Action's ref), INPUT_EMULATOR (true: --emulator), INPUT_API_URL,
# INPUT_ARGS (extra plan flags), INPUT_PRUNE (true: --prune), RUNNER_TEMP, GITHUB_ACTION_PATH.
# RECONCILER_SKIP_INSTALL=1 skips pip (tests, or a runner where it is installed already).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${RECONCILER_SKIP_INSTALL:-}" != 1 ]; then
  python -m pip install --quiet --disable-pip-version-check "${PACKAGE:-${GITHUB_ACTION_PATH:-$here}}"
fi
reconciler --version

connect=""
if [ "${INPUT_EMULATOR:-false}" = "true" ]; then connect="--emulator"; fi
if [ -n "${INPUT_API_URL:-}" ]; then connect="${connect:+$connect }--api-url $INPUT_API_URL"; fi
args="${INPUT_ARGS:-}"
if [ "${INPUT_PRUNE:-false}" = "true" ]; then args="${args:+$args }--prune"; fi
{
  echo "RECONCILER_OUT=${RUNNER_TEMP:-/tmp}/reconciler"
  echo "RECONCILER_CONNECT=$connect"
  echo "RECONCILER_ARGS=$args"
} >>"${GITHUB_ENV:-/dev/null}"
