#!/bin/sh
# fake-scanner.sh - a stand-in scanner for the rescan tests: records its
# arguments, says something on stderr, prints the report file named by
# $1 on stdout (nothing when it does not exist) and exits with the
# status written in REPORT.exit, if there is one (default 0).
#   fake-scanner.sh REPORT CALLS-LOG ARGS...
report=$1
calls=$2
shift 2
printf '%s\n' "$*" >> "$calls"
echo "fake-scanner: scanning $1" >&2
if [ -f "$report" ]; then
    cat "$report"
fi
if [ -f "$report.exit" ]; then
    exit "$(cat "$report.exit")"
fi
exit 0
