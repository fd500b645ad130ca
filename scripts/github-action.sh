#!/usr/bin/env bash
# The step of action.yml that runs the pipeline: INPUT_* variables in, `dmpipe run` out,
# exit-code and report-dir written to $GITHUB_OUTPUT.  Nothing here sees a password:
# dmpipe reads DATAMEER_PASSWORD from the environment the workflow sets.
set -uo pipefail

pipeline="${INPUT_PIPELINE:?the action needs a pipeline: input}"
report_dir="${INPUT_REPORT_DIR:-dmpipe-run}"
command=(dmpipe run "$pipeline" --report-dir "$report_dir" --progress plain)
[ -n "${INPUT_MODE:-}" ] && command+=(--mode "$INPUT_MODE")
while IFS= read -r line; do
  line="${line#"${line%%[![:space:]]*}"}"          # trim leading blanks
  line="${line%"${line##*[![:space:]]}"}"          # and trailing ones
  [ -n "$line" ] && command+=(--var "$line")
done <<< "${INPUT_VARS:-}"
if [ -n "${INPUT_SELECT:-}" ]; then
  read -r -a selected <<< "$INPUT_SELECT"
  command+=(--select "${selected[@]}")
fi
if [ -n "${INPUT_ARGS:-}" ]; then
  read -r -a extra <<< "$INPUT_ARGS"
  command+=("${extra[@]}")
fi
# A run directory from an earlier step of the same job is moved aside, not refused.
[ -e "$report_dir/journal.jsonl" ] || [ -e "$report_dir/report.json" ] && command+=(--force)

"${command[@]}"
code=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$code"
    [ -d "$report_dir" ] && echo "report-dir=$report_dir"
  } >> "$GITHUB_OUTPUT"
fi
exit "$code"
