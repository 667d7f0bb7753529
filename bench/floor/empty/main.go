// Command empty does nothing: the floor for a Go process's start-up, which
// bench/run.py times next to `gcp-aws-cred --version`.
package main

func main() {}
