#!/usr/bin/env bash
# doc-snippets.sh - keep the code blocks of docs/*.md equal to the compiled examples they quote.
#
#   scripts/doc-snippets.sh [--check | --update]     (default: --check)
#
# In a page, a quoted block is
#   <!-- snippet: examples/own_data.cpp#train -->
#   ```cpp
#   ...
#   ```
#   <!-- snippet:end -->
# and the file holds the region between the lines `// [train]` and `// [/train]` (markers on
# their own lines, any indentation). The block shows the region without the markers, its
# common indentation removed. Everything outside the blocks is prose and is never touched.
# Since every examples/*.cpp is built and run by CTest, a quoted block is code that compiles
# and runs. --check fails (printing a diff) when a block differs from its region, names a
# file or region that does not exist, or is not closed; --update rewrites the blocks.
# Exit codes: 0 ok, 1 a check failed, 2 bad usage. CTest: docs.snippets.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=check
case "${1:-}" in
    ""|--check) ;;
    --update) mode=update ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "doc-snippets: unknown argument $1 (use --check or --update)" >&2; exit 2 ;;
esac
cd "$root"

status=0
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for page in docs/*.md; do
    grep -q '^<!-- snippet: ' "$page" || continue
    if ! awk -v page="$page" '
        function fail(msg) { printf "doc-snippets: %s:%d: %s\n", page, FNR, msg > "/dev/stderr"; bad = 1 }
        function region(file, name,    line, n, inside, found, i, ind, min, m) {
            n = 0; inside = 0; found = 0
            while ((getline line < file) > 0) {
                if (line ~ ("^[ \t]*// \\[" name "\\][ \t]*$")) { inside = 1; found = 1; continue }
                if (line ~ ("^[ \t]*// \\[/" name "\\][ \t]*$")) { inside = 0; continue }
                if (inside) body[++n] = line
            }
            close(file)
            if (!found) return -1
            min = -1
            for (i = 1; i <= n; i++) {
                if (body[i] ~ /^[ \t]*$/) continue
                match(body[i], /^ */); ind = RLENGTH
                if (min < 0 || ind < min) min = ind
            }
            if (min < 0) min = 0
            for (i = 1; i <= n; i++) body[i] = body[i] ~ /^[ \t]*$/ ? "" : substr(body[i], min + 1)
            return n
        }
        /^<!-- snippet: / {
            if (inside) fail("snippet inside the block opened at line " start)
            print
            if (!match($0, /^<!-- snippet: [^ #]+#[A-Za-z0-9_-]+ -->$/)) {
                fail("expected <!-- snippet: <file>#<region> -->"); inside = 1; start = FNR; next
            }
            spec = $3; split(spec, f, "#")
            if ((getline test < f[1]) < 0) { fail("no file " f[1]) }
            else {
                close(f[1])
                n = region(f[1], f[2])
                if (n < 0) fail("no region // [" f[2] "] in " f[1])
                else { print "```cpp"; for (i = 1; i <= n; i++) print body[i]; print "```" }
            }
            inside = 1; start = FNR; next
        }
        /^<!-- snippet:end -->$/ {
            if (!inside) fail("snippet:end without a snippet")
            inside = 0; print; next
        }
        !inside { print }
        END { if (inside) { FNR = start; fail("snippet without snippet:end") } exit bad }
    ' "$page" > "$tmp"; then
        status=1
        continue
    fi
    if cmp -s "$tmp" "$page"; then
        continue
    elif [[ "$mode" == update ]]; then
        cp "$tmp" "$page"
        echo "doc-snippets: rewrote the quoted blocks of $page"
    else
        diff -u --label "$page" --label "$page (from the examples)" "$page" "$tmp" >&2 || true
        echo "doc-snippets: $page quotes code that differs from its example (diff above);" \
             "run scripts/doc-snippets.sh --update" >&2
        status=1
    fi
done
[[ "$status" == 0 && "$mode" == check ]] && echo "doc-snippets: every quoted block equals its example"
exit "$status"
