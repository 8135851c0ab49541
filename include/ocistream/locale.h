/* SPDX-License-Identifier: MIT */
/*
 * The ctype locale of the programs that read tars, and a fast path for
 * the multibyte conversion libarchive makes of every name.
 *
 * - ocis_locale_init() sets LC_CTYPE to C.UTF-8 (the environment's locale
 *   if there is none): names are bytes, and a UTF-8 ctype lets
 *   libarchive hand pax names (UTF-8) over unchanged; raw ustar names are
 *   never converted.  Call it first in main(), before any thread.
 * - libarchive up to 3.8.9 at least (the tar reader's "regular file with a
 *   trailing '/'" check; upstream commit 83ca7801, after 3.8.9, stops it) asks for the wide form
 *   of every regular file's name, one mbrtowc() call a byte: about 20 ns a
 *   byte here, most of the CPU of reading an image with long names (a
 *   2000-level tree: 44 MB of names).  On glibc this module therefore
 *   defines mbrtowc(), which answers an ASCII byte in the initial shift
 *   state itself once ocis_locale_init() found a UTF-8 codeset (where
 *   such a byte is always the one character of the same value) and hands
 *   everything else to glibc's own conversion: the results are glibc's,
 *   byte for byte.  Without ocis_locale_init() (unit tests, fuzzers)
 *   every call is glibc's.
 */
#ifndef OCISTREAM_LOCALE_H
#define OCISTREAM_LOCALE_H

/* Sets LC_CTYPE as above; 0 if the codeset is UTF-8, -1 if it is not
 * (names still pass as bytes where libarchive can; the fast path is off). */
int ocis_locale_init(void);

#endif
