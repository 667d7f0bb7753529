# bash completion for gcp-aws-cred                -*- shell-script -*-
# "gcp-aws-cred completion bash" prints this; gcp-aws-cred __complete
# answers each completion from its own command line model.

_gcp_aws_cred() {
    local cur=${COMP_WORDS[COMP_CWORD]} out line n
    COMPREPLY=()
    out=$("${COMP_WORDS[0]}" __complete bash -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
    [[ $cur == = ]] && cur=
    case $out in
    :files)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    ":command "*)
        n=${out#:command }
        if declare -F _command_offset >/dev/null; then
            _command_offset "$n"
        elif ((COMP_CWORD == n)); then
            mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        else
            compopt -o default 2>/dev/null
        fi ;;
    *)
        while IFS= read -r line; do
            [[ -n $line ]] && COMPREPLY+=("${line%%$'\t'*}")
        done <<<"$out" ;;
    esac
}

complete -F _gcp_aws_cred gcp-aws-cred
