#!/bin/zsh -f
# complete.zsh DIR: reads command lines on stdin, one a line, and prints
# what zsh's completion system (compinit, with DIR first in fpath) offers
# at the end of each: "> LINE", then one candidate a line, "<files>" for
# a file completion. zsh completes only inside its line editor, so an
# interactive zsh runs on a pseudo-terminal (zsh/zpty), a line is typed
# followed by TAB, and compadd is wrapped to write the matches it adds; a
# widget bound to TAB writes a marker file once completion is over.
zmodload zsh/zpty || { print -u2 "complete.zsh: no zsh/zpty"; exit 1 }
dir=$1 tmp=$(mktemp -d)
out=$tmp/out
zpty z zsh -f -i
zpty -w z "PROMPT='' LISTMAX=100000; fpath=($dir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits; builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- $__hits >> '$out'
  builtin compadd "$@"
}'
zpty -w z "_files() { print -r -- '<files>' >> $out }"
zpty -w z "_zc_tab() { zle complete-word; : > $tmp/done }; zle -N _zc_tab; bindkey '^I' _zc_tab"
zpty -w z ": > $tmp/ready"
# What the terminal shows is read and dropped: unread, it would fill the
# pseudo-terminal's buffer and block the shell.
drain() {
    local junk
    while zpty -r -t z junk; do :; done
}
wait_for() {
    local i
    for (( i = 0; i < 600; i++ )); do
        drain
        [[ -e $1 ]] && return 0
        sleep 0.05
    done
    print -u2 "complete.zsh: timed out waiting for $1"
    return 1
}
wait_for $tmp/ready || exit 1
while IFS= read -r l; do
    rm -f $tmp/done $out
    zpty -w -n z "$l"$'\t'
    wait_for $tmp/done || exit 1
    # Clear the line (and any listing) for the next one.
    zpty -w -n z $'\C-e\C-u'
    drain
    print -r -- "> $l"
    [[ -f $out ]] && sort -u $out
done
zpty -d z
rm -rf $tmp
