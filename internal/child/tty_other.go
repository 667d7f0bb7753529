//go:build unix && !linux && !darwin

package child

// foreground is false where the terminal's foreground group is not looked
// up: every signal is forwarded, at the risk of a second SIGINT.
func foreground() bool { return false }
