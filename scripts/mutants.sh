#!/usr/bin/env bash
# Mutation check: each mutant is ONE small source edit that some test must
# catch. For each one the script edits a scratch copy of the tree, rebuilds it
# incrementally, runs the tests named for it and reports KILLED (a test failed)
# or SURVIVED (every test passed: a hole in the suite). Exits non-zero if any
# mutant survived, or if an edit's pattern did not match exactly once, or if a
# mutant did not build (either would mean nothing was tested).
#
#   scripts/mutants.sh                 every mutant
#   scripts/mutants.sh chain-no-prev   only the named ones
#   scripts/mutants.sh --list          the names
#   scripts/mutants.sh --check         each edit's pattern occurs once (no build)
#
# Environment:
#   MUTANTS_DIR    scratch root (default ${TMPDIR:-/tmp}/casegrid-mutants);
#                  kept between runs so the rebuilds stay incremental
#   MUTANTS_SCOPE  "default" (mutants marked full run all of ctest, the others
#                  their Catch2 tags), "narrow" (tags only) or "full" (ctest for all)
#   MUTANTS_BASELINE=0  skip the run of the unmutated tree (it must pass first)
#   MUTANTS_TIMEOUT  seconds a tag run may take (default 300; ctest 3x): a mutant
#                  that hangs a test is killed by the timeout and counts as KILLED
#
# The scratch copy is the committed tree plus uncommitted changes to tracked
# files (git stash create); untracked files are not copied.
set -euo pipefail

repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
scratch=${MUTANTS_DIR:-${TMPDIR:-/tmp}/casegrid-mutants}
scope=${MUTANTS_SCOPE:-default}
src=$scratch/src
build=$scratch/build
jobs=2  # the machine has 2 shared cores: never more
limit=${MUTANTS_TIMEOUT:-300}  # seconds for a tag run (a whole ctest: 3x); a hang counts as killed

# ---- the mutants: name | file | tests | full? | what | old | new ----
# tests: a Catch2 test spec ("[tag]", "[a],[b]" for either) run on casegrid_tests.
# full: "full" runs the whole ctest -j2 instead (unless MUTANTS_SCOPE=narrow).
# old must occur exactly once in file; new replaces it.
NAMES=()
declare -A FILE TESTS FULL WHAT OLD NEW
mutant() {
  NAMES+=("$1")
  FILE[$1]=$2 TESTS[$1]=$3 FULL[$1]=$4 WHAT[$1]=$5 OLD[$1]=$6 NEW[$1]=$7
}

mutant chain-no-prev events/hash_chain.cc "[hash_chain],[journal]" full \
  "the chain hash is computed without prev_hash" \
  '  EVP_DigestUpdate(tl.ctx, prev_hash.data(), prev_hash.size());' \
  '  (void)prev_hash;'
mutant open-no-link events/hash_chain.cc "[hash_chain],[journal]" full \
  "OpenRecord skips the chain-link check (prev_hash == the case's last hash)" \
  'if (expected_prev_hash != nullptr && event->prev_hash() != *expected_prev_hash) {' \
  'if (false && expected_prev_hash != nullptr && event->prev_hash() != *expected_prev_hash) {'
mutant open-no-hash events/hash_chain.cc "[hash_chain],[journal]" "" \
  "OpenRecord skips the hash check (a flipped byte passes)" \
  'if (ChainHash(event->prev_hash(), body) != stored || event->hash() != stored) {' \
  'if (false && (ChainHash(event->prev_hash(), body) != stored || event->hash() != stored)) {'
mutant projection-any-order projections/apply.cc "[projections]" full \
  "projections accept a case's events out of order (no case_seq check)" \
  'if (ev.case_seq() != facts->last_seq() + 1) {' \
  'if (false && ev.case_seq() != facts->last_seq() + 1) {'
mutant escalate-twice engine/deadlines.cc "[decider],[calendar]" full \
  "escalation 'at most once per level' disabled" \
  'if (std::find(done.begin(), done.end(), from_level) != done.end()) {' \
  'if (false && std::find(done.begin(), done.end(), from_level) != done.end()) {'
mutant journal-no-latch events/journal.cc "[engine],[journal]" full \
  "the journal does not refuse writes after a failed commit (the Fatal latch never set)" \
  '      fatal_ = Status::Fatal("journal write failed, reopen to recover: " + s.ToString());' \
  '      return Status::Fatal("journal write failed, reopen to recover: " + s.ToString());'
