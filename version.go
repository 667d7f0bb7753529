package main

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
)

// Release builds stamp these with
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<full hash> -X main.date=<RFC 3339>"
//
// date is the commit's time, not the build's, so the same commit gives the
// same bytes. What is not stamped comes from what the Go toolchain recorded.
var version, commit, date string

// versionString is what --version prints.
func versionString() string {
	v, c, d, modified := version, commit, date, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = cmp.Or(v, bi.Main.Version)
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				c = cmp.Or(c, s.Value)
			case s.Key == "vcs.time":
				d = cmp.Or(d, s.Value)
			case s.Key == "vcs.modified" && s.Value == "true":
				modified = " (modified)"
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "built from source; version not stamped"
	}
	return fmt.Sprintf("%s %s\ncommit:   %s\ndate:     %s\ngo:       %s\nplatform: %s/%s", cli.Name, v,
		cmp.Or(c, "not recorded")+modified, cmp.Or(d, "not recorded"), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
