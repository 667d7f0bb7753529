package main

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/gcp-aws-cred/gcp-aws-cred/internal/cli"
)

// Release builds stamp these with
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<full hash> -X main.date=<RFC 3339>"
//
// date is the commit's time, not the time of the build: the same commit
// must give the same bytes, and a wall-clock date would differ on every
// build. An unstamped binary (go install …@v1.2.3, go build in a clone)
// reports what the Go toolchain recorded in it instead.
var (
	version = ""
	commit  = ""
	date    = ""
)

// versionString is what --version prints. main calls it only when
// --version is on the command line: reading the build info costs start-up
// time on every credential fetch otherwise.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version, commit, date, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// formatVersion fills what the -X stamps left empty from the build info: the
// module version go install records, and the revision and commit time go
// build records in a git checkout. bi may be nil.
func formatVersion(version, commit, date string, bi *debug.BuildInfo, goVersion, platform string) string {
	if bi == nil {
		bi = &debug.BuildInfo{}
	}
	// Only a version the toolchain recorded can be its pseudo-version.
	fromToolchain := version == ""
	if fromToolchain {
		version = bi.Main.Version
	}
	modified, checkout := false, false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			checkout = true
			if commit == "" {
				commit = s.Value
			}
		case "vcs.time":
			if date == "" {
				date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	// A build from source without a version stamp: the toolchain's
	// "(devel)" says nothing to a user, so say what it means, and why no
	// commit is known when none is. Since Go 1.24 a build in a git checkout
	// gets a pseudo-version instead (v0.0.0-20261201144802-25d140087637),
	// which reads like a release v0.0.0; the commit and date lines already
	// say what it encodes.
	first := cli.Name + " " + version
	source := version == "" || version == "(devel)" || fromToolchain && checkout && isPseudoVersion(version)
	if source {
		first = cli.Name + " built from source; version not stamped"
	}
	switch {
	case commit == "" && source:
		commit = "not recorded (built outside a git checkout, or with -buildvcs=false)"
		if date == "" {
			date = "not recorded"
		}
	case commit == "":
		commit = "unknown"
	case modified:
		// The tree had uncommitted changes: the commit alone does not
		// say what was built.
		commit += " (modified)"
	}
	if date == "" {
		date = "unknown"
	}
	var b strings.Builder
	b.WriteString(first + "\n")
	b.WriteString("commit:   " + commit + "\n")
	b.WriteString("date:     " + date + "\n")
	b.WriteString("go:       " + goVersion + "\n")
	b.WriteString("platform: " + platform)
	return b.String()
}

// isPseudoVersion reports whether v is a Go pseudo-version, the form the
// toolchain gives an untagged commit: it ends in a 14-digit UTC time and a
// 12-digit commit prefix (vX.0.0-TIME-HASH, vX.Y.Z-pre.0.TIME-HASH,
// vX.Y.Z-0.TIME-HASH), optionally followed by +dirty.
func isPseudoVersion(v string) bool {
	v, _, _ = strings.Cut(v, "+")
	rest, hash, ok := cutLast(v, "-")
	if !ok || len(hash) != 12 || strings.Trim(hash, "0123456789abcdef") != "" {
		return false
	}
	_, stamp, ok := cutLast(rest, "-")
	if !ok {
		return false
	}
	if i := strings.LastIndexByte(stamp, '.'); i >= 0 {
		stamp = stamp[i+1:]
	}
	return len(stamp) == 14 && strings.Trim(stamp, "0123456789") == ""
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