mutant journal-no-refusal events/journal.cc "[engine],[journal]" "" \
  "the journal latches Fatal but never checks the latch" \
  '    if (!fatal_.ok()) return fatal_;' \
  '    if (false && !fatal_.ok()) return fatal_;'
mutant crash-never-fires base/crash_point.cc "[crash]" "" \
  "crash points never fire (Hit returns at once)" \
  $'void Reached(std::string_view name) {\n' \
  $'void Reached(std::string_view name) {\n  if (!name.empty()) return;\n'
mutant demo-received-zero sim/simulation.cc "[demo]" "" \
  "the demo report prints 0 cases received (its headline figure)" \
  '<< "visitors and reports received  " << t.received << "\n";' \
  '<< "visitors and reports received  " << 0 << "\n";'
mutant demo-on-time-zero sim/simulation.cc "[demo]" "" \
  "the demo report prints 0 cases closed on time" \
  '<< "closed on time                 " << t.closed_on_time << "  ("' \
  '<< "closed on time                 " << 0 << "  ("'
mutant recount-keeps-due engine/recount.cc "[recount]" "" \
  "a recount emits nothing new: every deadline keeps its old due time" \
  '    CASEGRID_RETURN_IF_ERROR(Arm(std::string(kRecountAction), d.name(), d.anchor_event_id(),' \
  '    if (false) CASEGRID_RETURN_IF_ERROR(Arm(std::string(kRecountAction), d.name(), d.anchor_event_id(),'
mutant warn-no-op engine/deadlines.cc "[warn]" "" \
  "the warn action emits nothing: deadline warnings never fire" \
  $'  Event* e = out_.Begin(kWarnAction, "");\n' \
  $'  if (!name.empty()) return Status::Ok();\n  Event* e = out_.Begin(kWarnAction, "");\n'
mutant publish-strands engine/rules.cc "[publish],[migrate]" "" \
  "Publish skips the stranding check (open cases left on the old version)" \
  '  if (!leave_stranded) {' \
  '  if (false && !leave_stranded) {'

edit() {  # edit FILE OLD NEW: OLD must occur exactly once
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
path, old, new = sys.argv[1:]
text = open(path, encoding="utf-8").read()
n = text.count(old)
if n != 1:
    sys.exit(f"mutants.sh: the pattern occurs {n} times in {path}, not once: {old!r}")
open(path, "w", encoding="utf-8").write(text.replace(old, new))
EOF
}

if [[ ${1:-} == --list ]]; then
  for n in "${NAMES[@]}"; do printf '%-22s %s\n' "$n" "${WHAT[$n]}"; done
  exit 0
fi
if [[ ${1:-} == --check ]]; then  # every pattern matches once in the working tree; no build
  tmp=$(mktemp)
  for n in "${NAMES[@]}"; do
    cp "$repo/${FILE[$n]}" "$tmp"
    edit "$tmp" "${OLD[$n]}" "${NEW[$n]}"
    echo "ok  $n"
  done
  rm -f "$tmp"
  exit 0
fi

