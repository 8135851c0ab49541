/* SPDX-License-Identifier: MIT */
/* The programs' ctype locale and the mbrtowc() fast path: see locale.h. */
#include "config.h"

#include <langinfo.h>
#include <locale.h>
#include <string.h>
#include <wchar.h>

#include <ocistream/locale.h>

/* Set once by ocis_locale_init(), before any thread starts; read only. */
static int ascii_is_identity;

int
ocis_locale_init(void)
{
	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		setlocale(LC_CTYPE, "");
	ascii_is_identity = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return ascii_is_identity ? 0 : -1;
}

#ifdef __GLIBC__
/* glibc's implementation under its own name (exported since 2.0; the
 * public name is a weak alias of it, so a static link works too). */
extern size_t __mbrtowc(wchar_t *pwc, const char *s, size_t n, mbstate_t *ps);

/* Interposes libc's mbrtowc() for the whole process, libarchive's calls
 * included, so it is called once a byte: the test is a few loads.  The
 * fast path needs an explicit state in its initial form (glibc's mbsinit()
 * is __count == 0; a pending partial character goes to glibc).  The
 * programs never switch a thread's locale with uselocale(). */
size_t
mbrtowc(wchar_t *restrict pwc, const char *restrict s, size_t n, mbstate_t *restrict ps)
{
	if (s != NULL && n > 0 && (unsigned char)*s < 0x80 && ascii_is_identity &&
	    ps != NULL && ps->__count == 0) {
		if (pwc != NULL)
			*pwc = (wchar_t)(unsigned char)*s;
		return *s != '\0';
	}
	return __mbrtowc(pwc, s, n, ps);
}
#endif
