#!/usr/bin/env bash
# The apply step of the GitHub Action (action.yml) and the GitLab template, on merge.
#
# Applies the plan the pull request reviewed when it is not stale, else plans again and says why:
#   - $RECONCILER_SAVED/plan.json exists (the PR's plan artifact) and the files under PATHS have
#     the digest the plan was made from ($RECONCILER_SAVED/manifests.sha256): run
#     `reconciler apply --plan plan.json --auto-approve`; if reconciler refuses it as stale (the
#     account changed since), plan again;
#   - otherwise (no reviewed plan, or main has commits the plan did not include): plan again,
#     `reconciler apply PATHS --auto-approve`.
# Writes $RECONCILER_OUT/apply.log, apply-comment.md (the job summary and PR comment: which plan
# was applied and the result) and mode (reviewed | replanned). Exits with reconciler's exit code.
#
# Inputs (environment): RECONCILER_CONNECT (connection flags for every call: --api-url URL,
# --token-file FILE or --emulator), RECONCILER_PATHS, RECONCILER_ARGS (plan flags such as --prune: used
# only when planning again; the saved plan already holds them), RECONCILER_PARALLELISM,
# RECONCILER_SAVED (folder of the downloaded artifact; may be absent), RECONCILER_OUT.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${RECONCILER_OUT:-reconciler-out}"
saved="${RECONCILER_SAVED:-}"
limit="${RECONCILER_COMMENT_LIMIT:-65536}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
outputs="${GITHUB_OUTPUT:-/dev/null}"
read -ra paths <<<"${RECONCILER_PATHS:-.}"
read -ra extra <<<"${RECONCILER_ARGS:-}"
read -ra connect <<<"${RECONCILER_CONNECT:-}"
parallelism=()
[ -n "${RECONCILER_PARALLELISM:-}" ] && parallelism=(--parallelism "$RECONCILER_PARALLELISM")
mkdir -p "$out"

reason=""
if [ -z "$saved" ] || [ ! -f "$saved/plan.json" ]; then
  reason="no reviewed plan was found for this commit (pushed without a pull request, or the plan artifact expired)"
elif [ "$(python3 "$here/report.py" digest "${paths[@]}")" != "$(cat "$saved/manifests.sha256" 2>/dev/null)" ]; then
  reason="the manifests changed since the plan was reviewed (the branch has commits the reviewed plan did not include)"
else
  reconciler apply --plan "$saved/plan.json" "${connect[@]}" --auto-approve "${parallelism[@]}" >"$out/apply.log" 2>&1
  code=$?
  if [ "$code" -ne 0 ] && grep -q "the saved plan is stale" "$out/apply.log"; then
    reason="the account changed since the plan was reviewed (reconciler refused the saved plan as stale)"
    cat "$out/apply.log" >&2
  else
    mode=reviewed
  fi
fi

if [ -n "$reason" ]; then
  mode=replanned
  echo "Planning again: $reason" >&2
  reconciler apply "${paths[@]}" "${extra[@]}" "${connect[@]}" --auto-approve "${parallelism[@]}" >"$out/apply.log" 2>&1
  code=$?
fi
cat "$out/apply.log"
echo "$mode" >"$out/mode"

python3 "$here/report.py" apply-comment --exit-code "$code" --log "$out/apply.log" --mode "$mode" \
  --reason "$reason" --limit "$limit" --where "The whole log is in the job's output." \
  >"$out/apply-comment.md"
python3 "$here/report.py" apply-comment --exit-code "$code" --log "$out/apply.log" --mode "$mode" \
  --reason "$reason" --limit 900000 --where "The whole log is in the job's output." >>"$summary"
{
  echo "exitcode=$code"
  echo "mode=$mode"
} >>"$outputs"
exit "$code"
