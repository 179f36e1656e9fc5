#!/usr/bin/env bash
# Runs every fuzz target in turn, then minimizes its corpus, and prints a summary
# (docs/fuzzing.md). Stable Rust is enough: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# -Z flags, so no nightly toolchain is needed.
#
#   fuzz/run.sh [seconds-per-target] [target...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). One fuzzer runs at a time, on one core.
# New corpus files land in fuzz/corpus/<target>/, crashes in fuzz/artifacts/<target>/, logs in
# fuzz/logs/ (neither of the last two is committed: a crash is fixed, then its input is kept in
# fuzz/regressions/<target>/ and replayed by tests/fuzz_corpus.rs).
set -euo pipefail

cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
all="email sms_twilio sms_tencent tip_json tip_multipart receipt claim_code image_strip"
targets=${*:-$all}

export RUSTC_BOOTSTRAP=1
# The code is Rust without unsafe of its own: AddressSanitizer finds nothing the borrow checker
# has not, and halves the speed. Debug assertions (overflow checks) stay on.
sanitizer=(--sanitizer none)

cargo fuzz build "${sanitizer[@]}"
mkdir -p fuzz/logs
summary=()
for t in $targets; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/logs/$t.log"
    echo "== $t: ${seconds}s"
    started=$(date -u +%Y-%m-%dT%H:%MZ)
    # -timeout: one input taking 20 s is a denial of service, reported like a crash.
    # With -jobs, libFuzzer writes the run's output to fuzz-0.log in the working directory.
    status=0
    cargo fuzz run "${sanitizer[@]}" "$t" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -jobs=1 -workers=1 \
        -print_final_stats=1 >/dev/null 2>&1 || status=$?
    mv -f fuzz-0.log "$log" 2>/dev/null || true
    before=$(find "fuzz/corpus/$t" -type f | wc -l)
    # -use_counters=0: keep one input per coverage edge, not one per hit-count bucket of every
    # edge (which kept thousands of near-copies); the corpus stays a seed set and a replay test.
    cargo fuzz cmin "${sanitizer[@]}" "$t" -- -use_counters=0 >/dev/null 2>&1 || true
    # Keep the committed corpus small: nothing over 100 KB.
    find "fuzz/corpus/$t" -type f -size +100k -delete
    after=$(find "fuzz/corpus/$t" -type f | wc -l)
    bytes=$(du -s --apparent-size --block-size=1K "fuzz/corpus/$t" | cut -f1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n1 || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    crashes=$(find "fuzz/artifacts/$t" -type f | wc -l)
    summary+=("$(printf '%-14s %s %6ss execs=%-10s cov=%-6s ft=%-6s corpus=%s->%s (%s KiB) crashes=%s exit=%s' \
        "$t" "$started" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$before" "$after" "$bytes" \
        "$crashes" "$status")")
done
echo
echo "== summary"
printf '%s\n' "${summary[@]}"
