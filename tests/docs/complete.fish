# complete.fish COMPLETION_FILE: reads command lines on stdin, one a line,
# and prints what fish completes at the end of each (complete -C): "> LINE",
# then one candidate a line, without its description.
source $argv[1]
while read -l l
    echo "> $l"
    complete -C "$l" | string replace -r '\t.*' ''
end
exit 0
