#!/usr/bin/env bash
# The `replay` tool on a small town's log: stats, digest and rebuild --all (equal digests), and
# errors (a missing directory, an unknown view, a taken output) exit 2 with a clear message.
set -euo pipefail
replay="$1"
town="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$town" "$dir/data" 40 >/dev/null || fail "replay_town exited $?"

out=$("$replay" stats --data "$dir/data") || fail "stats exited $?"
[[ "$out" == *"events          368"* ]] || fail "stats events: $out"
[[ "$out" == *"head position   368"* ]] || fail "stats head: $out"
[[ "$out" == *"streams         112"* ]] || fail "stats streams: $out"
[[ "$out" =~ AccountRegistered\ +40 ]] || fail "stats by type: $out"
[[ "$out" =~ 2025-01\ +294 ]] || fail "stats by month: $out"
[[ "$out" =~ 2025-02\ +74 ]] || fail "stats by month: $out"
[[ "$out" == *"size on disk"*"KiB (log/)"* ]] || fail "stats size: $out"

digests=$("$replay" digest --data "$dir/data" --all) || fail "digest exited $?"
[[ $(grep -cE '^[a-z_]+ +[0-9a-f]{64}  \(checkpoint 368\)$' <<<"$digests") -eq 4 ]] \
  || fail "digest: $digests"
accounts_digest=$("$replay" digest --data "$dir/data" accounts | awk '{print $2}')
grep -q "^accounts *$accounts_digest " <<<"$digests" || fail "digest of one view: $accounts_digest"

out=$("$replay" rebuild --data "$dir/data" --out "$dir/rebuilt" --all) || fail "rebuild exited $?"
[[ $(grep -c '^  equal$' <<<"$out") -eq 4 ]] || fail "rebuild digests: $out"
[[ "$out" == *"accounts: 368 events in"*"events/s)"* ]] || fail "rebuild figures: $out"
[[ "$out" == *"rebuilt digest $accounts_digest"* ]] || fail "rebuilt accounts digest: $out"
[[ "$out" == *"accounts: 100% (368/368 events"* ]] || fail "rebuild progress: $out"
for view in event_counts accounts families outbox; do
  [[ -f "$dir/rebuilt/$view/CURRENT" ]] || fail "no rebuilt $view"
done

out=$("$replay" rebuild --data "$dir/data" outbox) || fail "rebuild to the default place exited $?"
ls -d "$dir/data"/rebuild-*/outbox >/dev/null || fail "no default rebuild directory: $out"

if command -v script >/dev/null; then  # on a terminal: one bar rewritten with \r
  tty_out=$(script -qec "$replay rebuild --data $dir/data --out $dir/tty families" /dev/null) \
    || fail "rebuild on a terminal exited $?"
  [[ "$tty_out" == *$'\r'"families       [##############################] 100% 368/368 events"* ]] \
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
expect_error "unknown view 'nope' (known: event_counts, accounts, families, outbox)" \
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
echo "replay cli: ok"
