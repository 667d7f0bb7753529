package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain makes this test binary the command itself when it runs under
// the command's name: the shells' completion stubs run gcp-aws-cred
// __complete, and completionPath puts this binary on PATH under that name.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == Name {
		os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr, func() string { return "test" }))
	}
	os.Exit(m.Run())
}

// completionEnv writes the completion script of shell to a new directory
// under the file name its packages install it as, links this test binary
// there as gcp-aws-cred, and returns the directory and an environment with
// it first on PATH.
func completionEnv(t *testing.T, shell string) (dir string, env []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"completion", shell}, &stdout, &stderr, func() string { return "test" }); code != 0 || stderr.Len() > 0 {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, code, stderr.String())
	}
	dir = t.TempDir()
	file := map[string]string{"bash": Name, "zsh": "_" + Name, "fish": Name + ".fish"}[shell]
	if err := os.WriteFile(filepath.Join(dir, file), stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, Name)); err != nil {
		t.Fatal(err)
	}
	return dir, append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+t.TempDir())
}

// needShell skips the test when shell is not installed; CI installs bash
// and fish, so there a missing one is a failure.
func needShell(t *testing.T, shell string) string {
	t.Helper()
	path, err := exec.LookPath(shell)
	if err != nil {
		if os.Getenv("CI") == "true" && shell != "zsh" {
			t.Fatalf("%s is not installed (CI=true: a missing tool is a failure, not a skip)", shell)
		}
		t.Skipf("%s is not installed (apt-get install %s): its completion is not checked", shell, shell)
	}
	return path
}

// completionCases are command lines, the last word being completed, and
// the words every shell must offer (want) and must not (not). Each shell
// test runs them in that shell, word split as the shell splits them.
var completionCases = []struct {
	line      []string
	want, not []string
}{
	{[]string{"do"}, []string{"doctor"}, nil},
	{[]string{""}, []string{"trust-policy", "token", "doctor", "exec", "serve", "console", "agent", "completion", "help"}, []string{"__complete", "get"}},
	{[]string{"help", ""}, []string{"doctor", "serve"}, []string{"help"}},
	{[]string{"--out"}, []string{"--output"}, nil},
	{[]string{"--output", ""}, []string{"process", "env", "env-no-export", "fish", "powershell", "windows-cmd"}, nil},
	{[]string{"-o", "e"}, []string{"env", "env-no-export"}, []string{"process"}},
	{[]string{"serve", "--output", ""}, []string{"env", "fish"}, []string{"process"}},
	{[]string{"serve", "--log-format", ""}, []string{"plain", "json"}, nil},
	{[]string{"serve", "--ch"}, []string{"--chain-role", "--check"}, nil},
	{[]string{"doctor", "--js"}, []string{"--json"}, nil},
	{[]string{"trust-policy", "--ro"}, nil, []string{"--role"}},                             // a flag trust-policy does not take
	{[]string{"--role", "arn:aws:iam::123456789012:role/r", "do"}, nil, []string{"doctor"}}, // a command word after a flag is an error
	{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}, nil},
	{[]string{"exec", "--serve", "--s"}, []string{"--session-name", "--sts-endpoint", "--service-account", "--serve"}, nil},
	// exec's COMMAND is a command line of its own: command names first.
	{[]string{"exec", "--role", "arn:aws:iam::123456789012:role/r", "--", "ech"}, []string{"echo"}, nil},
}

