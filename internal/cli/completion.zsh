#compdef gcp-aws-cred
# zsh completion for gcp-aws-cred: "gcp-aws-cred completion zsh" prints
# this; gcp-aws-cred __complete answers each completion from its own
# command line model.

_gcp-aws-cred() {
    local -a out cands
    local line n
    out=("${(@f)$(${words[1]} __complete zsh -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    case $out[1] in
    (:files) _files ;;
    (:command\ *)
        n=${out[1]#:command }
        words=("${(@)words[n+1,-1]}")
        ((CURRENT -= n))
        _normal ;;
    (*)
        for line in $out; do
            if [[ $line == *$'\t'* ]]; then
                cands+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
            elif [[ -n $line ]]; then
                cands+=("${line//:/\\:}")
            fi
        done
        _describe -t values gcp-aws-cred cands ;;
    esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _gcp-aws-cred "$@"
else
    compdef _gcp-aws-cred gcp-aws-cred
fi
