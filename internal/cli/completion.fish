# fish completion for gcp-aws-cred: "gcp-aws-cred completion fish" prints
# this; gcp-aws-cred __complete answers each completion from its own
# command line model.

function __gcp_aws_cred_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete fish -- $words[2..-1] 2>/dev/null)
    switch "$out[1]"
        case :files
            __fish_complete_path (commandline -ct)
        case ':command *'
            set -l n (string split ' ' -- $out[1])[2]
            complete -C (string join ' ' -- (string escape -- $words[(math $n + 1)..-1]))
        case '*'
            printf '%s\n' $out
    end
end

complete -c gcp-aws-cred -f -a '(__gcp_aws_cred_complete)'
