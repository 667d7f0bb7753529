package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completionScript is what `gcp-aws-cred completion SHELL` prints, written
// to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"completion", shell}, &stdout, &stderr, func() string { return "test" }); code != 0 || stderr.Len() > 0 {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, code, stderr.String())
	}
	path := filepath.Join(t.TempDir(), Name+"."+shell)
	if err := os.WriteFile(path, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
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
		t.Skipf("%s is not installed: its completion script is not checked", shell)
	}
	return path
}

// TestBashCompletion loads the script in a real bash and completes command
// lines as bash would, word by word (the "=" of --flag=value is a word of
// its own, as bash splits it).
func TestBashCompletion(t *testing.T) {
	bash := needShell(t, "bash")
	script := completionScript(t, "bash")
	for _, tc := range []struct {
		words []string // the last is the word being completed
		want  string
	}{
		{[]string{Name, "do"}, "doctor"},
		{[]string{Name, "--out"}, "--output"},
		{[]string{Name, "--output", ""}, "process env env-no-export fish powershell windows-cmd"},
		{[]string{Name, "-o", "e"}, "env env-no-export"},
		{[]string{Name, "--output", "=", "p"}, "process powershell"},
		{[]string{Name, "--role", "arn:x", "--region", "us-east-1", ""}, "trust-policy token doctor exec serve agent completion"},
		{[]string{Name, "--role", "=", "arn:x", "s"}, "serve"},
		{[]string{Name, "serve", "--output", ""}, "env env-no-export fish powershell windows-cmd"},
		{[]string{Name, "serve", "--log-format", ""}, "plain json"},
		{[]string{Name, "serve", "--ch"}, "--check"},
		{[]string{Name, "doctor", "--js"}, "--json"},
		{[]string{Name, "trust-policy", "--ro"}, ""}, // a flag trust-policy does not take
		{[]string{Name, "--role", ""}, ""},           // an ARN: nothing to guess
		{[]string{Name, "completion", ""}, "bash zsh fish"},
		{[]string{Name, "exec", "--serve", "--s"}, "--session-name --sts-endpoint --service-account --serve"},
	} {
		prog := `source "$1"; shift
complete -p gcp-aws-cred >/dev/null || { echo "not registered"; exit 1; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_gcp_aws_cred
echo "${COMPREPLY[*]}"`
		args := append([]string{"--norc", "--noprofile", "-c", prog, "bash", script}, tc.words...)
		out, err := exec.Command(bash, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("bash completing %q: %v\n%s", tc.words, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("completing %q: got %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestZshFishCompletionParse checks the zsh and fish scripts are valid in
// their shells and register the completion.
func TestZshFishCompletionParse(t *testing.T) {
	t.Run("zsh", func(t *testing.T) {
		zsh := needShell(t, "zsh")
		script := completionScript(t, "zsh")
		if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
			t.Fatalf("zsh -n: %v\n%s", err, out)
		}
		prog := `autoload -U compinit && compinit -u -D; source "$1"; print -r -- $_comps[gcp-aws-cred]`
		out, err := exec.Command(zsh, "-f", "-c", prog, "zsh", script).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "_gcp-aws-cred" {
			t.Fatalf("zsh did not register _gcp-aws-cred for gcp-aws-cred: %v\n%s", err, out)
		}
	})
	t.Run("fish", func(t *testing.T) {
		fish := needShell(t, "fish")
		script := completionScript(t, "fish")
		if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
			t.Fatalf("fish --no-execute: %v\n%s", err, out)
		}
		// fish completes a command line given to complete -C.
		for line, want := range map[string][]string{
			Name + " do":                  {"doctor"},
			Name + " --output ":           {"process", "env", "windows-cmd"},
			Name + " serve --log-format ": {"plain", "json"},
			Name + " serve --output ":     {"env", "fish"},
		} {
			prog := `source $argv[1]; complete -C $argv[2]`
			out, err := exec.Command(fish, "--no-config", "-c", prog, script, line).CombinedOutput()
			if err != nil {
				t.Fatalf("fish completing %q: %v\n%s", line, err, out)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
			for _, w := range want {
				if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+w+" ") {
					t.Errorf("fish completing %q: got %q, want %q among them", line, got, w)
				}
			}
			if strings.HasSuffix(line, "serve --output ") && strings.Contains(string(out), "process") {
				t.Errorf("fish offers process for serve --output, which serve does not print: %q", got)
			}
		}
	})
}

func TestCompletionUnknownShell(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run([]string{"completion", "tcsh"}, &stdout, &stderr, func() string { return "test" })
	if code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), `must be one of "bash","zsh","fish" but got "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
