package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const value = "AQoDYXdzEJr-very-secret-value"

func TestNeverRevealedByFormatting(t *testing.T) {
	s := New(value)
	wrapper := struct {
		Token String
		Ptr   *String
	}{s, &s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%-20v", "%d", "%t"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, wrapper))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(s, wrapper), fmt.Errorf("wrapped: %w", errors.New(fmt.Sprint(s))).Error())

	j, err := json.Marshal(wrapper)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))

	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("msg", "token", s, "w", wrapper)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("msg", "token", s)
	outs = append(outs, logBuf.String())

	for _, out := range outs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("secret leaked: %s", out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("output does not say it redacted anything: %s", out)
		}
	}
}

func TestReveal(t *testing.T) {
	s := New(value)
	if s.Reveal() != value {
		t.Fatalf("Reveal/Len/IsZero wrong")
	}
	if (String{}).Reveal() != "" {
		t.Fatal("zero value is not zero")
	}
}
