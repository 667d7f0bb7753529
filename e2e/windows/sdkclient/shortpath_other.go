//go:build !windows

package main

import "errors"

// shortPath: 8.3 names are Windows's alone.
func shortPath(string) (string, error) {
	return "", errors.New("8.3 short paths exist on Windows only")
}
