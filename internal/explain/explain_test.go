package explain

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrint(t *testing.T) {
	inner := Errorf(fs.ErrNotExist, "inner").Hint("inner hint")
	outer := Errorf(fmt.Errorf("ctx: %w", inner), "role %q cannot be assumed:\n  AccessDenied", "r").Hint("first", "policy:\n{\n  \"a\": 1\n}")
	var b bytes.Buffer
	Print(&b, "prog", outer)
	want := "prog: error: role \"r\" cannot be assumed: AccessDenied\n" +
		"prog: hint: first\n" +
		"prog: hint: policy:\n    {\n      \"a\": 1\n    }\n" +
		"prog: hint: inner hint\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("Print (-want +got):\n%s", diff)
	}
	if !errors.Is(outer, fs.ErrNotExist) {
		t.Error("cause not reachable through errors.Is")
	}
}

func TestPrintPlainError(t *testing.T) {
	var b bytes.Buffer
	Print(&b, "prog", errors.New("plain"))
	if got, want := b.String(), "prog: error: plain\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
