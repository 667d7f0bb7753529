/*
 * A test-only stand-in for Windows's bcryptprimitives.dll, for Wine 8.0,
 * which lacks it. Go's runtime (1.24 and later) calls ProcessPrng from it
 * for random bytes and stops at start without it. This forwards to Wine's
 * BCryptGenRandom with the system RNG. It is built by the Windows run under
 * Wine (e2e/windows) into that run's throwaway prefix: a test fixture, never
 * part of a release. Real Windows (10 and later) has the real one.
 *
 * x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
