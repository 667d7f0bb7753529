package main

import (
	"io"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

func TestClosestCommand(t *testing.T) {
	var cli CLI
	cmds := commands(newParser(&cli, kong.Vars{"version": "v", "summary": summary}, io.Discard, io.Discard).Model)
	for in, want := range map[string]string{
		"docter": "doctor", "dcotor": "doctor", "exce": "exec", "tokn": "token", "trust": "trust-policy",
		"trustpolicy": "trust-policy", "tok": "token", "get": "", "x": "", "frobnicate": "", "d": "",
	} {
		if got := closest(in, cmds); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"3600": time.Hour, "5400": 90 * time.Minute, "0": 0, "90m": 90 * time.Minute, "1h30m": 90 * time.Minute,
		"5400s": 90 * time.Minute, "1.5h": 90 * time.Minute,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "", "1 h", "9223372037", "3600 s", "1e3"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}
