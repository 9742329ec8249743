#!/usr/bin/env bash
# error-gallery.sh - regenerate the compiler output behind docs/shape-errors.md.
#
#   scripts/error-gallery.sh [--check] [OUTDIR]      (default OUTDIR: build/error-gallery)
#
# Compiles every tests/compile_fail/*.bad.cpp with g++ and clang++ (override with $GXX and
# $CLANGXX; $JOBS compiles at a time, default: the number of CPUs) as `-std=c++20 -fsyntax-only -Iinclude`, from the repository root and with
# LC_ALL=C, so that paths in the output are relative to the repository and quotes are ASCII.
# For each case and compiler it writes to OUTDIR:
#   <case>.<gcc|clang>.txt          the full output
#   <case>.<gcc|clang>.excerpt.txt  the lines docs/shape-errors.md shows: for g++ the
#       "In instantiation of" line of the typenet::error type, the first "required from"
#       (the layer's check), the user's line ("required from here"), the static assertion
#       and the first line of every further error; for clang the static_assert, the "in
#       instantiation of template class 'typenet::error::...'" note, the user's line and
#       "N errors generated." Context lines over 200 characters are cut with " [...]", further
#       errors in the middle ("<start> [...] <end>"); the lines with the error type and the
#       static_assert sentence are never cut.
# and prints a summary. A case whose file compiles is reported and makes the script fail.
# --check: also verify that every excerpt line appears verbatim in docs/shape-errors.md
# (e.g. after editing errors.hpp, line numbers and messages change: update the page).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
check=0
if [[ "${1:-}" == "--check" ]]; then check=1; shift; fi
out="${1:-$root/build/error-gallery}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
gxx="${GXX:-g++}"
clangxx="${CLANGXX:-clang++}"
cd "$root"
export LC_ALL=C

# excerpt <gcc|clang> <file>
excerpt() {
    local tag="$1" file="$2"
    awk -v tag="$tag" '
        function cut(s) { return length(s) > 200 ? substr(s, 1, 200) " [...]" : s }
        # further errors: keep the end too, where g++ says what is wrong ("has no member ...")
        function cut2(s) { return length(s) > 200 ? substr(s, 1, 120) " [...] " substr(s, length(s) - 59) : s }
        tag == "gcc" {
            if ($0 ~ /In instantiation of .struct typenet::error::/) { print; want_ctx = 1; next }
            if (want_ctx && $0 ~ /required from /) { print cut($0); want_ctx = 0; next }
            if ($0 ~ /required from here/) { print; next }
            if ($0 ~ /error: static assertion failed/) { print; next }
            if ($0 ~ /: error: /) { print cut2($0); next }
        }
        tag == "clang" {
            if ($0 ~ /error: static_assert failed|error: static assertion failed/) { print; asserts++; next }
            if (asserts == 1 && !seen_type && $0 ~ /note: in instantiation of template class .typenet::error::/) {
                print; seen_type = 1; next
            }
            if (asserts == 1 && !seen_user && $0 ~ /^tests\/compile_fail\/.*: note: /) { print cut($0); seen_user = 1; next }
            if ($0 ~ /errors? generated/) { print; next }
        }
    ' "$file"
}

# Compile everything first, $JOBS at a time (default: the number of CPUs).
max_jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
compile() {  # compile <src> <case> <tag> <cxx>
    local rc=0
    "$4" -std=c++20 -fsyntax-only -Iinclude "$1" > "$out/$2.$3.txt" 2>&1 || rc=$?
    echo "$rc" > "$out/$2.$3.rc"
}
for src in tests/compile_fail/*.bad.cpp; do
    case_name="$(basename "$src" .bad.cpp)"
    for tag in gcc clang; do
        if [[ "$tag" == gcc ]]; then cxx="$gxx"; else cxx="$clangxx"; fi
        while (( $(jobs -rp | wc -l) >= max_jobs )); do wait -n; done
        compile "$src" "$case_name" "$tag" "$cxx" &
    done
done
wait

status=0
missing=0
printf '%-26s %-6s %-5s %s\n' case cc exit "first error"
for src in tests/compile_fail/*.bad.cpp; do
    case_name="$(basename "$src" .bad.cpp)"
    for tag in gcc clang; do
        raw="$out/$case_name.$tag.txt"
        rc="$(cat "$out/$case_name.$tag.rc")"
        rm -f "$out/$case_name.$tag.rc"
        excerpt "$tag" "$raw" > "$out/$case_name.$tag.excerpt.txt"
        first="$(grep -m1 -o 'error: .*' "$raw" | cut -c1-80 || true)"
        printf '%-26s %-6s %-5s %s\n' "$case_name" "$tag" "$rc" "$first"
        if [[ "$rc" == 0 ]]; then
            echo "error-gallery: $src compiled with $tag, but it must not" >&2
            status=1
        fi
        if [[ "$check" == 1 ]]; then
            while IFS= read -r line; do
                [[ -z "$line" ]] && continue
                head="${line% \[...\]}"          # "<start> [...]"
                tail=""
                if [[ "$head" == *" [...] "* ]]; then  # "<start> [...] <end>"
                    tail="${head#* \[...\] }"
                    head="${head%% \[...\] *}"
                fi
                if ! grep -qF -- "$head" docs/shape-errors.md ||
                   { [[ -n "$tail" ]] && ! grep -qF -- "$tail" docs/shape-errors.md; }; then
                    echo "error-gallery: --check: not in docs/shape-errors.md ($case_name, $tag): $line" >&2
                    missing=$((missing + 1))
                fi
            done < "$out/$case_name.$tag.excerpt.txt"
        fi
    done
done
echo "raw outputs and excerpts: $out"
if [[ "$check" == 1 ]]; then
    if [[ "$missing" == 0 ]]; then echo "--check: docs/shape-errors.md shows the current output"
    else echo "--check: $missing excerpt line(s) differ from docs/shape-errors.md" >&2; status=1; fi
fi
exit "$status"
