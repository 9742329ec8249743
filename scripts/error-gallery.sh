#!/usr/bin/env bash
# error-gallery.sh - the compiler output behind docs/shape-errors.md: regenerate, check, update.
#
#   scripts/error-gallery.sh [--check | --update] [OUTDIR]   (default OUTDIR: build/error-gallery)
#
# Compiles every tests/compile_fail/*.bad.cpp with g++ and clang++ (override with $GXX and
# $CLANGXX; $JOBS compiles at a time, default: the number of CPUs) as
# `-std=c++20 -fsyntax-only -Iinclude`, from the repository root and with LC_ALL=C, so that
# paths in the output are relative to the repository (the same on every clone) and quotes are
# ASCII. For each case and compiler it writes to OUTDIR:
#   <case>.<gcc|clang>.txt          the full output
#   <case>.<gcc|clang>.excerpt.txt  the lines docs/shape-errors.md shows: for g++ the
#       "In instantiation of" line of the typenet::error type, the first "required from" outside
#       include/typenet/errors.hpp (the layer's check; the one before it is errors.hpp's
#       error::reported<E>), the user's line ("required from here"), the static assertion and
#       the first line of every further error; for clang the static_assert, the "in
#       instantiation of template class 'typenet::error::...'" note, the user's line, the first
#       line of every further error and "N error(s) generated." Context lines over 200
#       characters are cut with " [...]", further errors in the middle ("<start> [...] <end>");
#       the lines with the error type and the static_assert sentence are never cut.
# and prints a summary. A case whose file compiles is reported and makes the script fail.
#
# In docs/shape-errors.md each excerpt is a generated block:
#   <!-- gallery:begin <case> <gcc|clang> -->
#   ```text
#   ...the excerpt...
#   ```
#   <!-- gallery:end -->
# Everything outside these blocks is prose and is never touched.
#   --update: rewrite every block from the excerpts just produced (e.g. after editing
#             errors.hpp or a layer's check), then review the prose around them.
#   --check:  fail (and print a diff) if --update would change the page, if a block names an
#             unknown case, or if a case has no block for one of the compilers.
# An excerpt that shows an absolute path (e.g. a compiler wrapper that passes -I/abs/include)
# is an error too: the page must read the same on every clone.
# Exit codes: 0 ok, 1 a check failed, 2 bad usage, 77 g++ or clang++ not found (CTest's
# docs.error_gallery test reports that as skipped).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=""
case "${1:-}" in
    --check) mode=check; shift ;;
    --update) mode=update; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error-gallery: unknown option $1 (use --check or --update)" >&2; exit 2 ;;
esac
gxx="${GXX:-g++}"
clangxx="${CLANGXX:-clang++}"
for cxx in "$gxx" "$clangxx"; do
    if ! command -v "$cxx" > /dev/null 2>&1; then
        echo "error-gallery: $cxx not found: the gallery needs both g++ and clang++ (set \$GXX, \$CLANGXX)" >&2
        exit 77
    fi
done
# The page shows g++ 12 and clang 14 (Debian 12's). Other versions word errors differently:
# --check skips there rather than report stale docs that are not stale.
if [ "$mode" = check ]; then
    gv=$("$gxx" -dumpversion | cut -d. -f1)
    cv=$("$clangxx" -dumpversion | cut -d. -f1)
    if [ "$gv" != 12 ] || [ "$cv" != 14 ]; then
        echo "error-gallery: the page shows g++ 12 and clang 14; found g++ $gv and clang $cv: skipping the check" >&2
        exit 77
    fi
