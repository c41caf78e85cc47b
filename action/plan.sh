#!/usr/bin/env bash
# The plan step of the GitHub Action (action.yml) and the GitLab template: plan once, save it.
#
# Runs `reconciler plan PATHS --out plan.json --format markdown --detailed-exitcode` and writes,
# into $RECONCILER_OUT (default ./reconciler-out):
#   plan.json        the saved plan (what apply on merge carries out: `apply --plan plan.json`)
#   plan.md          the plan as markdown;  plan.html when this version can render it
#   plan.stderr      what the plan printed on stderr (diagnostics, notes, errors)
#   manifests.sha256 the digest of the files under PATHS the plan was made from
#   comment.md       the PR/MR comment (or, in drift mode, the issue body), size-safe
#   exitcode         the plan's exit code
# Exit codes are handled exactly: 0 (no changes) and 2 (changes) are plan results and this
# script exits 0; anything else (1 error, 127 command not found, 130 interrupted, 137 killed, ...)
# is a failure and this script exits with it, after writing comment.md saying so.
#
# Inputs (environment): RECONCILER_CONNECT (connection flags for every call: --api-url URL,
# --token-file FILE or --emulator), RECONCILER_PATHS (space-separated, default "."), RECONCILER_ARGS (extra
# plan flags, e.g. --prune), RECONCILER_MODE (plan | drift), RECONCILER_COMMENT_LIMIT (default
# 65536, GitHub's), RECONCILER_ARTIFACT (where the whole plan is, for the comment), the token as
# BRIA_API_TOKEN (or --token-file in RECONCILER_ARGS). GITHUB_OUTPUT and GITHUB_STEP_SUMMARY are
# used when set.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${RECONCILER_OUT:-reconciler-out}"
mode="${RECONCILER_MODE:-plan}"
limit="${RECONCILER_COMMENT_LIMIT:-65536}"
artifact="${RECONCILER_ARTIFACT:-reconciler-plan}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
outputs="${GITHUB_OUTPUT:-/dev/null}"
read -ra paths <<<"${RECONCILER_PATHS:-.}"
read -ra extra <<<"${RECONCILER_ARGS:-}"
read -ra connect <<<"${RECONCILER_CONNECT:-}"
mkdir -p "$out"
rm -f "$out"/plan.json "$out"/plan.md "$out"/plan.html "$out"/comment.md

reconciler plan "${paths[@]}" "${extra[@]}" "${connect[@]}" --out "$out/plan.json" --format markdown \
  --detailed-exitcode >"$out/plan.md" 2>"$out/plan.stderr"
code=$?
cat "$out/plan.stderr" >&2
echo "$code" >"$out/exitcode"
python3 "$here/report.py" digest "${paths[@]}" >"$out/manifests.sha256" 2>/dev/null || true

# The HTML plan, when this version of reconciler renders one (optional: never fails the step).
if [ -f "$out/plan.json" ]; then
  reconciler show "$out/plan.json" --format html >"$out/plan.html" 2>/dev/null || rm -f "$out/plan.html"
fi

where="The whole plan is in the artifact '$artifact' (plan.md, plan.json) and in the job summary."
kind="plan-comment"
[ "$mode" = drift ] && kind="drift-issue"
python3 "$here/report.py" "$kind" --exit-code "$code" --plan-md "$out/plan.md" \
  --stderr "$out/plan.stderr" --limit "$limit" --where "$where" >"$out/comment.md"
# the job summary takes up to 1 MiB (bytes: 900,000 characters leave room for non-ASCII)
python3 "$here/report.py" "$kind" --exit-code "$code" --plan-md "$out/plan.md" \
  --stderr "$out/plan.stderr" --limit 900000 --where "$where" >>"$summary"

case "$code" in
  0) changes=false ;;
  2) changes=true ;;
  *) changes=unknown ;;
esac
{
  echo "exitcode=$code"
  echo "has-changes=$changes"
  echo "out=$out"
} >>"$outputs"

case "$code" in
  0 | 2) exit 0 ;;
  *)
    echo "reconciler plan failed with exit code $code (0 and 2 are plan results)" >&2
    exit "$code"
    ;;
esac
