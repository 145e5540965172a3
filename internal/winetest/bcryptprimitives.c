/* Test-only stand-in for bcryptprimitives.dll under Wine 8.0, which lacks
 * ProcessPrng (the Go 1.26 runtime's randomness source). Never shipped:
 * tests copy it into a throwaway Wine prefix. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG));
}