selected=("$@")
if ((${#selected[@]} == 0)); then selected=("${NAMES[@]}"); fi
for n in "${selected[@]}"; do
  [[ -n ${FILE[$n]+x} ]] || { echo "mutants.sh: no mutant named '$n' (see --list)" >&2; exit 2; }
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# ---- the scratch copy: updated in place, so unchanged files keep their mtime ----
export CCACHE_BASEDIR=$scratch  # cache hits carry across scratch paths
mkdir -p "$scratch"
rev=$(git -C "$repo" stash create)
rev=${rev:-$(git -C "$repo" rev-parse HEAD)}
log "scratch $scratch, tree $(git -C "$repo" rev-parse --short "$rev")"
rm -rf "$scratch/incoming"
mkdir -p "$scratch/incoming" "$src"
git -C "$repo" archive "$rev" | tar -x -C "$scratch/incoming"
python3 - "$scratch/incoming" "$src" <<'PY'
import filecmp, os, shutil, sys
new, dst = sys.argv[1:]
for root, dirs, files in os.walk(new):
    rel = os.path.relpath(root, new)
    os.makedirs(os.path.join(dst, rel), exist_ok=True)
    for f in files:
        a, b = os.path.join(root, f), os.path.join(dst, rel, f)
        if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False):
            shutil.copyfile(a, b)  # only a changed file gets a new mtime
            shutil.copymode(a, b)
for root, dirs, files in os.walk(dst, topdown=False):
    rel = os.path.relpath(root, dst)
    for f in files:
        if not os.path.exists(os.path.join(new, rel, f)):
            os.remove(os.path.join(root, f))
PY
rm -rf "$scratch/incoming"

generator=()
if command -v ninja >/dev/null && [[ ! -f $build/CMakeCache.txt ]]; then generator=(-G Ninja); fi
cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >"$scratch/configure.log" 2>&1 ||
  { cat "$scratch/configure.log"; exit 1; }

build_tests() {  # casegrid_tests depends on casegrid: both are built
  cmake --build "$build" -j "$jobs" --target casegrid_tests >"$scratch/build.log" 2>&1
}

# Runs the tests of mutant $1 (or everything for "baseline"); returns their status.
run_tests() {
  local n=$1
  if [[ $n == baseline || $scope == full || ($scope == default && ${FULL[$n]} == full) ]]; then
    (cd "$build" && timeout $((3 * limit)) ctest -j "$jobs" --output-on-failure) >"$scratch/test-$n.log" 2>&1
  else
    (cd "$build" && timeout "$limit" ./casegrid_tests "${TESTS[$n]}") >"$scratch/test-$n.log" 2>&1
  fi
}


pending_restore=""
restore() {
  if [[ -n $pending_restore ]]; then
    cp "$scratch/original" "$src/$pending_restore"  # a fresh mtime: the next build recompiles it
    pending_restore=""
  fi
}
trap restore EXIT

start=$SECONDS
log "building the unmutated tree (log: $scratch/build.log)"
build_tests || { tail -50 "$scratch/build.log"; exit 1; }
if [[ ${MUTANTS_BASELINE:-1} != 0 ]]; then
  log "baseline: ctest -j$jobs on the unmutated tree"
  if ! run_tests baseline; then
    tail -40 "$scratch/test-baseline.log"
    echo "mutants.sh: the unmutated tree fails its tests; fix that first" >&2
    exit 1
  fi
fi

# The names of the tests that failed, from a ctest or a Catch2 console log.
failing_tests() {
  if grep -q 'The following tests FAILED' "$1"; then
    sed -n '/The following tests FAILED/,$p' "$1" | sed -n 's/^\s*[0-9]* - \(.*\) (\(Failed\|Timeout\|SEGFAULT\|Subprocess aborted\|[A-Za-z ]*\))$/\1/p'
  else
    awk '/^-+$/ {d=1; next} d==1 && !/^\// {name=$0} {d=0} /FAILED:$/ && name!="" {print name; name=""}' "$1" | sort -u
  fi
}

declare -A RESULT SECS KILLERS
failed=0
for n in "${selected[@]}"; do
  t0=$SECONDS
  f=${FILE[$n]}
  cp "$src/$f" "$scratch/original"
  pending_restore=$f
  edit "$src/$f" "${OLD[$n]}" "${NEW[$n]}"
  if [[ $scope == full || ($scope == default && ${FULL[$n]} == full) ]]; then sel="ctest -j$jobs"; else sel=${TESTS[$n]}; fi
  log "$n: ${WHAT[$n]} ($f); running $sel"
  if ! build_tests; then
    tail -30 "$scratch/build.log"
    RESULT[$n]="NO-BUILD"
    failed=1
  else
    rc=0
    run_tests "$n" || rc=$?
    if ((rc == 0)); then
      RESULT[$n]="SURVIVED"
      failed=1
    else
      RESULT[$n]="KILLED"
      failing_tests "$scratch/test-$n.log" >"$scratch/killers-$n" || true
      if ((rc == 124)); then echo "(the tests timed out)" >>"$scratch/killers-$n"; fi
      KILLERS[$n]=$(head -1 "$scratch/killers-$n")
      more=$(($(wc -l <"$scratch/killers-$n") - 1))
      if ((more > 0)); then KILLERS[$n]+=" (+$more more)"; fi
      sed 's/^/    killed by: /' "$scratch/killers-$n"
    fi
  fi
  restore
  SECS[$n]=$((SECONDS - t0))
  log "$n: ${RESULT[$n]} (${SECS[$n]}s, log $scratch/test-$n.log)"
done
build_tests || true  # leave the scratch build unmutated

echo
printf '%-22s %-9s %5s  %-22s %s\n' MUTANT RESULT SECS RAN "KILLED BY (a failing test)"
for n in "${selected[@]}"; do
  if [[ $scope == full || ($scope == default && ${FULL[$n]} == full) ]]; then sel="ctest (all)"; else sel=${TESTS[$n]}; fi
  printf '%-22s %-9s %5s  %-22s %s\n' "$n" "${RESULT[$n]}" "${SECS[$n]}" "$sel" "${KILLERS[$n]:-${WHAT[$n]}}"
done
echo "total $((SECONDS - start))s"
exit $failed
