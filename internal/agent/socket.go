package agent

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Variables both sides read.
const (
	// EnvSocket names the socket, for the agent and the credential process.
	EnvSocket = "GCP_AWS_CRED_AGENT_SOCKET"
	// EnvNoAgent=1 makes the credential process skip the agent.
	EnvNoAgent = "GCP_AWS_CRED_NO_AGENT"
)

// SocketName is the socket's name in its directory.
const SocketName = "agent.sock"

// Socket is the socket to use: flag, else GCP_AWS_CRED_AGENT_SOCKET, else
// $XDG_RUNTIME_DIR/gcp-aws-cred/agent.sock (a per-user tmpfs on systemd
// machines, removed at logout, as ssh-agent and gpg-agent use), else
// gcp-aws-cred-UID/agent.sock under the temporary directory, which the
// agent creates 0700 and refuses if another user owns it.
func Socket(flag string, getenv func(string) string) string {
	if s := cmp.Or(flag, getenv(EnvSocket)); s != "" {
		return s
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "gcp-aws-cred", SocketName)
	}
	tmp := getenv("TMPDIR")
	if tmp == "" || !filepath.IsAbs(tmp) {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "gcp-aws-cred-"+strconv.Itoa(os.Getuid()), SocketName)
}

// prepareDir makes sure the socket's directory (created 0700 if missing) is
// a directory, not a link, of this user's that no one else can write: the
// ssh-agent rule, so another user cannot plant or replace the socket.
func prepareDir(dir string) error {
	fi, err := os.Lstat(dir)
	if os.IsNotExist(err) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("cannot create the socket directory %s: %w", dir, err)
		}
		fi, err = os.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("cannot use the socket directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the socket directory %s is not a directory (%s)", dir, fi.Mode().Type())
	}
	if uid := ownerOf(fi); uid != os.Getuid() {
		return fmt.Errorf("the socket directory %s belongs to user %d, not to you (user %d)", dir, uid, os.Getuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("the socket directory %s can be written by others (mode %04o)", dir, fi.Mode().Perm())
	}
	return checkAncestors(dir)
}

// checkAncestors refuses a socket directory inside one another user could
// change: owned by anyone but this user or root, or writable by others
// without the sticky bit (/tmp has it). Whoever may rename a parent's
// entries may put their directory in the agent's place: OpenSSH's rule for
// its keys and sockets, with /tmp's exception.
func checkAncestors(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("cannot use the socket directory %s: %w", dir, err)
	}
	for p := filepath.Dir(abs); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cannot use the socket directory %s: %w", dir, err)
		}
		if uid := ownerOf(fi); uid != os.Getuid() && uid != 0 {
			return fmt.Errorf("the socket directory %s is inside %s, which belongs to user %d: that user could replace it", dir, p, uid)
		}
		if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
			return fmt.Errorf("the socket directory %s is inside %s, which others can write (mode %04o, no sticky bit): they could replace it", dir, p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
