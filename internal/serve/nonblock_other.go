//go:build !unix

package serve

// nonblock is zero where open(2) has no O_NONBLOCK: Windows has no FIFOs
// a path opens.
const nonblock = 0
