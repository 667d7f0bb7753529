// Package windows runs the windows/amd64 build of gcp-aws-cred under Wine
// against the same loopback fakes as the Linux end-to-end tests: the
// credential process document, every output format, doctor, exec, exec
// --serve and serve with the Go SDK as client, --impersonate with Windows
// paths, and the Go SDK's own credential_process path through cmd.exe /C,
// where a quoted path with spaces fails (aws/aws-sdk-go-v2#3208).
//
// It is opt-in (GCP_AWS_CRED_WINE=1; .ci/run sets it after installing
// Debian's wine64, wine and gcc-mingw-w64-x86-64-win32), because it costs
// a cross-build and a Wine prefix.
//
// What Wine cannot tell us, and this run therefore does not claim: Wine's
// cmd.exe is a reimplementation, so a line that works here may still be
// parsed differently by Windows's cmd.exe; signals and console control
// events differ (Ctrl+C, and how a process is stopped), so exec's and
// serve's stopping is not tested here; and there is no PowerShell, so the
// powershell output is checked as text only.
//
// sdkclient/ is a separate module (so the SDK's config package stays out
// of the main go.mod): the Go SDK on Windows, loading a shared config.
// testdata/bcryptprimitives.c is a test-only stand-in DLL for Wine 8.0,
// which lacks ProcessPrng; never part of a release.
package windows
