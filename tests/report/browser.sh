#!/bin/sh
# browser.sh - TAP: the stale report's HTML page in headless Chromium.
# Writes the seeded report's page (test-report --html), takes a screenshot
# (kept in OUTDIR as a test artifact), and checks sorting and filtering by
# loading the page with a URL fragment (#sort=days&dir=desc&filter=debian),
# which the page applies on load, then asserting on the --dump-dom output.
#
#   browser.sh TEST-REPORT-EXE OUTDIR
set -u

test_report=$1
outdir=$2
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "1..0 # SKIP chromium not installed"
    exit 0
fi
py=/usr/bin/python3
[ -x "$py" ] || py=python3

mkdir -p "$outdir"
html="$outdir/report.html"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $1"
    shift
    for line in "$@"; do echo "# $line"; done
}

# Each run gets a new profile directory; nothing talks to the network.
browse() {
    profile=$(mktemp -d "$tmp/profile.XXXXXX")
    timeout 60 "$chromium" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@" 2>"$tmp/stderr"
}

# Prints the count text, then the visible rows' images in DOM order.
visible_rows() {
    "$py" -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.count, self.in_count = [], "", False
        self.row = None; self.cell = 0; self.text = ""
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and a.get("id") == "count": self.in_count = True
        if tag == "tr" and self.row is None and "class" in a:
            self.row = ("hidden" in a); self.cell = 0; self.text = ""
        if tag == "td": self.cell += 1
    def handle_endtag(self, tag):
        if tag == "span": self.in_count = False
        if tag == "tr" and self.row is not None:
            if not self.row: self.rows.append(self.text)
            self.row = None
    def handle_data(self, d):
        if self.in_count: self.count += d
        if self.row is not None and self.cell == 1: self.text += d
p = P(); p.feed(sys.stdin.read())
print(p.count)
for r in p.rows: print(r)
'
}

expect_rows() { # name fragment expected-lines...
    name=$1
    frag=$2
    shift 2
    browse --dump-dom "file://$html$frag" >"$tmp/dom.html"
    got=$(visible_rows <"$tmp/dom.html")
    want=$(printf '%s\n' "$@")
    if [ "$got" = "$want" ]; then
        ok "$name"
    else
        not_ok "$name" "fragment: $frag" "got:" $got "want:" "$@" \
            "$(tail -3 "$tmp/stderr")"
    fi
}

echo "1..6"

if "$test_report" --html "$html" && [ -s "$html" ]; then
    ok "writes the HTML report"
else
    not_ok "writes the HTML report"
    echo "1..$n"
    exit 1
fi

rm -f "$outdir/report.png"
browse --screenshot="$outdir/report.png" --window-size=1400,1000 \
    "file://$html" >/dev/null
if [ -s "$outdir/report.png" ] &&
    [ "$(head -c 8 "$outdir/report.png" | od -An -tx1 | tr -d ' \n')" = \
        "89504e470d0a1a0a" ] &&
    [ "$(wc -c <"$outdir/report.png")" -gt 10000 ]; then
    ok "renders (screenshot in $outdir/report.png)"
else
    not_ok "renders" "$(tail -3 "$tmp/stderr")"
fi

expect_rows "loads unsorted, unfiltered" "" "7 of 7 rows" \
    registry.example.com/acme/api:latest \
    registry.example.com/acme/batch:latest \
    registry.example.com/acme/legacy:latest \
    registry.example.com/acme/odd:latest \
    registry.example.com/acme/payments:latest \
    registry.example.com/acme/tool:latest \
    registry.example.com/acme/web:latest

# Days behind, most first; unknown (empty) values stay last.
expect_rows "sorts by days descending and filters on 'debian'" \
    "#sort=days&dir=desc&filter=debian" "4 of 7 rows" \
    registry.example.com/acme/payments:latest \
    registry.example.com/acme/api:latest \
    registry.example.com/acme/batch:latest \
    registry.example.com/acme/legacy:latest

expect_rows "sorts numerically by days ascending" "#sort=days" "7 of 7 rows" \
    registry.example.com/acme/api:latest \
    registry.example.com/acme/web:latest \
    registry.example.com/acme/tool:latest \
    registry.example.com/acme/payments:latest \
    registry.example.com/acme/batch:latest \
    registry.example.com/acme/legacy:latest \
    registry.example.com/acme/odd:latest

# The filter matches text that the page shows escaped ("<b>web</b> & co").
expect_rows "filters on escaped text, sorts by image descending" \
    "#sort=-image&filter=%3Cb%3Eweb%3C%2Fb%3E%20%26" "1 of 7 rows" \
    registry.example.com/acme/web:latest


exit $failed
