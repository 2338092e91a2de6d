#!/usr/bin/env bash
# Runs one apprun command for the composite action (action.yml). Inputs
# arrive as environment variables (APPRUN_COMMAND, APPRUN_STACKS,
# APPRUN_TARGET, APPRUN_VARS, APPRUN_FORMAT, APPRUN_ARGS), never spliced
# into the script. apprun itself sees GITHUB_ACTIONS=true: it appends its
# Markdown to the step summary and writes changes=/drifted=/exitcode= to
# $GITHUB_OUTPUT; this script adds `report` (the file with what it printed),
# prints the full text plan in a log group after a plan in another format,
# and turns exit code 2 (changes, drift) into a success.
set -euo pipefail

read -r -a stacks <<<"${APPRUN_STACKS//$'\n'/ }"
read -r -a extra <<<"${APPRUN_ARGS:-}"
vars=()
while IFS= read -r line; do
  line=${line#"${line%%[![:space:]]*}"}
  line=${line%"${line##*[![:space:]]}"}
  if [ -n "$line" ]; then
    vars+=(--var "$line")
  fi
done <<<"${APPRUN_VARS:-}"
target=${APPRUN_TARGET:-aws}
format=${APPRUN_FORMAT:-markdown}
case "$format" in
  markdown) ext=md ;;
  json) ext=json ;;
  text) ext=txt ;;
  *)
    echo "::error title=apprun::format must be markdown, text or json, not '$format'"
    exit 1
    ;;
esac
if [ "${#stacks[@]}" -eq 0 ]; then
  echo "::error title=apprun::no stack given (input 'stacks')"
  exit 1
fi
one_stack() {
  if [ "${#stacks[@]}" -ne 1 ]; then
    echo "::error title=apprun::$APPRUN_COMMAND takes one stack, got ${#stacks[@]}: ${stacks[*]}"
    exit 1
  fi
}

report="$RUNNER_TEMP/apprun-$APPRUN_COMMAND-$GITHUB_RUN_ID-$RANDOM.$ext"
case "$APPRUN_COMMAND" in
  validate)
    ;;
  plan)
    one_stack
    argv=(plan "${stacks[0]}" --target "$target" --format "$format" --detailed-exitcode)
    # Saved too, so the full plan can be printed to the log (a comment
    # may show only part of a large plan).
    plan_file="$RUNNER_TEMP/apprun-$GITHUB_RUN_ID-$RANDOM.plan"
    argv+=(--out "$plan_file")
    ;;
  apply | destroy)
    one_stack
    argv=("$APPRUN_COMMAND" "${stacks[0]}" --target "$target" --auto-approve)
    ;;
  drift)
    argv=(drift "${stacks[@]}" --target "$target" --format "$format" --detailed-exitcode)
    ;;
  *)
    echo "::error title=apprun::unknown command '$APPRUN_COMMAND' (install, validate, plan, apply, destroy or drift)"
    exit 1
    ;;
esac

set +e
if [ "$APPRUN_COMMAND" = validate ]; then
  code=0
  for stack in "${stacks[@]}"; do
    apprun validate "$stack" "${vars[@]}" | tee -a "$report"
    status=${PIPESTATUS[0]}
    if [ "$status" -ne 0 ]; then
      code=$status
    fi
  done
else
  apprun "${argv[@]}" "${vars[@]}" "${extra[@]}" | tee "$report"
  code=${PIPESTATUS[0]}
fi
set -e

if [ -n "${plan_file:-}" ] && [ -f "$plan_file" ] && [ "$format" != text ]; then
  echo "::group::Full plan"
  apprun show "$plan_file" --color never || true
  echo "::endgroup::"
  rm -f "$plan_file"
fi

echo "report=$report" >>"$GITHUB_OUTPUT"
# apprun writes exitcode= itself; an error before it could (a bad flag)
# still leaves the output set.
if ! grep -q '^exitcode=' "$GITHUB_OUTPUT"; then
  echo "exitcode=$code" >>"$GITHUB_OUTPUT"
fi
case "$code" in
  0 | 2) exit 0 ;;
  *) exit "$code" ;;
esac
