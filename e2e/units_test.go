package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackagedUnitsShipped: the packages' unit comments, the man page and
// docs/serve.md pointed to gcp-aws-cred.socket, which no package
// installed; and the man page's example enabled the unit without creating
// the token file it loads (LoadCredential=token:/etc/gcp-aws-cred/token),
// so the unit failed to start as shown. Every unit they name must be in
// .goreleaser.yaml's package contents, and every example that enables the
// service must create the token first.
func TestPackagedUnitsShipped(t *testing.T) {
	root := moduleRoot(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gen := exec.Command("go", "run", "./internal/cmd/genman", "-o", "-")
	gen.Dir = root
	man, err := gen.Output()
	if err != nil {
		t.Fatalf("genman: %v", err)
	}
	// roff escapes the hyphens and dots of the names.
	manText := strings.NewReplacer(`\-`, "-", `\&`, "", `\(aq`, "'").Replace(string(man))
	release := read(".goreleaser.yaml")
	unit := regexp.MustCompile(`gcp-aws-cred\.(service|socket)\b`)
	for name, text := range map[string]string{
		"examples/gcp-aws-cred.service": read("examples/gcp-aws-cred.service"),
		"docs/serve.md":                 read("docs/serve.md"),
		"docs/install.md":               read("docs/install.md"),
		"the man page":                  manText,
	} {
		for _, u := range unit.FindAllString(text, -1) {
			if !strings.Contains(release, "dst: /usr/lib/systemd/system/"+u+"\n") {
				t.Errorf("%s names %s, which .goreleaser.yaml's packages do not install", name, u)
			}
		}
		if name == "docs/serve.md" {
			continue // it sends the reader to the unit's comments for the token
		}
		for _, enable := range regexp.MustCompile(`systemctl enable --now[^\n]*gcp-aws-cred`).FindAllStringIndex(text, -1) {
			before := text[:enable[0]]
			if !strings.Contains(before, "> /etc/gcp-aws-cred/token") && !strings.Contains(before, "tee /etc/gcp-aws-cred/token") {
				t.Errorf("%s enables the unit without creating /etc/gcp-aws-cred/token first:\n%s", name, text[max(0, enable[0]-300):enable[1]])
			}
		}
	}
}