fi
out="${1:-$root/build/error-gallery}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
page=docs/shape-errors.md
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
            if (want_ctx && $0 ~ /required from / && $0 !~ /^include\/typenet\/errors\.hpp:/) {
                print cut($0); want_ctx = 0; next
            }
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
            if ($0 ~ /: error: /) { print cut2($0); next }
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
        # The page must read the same on every machine: no absolute paths in what it shows.
        if grep -qE '^/' "$out/$case_name.$tag.excerpt.txt" ||
           grep -qF -e "$root" -e "$out" "$out/$case_name.$tag.excerpt.txt"; then
            echo "error-gallery: $case_name ($tag): the excerpt shows an absolute path:" >&2
            { grep -E '^/' "$out/$case_name.$tag.excerpt.txt" || true
              grep -F -e "$root" -e "$out" "$out/$case_name.$tag.excerpt.txt" || true; } |
                sort -u | head -n 3 | cut -c1-200 >&2
            status=1
        fi
    done
done
echo "raw outputs and excerpts: $out"
echo "compilers: $("$gxx" --version | head -n1); $("$clangxx" --version | head -n1)"

if [[ -n "$mode" ]]; then
    # The page as --update would write it: each generated block replaced by its excerpt.
    rendered="$out/shape-errors.md"
    cases=" "
    for src in tests/compile_fail/*.bad.cpp; do cases+="$(basename "$src" .bad.cpp) "; done
    render_ok=1
    awk -v dir="$out" -v page="$page" -v cases="$cases" '
        function fail(msg) { printf "error-gallery: %s:%d: %s\n", page, FNR, msg > "/dev/stderr"; bad = 1 }
        /^<!-- gallery:begin / {
            if (inside) fail("gallery:begin inside the block opened at line " start)
            print
            if (!match($0, /^<!-- gallery:begin [A-Za-z0-9_]+ (gcc|clang) -->$/)) {
                fail("expected <!-- gallery:begin <case> <gcc|clang> -->"); inside = 1; start = FNR; next
            }
            split($0, f, " "); key = f[3] "." f[4]
            n = 0
            if (index(cases, " " f[3] " ") == 0) {
                fail("unknown case " f[3] ": there is no tests/compile_fail/" f[3] ".bad.cpp")
            } else {
                file = dir "/" key ".excerpt.txt"
                while ((getline line < file) > 0) { if (n == 0) print "```text"; print line; n++ }
                close(file)
                if (n == 0) fail("the excerpt of " f[3] " (" f[4] ") is empty: see " file)
                else print "```"
            }
            shown[key] = 1; inside = 1; start = FNR; next
        }
        /^<!-- gallery:end -->$/ {
            if (!inside) fail("gallery:end without gallery:begin")
            inside = 0; print; next
        }
        !inside { print }
        END { if (inside) { FNR = start; fail("gallery:begin without gallery:end") }
              for (k in shown) print k > (dir "/shown-blocks.txt")
              exit bad }
    ' "$page" > "$rendered" || { status=1; render_ok=0; }
    touch "$out/shown-blocks.txt"
    for src in tests/compile_fail/*.bad.cpp; do
        case_name="$(basename "$src" .bad.cpp)"
        for tag in gcc clang; do
            if ! grep -qxF "$case_name.$tag" "$out/shown-blocks.txt"; then
                echo "error-gallery: $page has no block <!-- gallery:begin $case_name $tag --> (add one next to the case's prose)" >&2
                status=1
            fi
        done
    done
    rm -f "$out/shown-blocks.txt"
    if [[ "$mode" == update ]]; then
        if [[ "$render_ok" == 0 ]]; then
            echo "--update: $page left unchanged (fix the gallery markers above)" >&2
        elif cmp -s "$rendered" "$page"; then
            echo "--update: $page already shows the current output"
        else
            changed="$(diff "$page" "$rendered" | grep -c '^[<>]' || true)"
            cp "$rendered" "$page"
            echo "--update: rewrote $changed line(s) of $page; review the prose around them (git diff $page)"
        fi
    else
        if cmp -s "$rendered" "$page"; then
            echo "--check: $page shows the current output"
        else
            diff -u --label "$page" --label "$page (current compiler output)" "$page" "$rendered" >&2 || true
            echo "--check: $page differs from the current compiler output (see the diff above);" \
                 "run scripts/error-gallery.sh --update and review the prose" >&2
            status=1
        fi
    fi
fi
exit "$status"