// TestBashCompletion loads the script in a real bash and completes command
// lines as bash does, split at = and : as bash splits them, with and
// without bash-completion's _command_offset.
func TestBashCompletion(t *testing.T) {
	bash := needShell(t, "bash")
	dir, env := completionEnv(t, "bash")
	complete := func(t *testing.T, words []string) []string {
		prog := `source "$1"; shift
complete -p gcp-aws-cred >/dev/null || { echo "not registered"; exit 1; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_gcp_aws_cred
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", prog, "bash", filepath.Join(dir, Name), Name}, words...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completing %q: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	for _, tc := range completionCases {
		got := complete(t, tc.line)
		checkCompletion(t, "bash", tc.line, got, tc.want, tc.not)
	}
	// bash's own word splitting at = and :.
	for _, tc := range []struct {
		words, want []string
	}{
		{[]string{"--output", "=", "p"}, []string{"process", "powershell"}},
		{[]string{"--output", "="}, []string{"process", "env", "env-no-export", "fish", "powershell", "windows-cmd"}},
		{[]string{"exec", "--role", "=", "arn", ":", "aws", ":", "iam", "::", "123456789012", ":", "role/r", "--reg"}, []string{"--region"}},
		{[]string{"exec", "--role", "arn", ":", "aws", ":", "iam", "::", "1", ":", "role/r", "--", "ech"}, []string{"echo"}},
	} {
		if got := complete(t, tc.words); !slices.Equal(got, tc.want) && !slices.Contains(got, tc.want[0]) || len(got) == 0 {
			t.Errorf("bash completing %q: got %q, want %q", tc.words, got, tc.want)
		}
	}
	// A file name with a space is one completion, not two.
	files := t.TempDir()
	if err := os.WriteFile(filepath.Join(files, "my bundle.pem"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fileProg := `source "$1"; shift; cd "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
_gcp_aws_cred
printf '%s\n' "${COMPREPLY[@]}"`
	fc := exec.Command(bash, "--norc", "--noprofile", "-c", fileProg, "bash", filepath.Join(dir, Name), files, Name, "--ca-bundle", "my")
	fc.Env = env
	if out, err := fc.CombinedOutput(); err != nil || string(out) != "my bundle.pem\n" {
		t.Errorf("--ca-bundle my: %v, %q; want \"my bundle.pem\"", err, out)
	}
	// With bash-completion loaded, exec's COMMAND completes as that
	// command would: _command_offset is handed the word it starts at.
	prog := `source "$1"; shift
_command_offset() { echo "offset $1"; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
_gcp_aws_cred`
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog, "bash", filepath.Join(dir, Name), Name, "exec", "--", "aws", "s3", "")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "offset 3" {
		t.Errorf("exec -- aws s3 with _command_offset: %v, %q; want \"offset 3\"", err, out)
	}
}

// TestZshCompletion runs an interactive zsh in a pseudo-terminal (zsh's own
// zpty), with the script installed in fpath as the packages install it,
// presses Tab after each command line, and records every match zsh's
// completion system adds.
func TestZshCompletion(t *testing.T) {
	zsh := needShell(t, "zsh")
	dir, env := completionEnv(t, "zsh")
	// The inner shell: compinit finds _gcp-aws-cred in fpath; compadd is
	// wrapped to print each match it adds, and Tab completes, then marks
	// the end of the matches.
	setup := `PROMPT=
fpath=(` + dir + ` $fpath)
autoload -U compinit && compinit -u -D
zstyle ':completion:*' insert-tab false
compadd() {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"
        return
    fi
    local -a hits
    builtin compadd -A hits "$@"
    local h
    for h in $hits; do print -r -- "MATCH:$h"; done
    builtin compadd "$@"
}
_complete_and_mark() { zle complete-word; print -r -- "END""MATCHES" }
zle -N _complete_and_mark
bindkey '^I' _complete_and_mark
print -r -- "RE""ADY"`
	// The outer shell types each line and Tab, reads up to the end of its
	// matches, then clears the line (Ctrl+U) for the next.
	driver := `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "$1"
zpty -r z out '*READY*' || { print "no prompt"; exit 1 }
for line in "${@:2}"; do
    zpty -w -n z "$line"$'\t'
    zpty -r z out '*ENDMATCHES*' || { print "no matches for $line"; exit 1 }
    print -r -- "$out"
    print -r -- "CASE""END"
    zpty -w -n z $'\C-u'
done
zpty -d z`
	lines := []string{"zsh", setup}
	for _, tc := range completionCases {
		lines = append(lines, Name+" "+strings.Join(tc.line, " "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zsh, append([]string{"-f", "-c", driver}, lines...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	cases := strings.Split(string(out), "CASEEND")
	if len(cases) != len(completionCases)+1 {
		t.Fatalf("zsh answered %d of %d command lines:\n%s", len(cases)-1, len(completionCases), out)
	}
	match := regexp.MustCompile(`MATCH:([^\r\n]*)`)
	for i, tc := range completionCases {
		var got []string
		for _, m := range match.FindAllStringSubmatch(cases[i], -1) {
			got = append(got, m[1])
		}
		checkCompletion(t, "zsh", tc.line, got, tc.want, tc.not)
	}
}

// TestFishCompletion loads the script in fish and completes each command
// line with complete -C, which answers as the Tab key would.
func TestFishCompletion(t *testing.T) {
	fish := needShell(t, "fish")
	dir, env := completionEnv(t, "fish")
	if out, err := exec.Command(fish, "--no-execute", filepath.Join(dir, Name+".fish")).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	for _, tc := range completionCases {
		line := Name + " " + strings.Join(tc.line, " ")
		cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, filepath.Join(dir, Name+".fish"), line)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish completing %q: %v\n%s", line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if w := strings.SplitN(l, "\t", 2)[0]; w != "" {
				got = append(got, w)
			}
		}
		checkCompletion(t, "fish", tc.line, got, tc.want, tc.not)
	}
}

func checkCompletion(t *testing.T, shell string, line, got, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s completing %q: got %q, want %q among them", shell, line, got, w)
		}
	}
	for _, w := range not {
		if slices.Contains(got, w) {
			t.Errorf("%s completing %q: got %q, which must not offer %q", shell, line, got, w)
		}
	}
	if want == nil && not == nil && len(got) > 0 {
		t.Errorf("%s completing %q: got %q, want nothing", shell, line, got)
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run([]string{"completion", "tcsh"}, &stdout, &stderr, func() string { return "test" })
	if code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), `must be one of "bash","zsh","fish" but got "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
