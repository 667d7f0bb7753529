package main

import "syscall"

// shortPath asks Windows for p's 8.3 form, which has no spaces.
func shortPath(p string) (string, error) {
	long, err := syscall.UTF16PtrFromString(p)
	if err != nil {
		return "", err
	}
	buf := make([]uint16, 1024)
	n, err := syscall.GetShortPathName(long, &buf[0], uint32(len(buf)))
	if err != nil {
		return "", err
	}
	return syscall.UTF16ToString(buf[:n]), nil
}
