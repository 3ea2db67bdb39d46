#!/usr/bin/env bash
# The `replay` tool on a small town's log: stats, digest and rebuild --all (equal digests), the
# auditor's history (family, child, sensitive values, --as-of, formats), a log written by a server
# without some views, and errors (a missing directory, an unknown view or id, a taken output) exit
# 2 with a clear message.
set -euo pipefail
replay="$1"
town="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$town" "$dir/data" 40 >/dev/null || fail "replay_town exited $?"
# The server's views, from the tool's help ("Views: a, b, c.").
views=$("$replay" --help | sed -n 's/^Views: \(.*\)\.$/\1/p' | tr -d ',')
view_count=$(wc -w <<<"$views")
[[ $view_count -ge 5 && " $views " == *" dossier "* ]] || fail "views in the help: $views"

out=$("$replay" stats --data "$dir/data") || fail "stats exited $?"
[[ "$out" == *"events          388"* ]] || fail "stats events: $out"
[[ "$out" == *"head position   388"* ]] || fail "stats head: $out"
[[ "$out" == *"streams         115"* ]] || fail "stats streams: $out"
[[ "$out" =~ AccountRegistered\ +40 ]] || fail "stats by type: $out"
[[ "$out" =~ SectionUpdated\ +8 ]] || fail "stats by type: $out"
[[ "$out" =~ 2025-01\ +294 ]] || fail "stats by month: $out"
[[ "$out" =~ 2025-02\ +74 ]] || fail "stats by month: $out"
[[ "$out" =~ 2025-03\ +20 ]] || fail "stats by month: $out"
[[ "$out" == *"size on disk"*"KiB (log/)"* ]] || fail "stats size: $out"

digests=$("$replay" digest --data "$dir/data" --all) || fail "digest exited $?"
[[ $(grep -cE '^[a-z_]+ +[0-9a-f]{64}  \(checkpoint 388\)$' <<<"$digests") -eq $view_count ]] \
  || fail "digest: $digests"
accounts_digest=$("$replay" digest --data "$dir/data" accounts | awk '{print $2}')
grep -q "^accounts *$accounts_digest " <<<"$digests" || fail "digest of one view: $accounts_digest"

out=$("$replay" rebuild --data "$dir/data" --out "$dir/rebuilt" --all) || fail "rebuild exited $?"
[[ $(grep -c '^  equal$' <<<"$out") -eq $view_count ]] || fail "rebuild digests: $out"
[[ "$out" == *"accounts: 388 events in"*"events/s)"* ]] || fail "rebuild figures: $out"
[[ "$out" == *"rebuilt digest $accounts_digest"* ]] || fail "rebuilt accounts digest: $out"
[[ "$out" == *"views: 100% (388/388 events"* ]] || fail "rebuild progress: $out"
[[ "$out" == *"rebuilding $view_count view(s) into"* ]] || fail "rebuild heading: $out"
for view in $views; do
  [[ -f "$dir/rebuilt/$view/CURRENT" ]] || fail "no rebuilt $view"
done

# Rows written out after every event and read back: the same views.
out=$("$replay" rebuild --data "$dir/data" --out "$dir/spilled" --memory-mb 0 accounts planning) \
  || fail "rebuild --memory-mb 0 exited $?"
[[ $(grep -c '^  equal$' <<<"$out") -eq 2 ]] || fail "rebuild --memory-mb 0 digests: $out"
[[ "$out" == *"accounts: 388 events in"*"rows written out "*" time(s) before the end"* ]] \
  || fail "rebuild --memory-mb 0 report: $out"
expect_usage_error() {  # a value the command line refuses: non-zero exit
  set +e
  "$@" >/dev/null 2>&1
  local code=$?
  set -e
  [[ $code -ne 0 ]] || fail "$*: accepted"
}
expect_usage_error "$replay" rebuild --data "$dir/data" --out "$dir/bad" --memory-mb -1 accounts
[[ ! -e "$dir/bad" ]] || fail "a refused --memory-mb wrote $dir/bad"

out=$("$replay" rebuild --data "$dir/data" outbox) || fail "rebuild to the default place exited $?"
ls -d "$dir/data"/rebuild-*/outbox >/dev/null || fail "no default rebuild directory: $out"

if command -v script >/dev/null; then  # on a terminal: one bar rewritten with \r
  tty_out=$(script -qec "$replay rebuild --data $dir/data --out $dir/tty families" /dev/null) \
    || fail "rebuild on a terminal exited $?"
  [[ "$tty_out" == *$'\r'"families       [##############################] 100% 388/388 events"* ]] \
    || fail "progress bar: $tty_out"
  [[ "$tty_out" == *"equal"* ]] || fail "rebuild on a terminal: $tty_out"
fi

expect_error() {  # expect_error "message part" command...
  local want="$1"
  shift
  set +e
  err=$("$@" 2>&1)
  code=$?
  set -e
  [[ $code -eq 2 && "$err" == *"$want"* ]] || fail "$*: exit $code, $err"
}
expect_error "no event log in $dir/missing" "$replay" stats --data "$dir/missing"
expect_error "no event log in $dir/missing" "$replay" digest --data "$dir/missing" --all
expect_error "no event log in $dir/missing" "$replay" rebuild --data "$dir/missing" --all
expect_error "unknown view 'nope' (known: ${views// /, })" \
  "$replay" rebuild --data "$dir/data" accounts nope
