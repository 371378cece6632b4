#!/bin/bash
# complete.bash COMPLETION_FILE: reads command lines on stdin, one a line,
# and prints what bash's programmable completion offers at the end of
# each: "> LINE", then one candidate a line. Each line is split into
# words as readline splits it (COMP_WORDBREAKS makes '=' and ':' words of
# their own), with bash-completion loaded when it is installed, as in an
# interactive shell.
if [ -f /usr/share/bash-completion/bash_completion ]; then
    # shellcheck disable=SC1091
    source /usr/share/bash-completion/bash_completion
fi
# shellcheck disable=SC1090
source "$1"
while IFS= read -r l; do
    COMP_LINE=$l
    COMP_POINT=${#l}
    COMP_WORDS=()
    read -ra toks <<<"$l"
    for t in "${toks[@]}"; do
        while [[ $t == *[=:]* ]]; do
            pre=${t%%[=:]*}
            [ -n "$pre" ] && COMP_WORDS+=("$pre")
            t=${t:${#pre}}
            COMP_WORDS+=("${t:0:1}")
            t=${t:1}
        done
        [ -n "$t" ] && COMP_WORDS+=("$t")
    done
    case $l in *" " | *= | *:) COMP_WORDS+=("") ;; esac
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _strata
    echo "> $l"
    [ ${#COMPREPLY[@]} -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}"
done
