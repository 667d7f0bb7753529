package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestIsPseudoVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"v0.0.0-20261201144802-25d140087637":        true,
		"v0.0.0-20261201144802-25d140087637+dirty":  true,
		"v1.2.4-0.20261129021300-0123456789ab":      true,
		"v1.2.4-rc.1.0.20261129021300-0123456789ab": true,
		"v1.2.3":                     false,
		"v1.2.3+dirty":               false,
		"v1.2.3-rc.1":                false,
		"(devel)":                    false,
		"v0.0.0-2026120114480-25d14": false,
	} {
		if got := isPseudoVersion(v); got != want {
			t.Errorf("isPseudoVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestFormatVersion(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  string
	}{{
		name:    "release build: the stamps win over the build info",
		version: "v1.2.3", commit: rev, date: "2026-11-29T02:13:00Z",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-other"}, Settings: vcs("vcs.revision", "ffff", "vcs.time", "2000-01-01T00:00:00Z")},
		want: "gcp-aws-cred v1.2.3\ncommit:   " + rev + "\ndate:     2026-11-29T02:13:00Z\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "go install module@v1.2.3: module version, no VCS information",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
		want: "gcp-aws-cred v1.2.3\ncommit:   unknown\ndate:     unknown\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "go build in a clone: Go's pseudo-version is no release; revision and commit time from the toolchain",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20261129021300-0123456789ab"}, Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-29T02:13:00Z", "vcs.modified", "false")},
		want: "gcp-aws-cred built from source; version not stamped\ncommit:   " + rev + "\ndate:     2026-11-29T02:13:00Z\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "go build in an untagged clone with changes: v0.0.0-TIME-HASH+dirty",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201144802-0123456789ab+dirty"}, Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-01T14:48:02Z", "vcs.modified", "true")},
		want: "gcp-aws-cred built from source; version not stamped\ncommit:   " + rev + " (modified)\ndate:     2026-12-01T14:48:02Z\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "go build in a clone checked out at a tag: that tag",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-29T02:13:00Z", "vcs.modified", "false")},
		want: "gcp-aws-cred v1.2.3\ncommit:   " + rev + "\ndate:     2026-11-29T02:13:00Z\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "go install module@PSEUDO: no checkout, so the module version says which commit",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201144802-0123456789ab"}},
		want: "gcp-aws-cred v0.0.0-20261201144802-0123456789ab\ncommit:   unknown\ndate:     unknown\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "uncommitted changes are admitted",
		bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", rev, "vcs.time", "2026-11-29T02:13:00Z", "vcs.modified", "true")},
		want: "gcp-aws-cred built from source; version not stamped\ncommit:   " + rev + " (modified)\ndate:     2026-11-29T02:13:00Z\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "go build from a source tree without .git: says so, not (devel) and unknown",
		bi:   &debug.BuildInfo{Main: debug.Module{Path: "github.com/gcp-aws-cred/gcp-aws-cred", Version: "(devel)"}},
		want: "gcp-aws-cred built from source; version not stamped\ncommit:   not recorded (built outside a git checkout, or with -buildvcs=false)\ndate:     not recorded\ngo:       go1.26.8\nplatform: linux/amd64",
	}, {
		name: "no build info at all",
		want: "gcp-aws-cred built from source; version not stamped\ncommit:   not recorded (built outside a git checkout, or with -buildvcs=false)\ndate:     not recorded\ngo:       go1.26.8\nplatform: linux/amd64",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := formatVersion(tc.version, tc.commit, tc.date, tc.bi, "go1.26.8", "linux/amd64")
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if strings.Contains(got, "(devel)") || strings.Contains(got, ":   unknown") && tc.bi != nil && tc.bi.Main.Version == "(devel)" {
				t.Errorf("an unstamped source build still says (devel) or unknown:\n%s", got)
			}
		})
	}
}