expect_error "unknown view 'nope'" "$replay" digest --data "$dir/data" nope
expect_error "name at least one view" "$replay" rebuild --data "$dir/data"
expect_error "already exists" "$replay" rebuild --data "$dir/data" --out "$dir/rebuilt" accounts

expect_error "no event log in $dir/missing" "$replay" swap --data "$dir/missing" --from "$dir/rebuilt" --all
expect_error "opening the rebuilt view" "$replay" swap --data "$dir/data" --from "$dir" accounts
out=$("$replay" swap --data "$dir/data" --from "$dir/rebuilt" accounts 2>/dev/null) \
  || fail "swap exited $?"
[[ "$out" == *"accounts: swapped in, digest"* ]] || fail "swap output: $out"
live=$("$replay" digest --data "$dir/data" accounts)
[[ "$live" == *"$(echo "$out" | grep -o 'digest [0-9a-f]*' | cut -d' ' -f2)"* ]] \
  || fail "swapped digest differs: $out / $live"

"$replay" verify --data "$dir/data" >/dev/null || fail "the log no longer verifies"

# The auditor's history of the Dupont family's file (tests/replay/town.h).
out=$("$replay" history --data "$dir/data" --family dupont) || fail "history --family exited $?"
[[ "$out" == *"20 events" ]] || fail "history --family: $out"
[[ "$out" =~ FamilyRegistered.*MemberAdded.*ChangeProposed.*ChangeApproved ]] \
  || fail "history --family order: $out"
[[ "$out" == *"iban=(hidden)"* && "$out" != *FR76* ]] || fail "history --family iban: $out"
[[ "$out" == *"fields=city=Paris; postal_code=75011"* ]] || fail "history nested fields: $out"
child=$("$replay" history --data "$dir/data" --child c-leo) || fail "history --child exited $?"
[[ "$child" == *"10 events" && "$child" != *c-mia* ]] || fail "history --child: $child"
[[ "$child" == *"sections=health{allergies=(hidden)}"* && "$child" != *arachides* ]] \
  || fail "history --child hides health: $child"
member=$("$replay" history --data "$dir/data" --member c-leo) || fail "history --member exited $?"
[[ "$member" == "$child" ]] || fail "--member differs from --child: $member"
set +e
shown=$("$replay" history --data "$dir/data" --child c-leo --include-sensitive 2>"$dir/err")
code=$?
set -e
[[ $code -eq 0 && "$shown" == *"sections=health{allergies=arachides, kiwi}"* ]] \
  || fail "history --include-sensitive: exit $code, $shown"
grep -q -- "--include-sensitive used by" "$dir/err" || fail "sensitive use not logged: $(cat "$dir/err")"
out=$("$replay" history --data "$dir/data" --child c-leo --as-of 2025-03-04T09:59) \
  || fail "history --as-of exited $?"
[[ "$out" == *"4 events" && "$out" != *ChangeApproved* ]] || fail "as of before approval: $out"
out=$("$replay" history --data "$dir/data" --child c-leo --as-of 2025-03-04T10:00)
[[ "$out" == *"6 events" && "$out" == *ChangeApproved* ]] || fail "as of the approval: $out"
out=$("$replay" history --data "$dir/data" --child c-leo --format jsonl)
[[ "$out" == *'"sections":{"health":{"allergies":"(hidden)"}}'* ]] || fail "jsonl nested: $out"
out=$("$replay" history --data "$dir/data" --child c-leo --format csv)
[[ "$out" == *'sections=health{allergies=(hidden)}'* ]] || fail "csv nested: $out"
expect_error "no member (child, guardian or authorised adult) c-nobody in the log" \
  "$replay" history --data "$dir/data" --child c-nobody
expect_error "name exactly one of" "$replay" history --data "$dir/data" --family dupont --child c-leo

# A log written by a server without the dossier view: read-only commands still work.
"$town" "$dir/older" 5 event_counts accounts families outbox >/dev/null \
  || fail "replay_town without dossier exited $?"
out=$("$replay" digest --data "$dir/older" --all) || fail "digest --all without dossier: $out"
[[ "$out" == *"dossier        absent (not built by the server"* ]] || fail "absent view: $out"
expect_error "the log has no view dossier (not built by the server" \
  "$replay" digest --data "$dir/older" dossier
out=$("$replay" verify --data "$dir/older") || fail "verify without dossier: $out"
[[ "$out" == *"absent (not built by the server yet): dossier"* ]] || fail "verify absent: $out"
"$replay" stats --data "$dir/older" >/dev/null || fail "stats without dossier"
out=$("$replay" history --data "$dir/older" --child c-leo) || fail "history without dossier: $out"
[[ "$out" == *"10 events" ]] || fail "history without dossier: $out"
out=$("$replay" rebuild --data "$dir/older" --out "$dir/older-rebuilt" dossier) \
  || fail "rebuild of an absent view: $out"
[[ "$out" == *"live view      absent"* ]] || fail "rebuild of an absent view: $out"
echo "replay cli: ok"
