/* SPDX-License-Identifier: MIT */
/*
 * Architecture names: see ocistream/arch.h.
 */
#include "config.h"

#include <string.h>
#include <sys/utsname.h>

#include <ocistream/arch.h>

static const struct arch_map {
	const char *in;
	const char *arch;
	const char *variant;
	int prefix;	/* match names starting with `in` */
} arch_table[] = {
	{ "x86_64", "amd64", NULL, 0 },
	{ "x86-64", "amd64", NULL, 0 },
	{ "amd64", "amd64", NULL, 0 },
	{ "aarch64", "arm64", "v8", 0 },
	{ "arm64", "arm64", "v8", 0 },
	{ "armv8l", "arm", "v7", 0 },	/* 32-bit userland on an arm64 kernel */
	{ "armv7", "arm", "v7", 1 },	/* armv7, armv7l, armv7a, armv7ve, ... */
	{ "armhf", "arm", "v7", 0 },
	{ "arm", "arm", "v7", 0 },
	{ "armv6", "arm", "v6", 1 },
	{ "armv5", "arm", "v5", 1 },
	{ "armel", "arm", "v5", 0 },
	{ "i386", "386", NULL, 0 },
	{ "i486", "386", NULL, 0 },
	{ "i586", "386", NULL, 0 },
	{ "i686", "386", NULL, 0 },
	{ "x86", "386", NULL, 0 },
	{ "386", "386", NULL, 0 },
	{ "riscv64", "riscv64", NULL, 0 },
	{ "ppc64le", "ppc64le", NULL, 0 },
	{ "powerpc64le", "ppc64le", NULL, 0 },
	{ "ppc64", "ppc64", NULL, 0 },
	{ "powerpc64", "ppc64", NULL, 0 },
	{ "mips", "mips", NULL, 0 },
	{ "mipsel", "mipsle", NULL, 0 },
	{ "mipsle", "mipsle", NULL, 0 },
	{ "mips64", "mips64", NULL, 0 },
	{ "mips64el", "mips64le", NULL, 0 },
	{ "mips64le", "mips64le", NULL, 0 },
	{ "s390x", "s390x", NULL, 0 },
	{ "loong64", "loong64", NULL, 0 },
	{ "loongarch64", "loong64", NULL, 0 },
};

int
ocis_arch_lookup(const char *in, const char **arch, const char **variant)
{
	size_t i;

	*arch = in;
	*variant = NULL;
	if (in == NULL)
		return 0;
	for (i = 0; i < sizeof(arch_table) / sizeof(arch_table[0]); i++) {
		const struct arch_map *m = &arch_table[i];
		if (m->prefix ? strncmp(in, m->in, strlen(m->in)) == 0 : strcmp(in, m->in) == 0) {
			*arch = m->arch;
			*variant = m->variant;
			return 1;
		}
	}
	return 0;
}

/* The build machine's architecture: uname -m mapped, else what we were
 * compiled for. */
void
ocis_arch_host(const char **arch, const char **variant)
{
	static struct utsname u;

	if (uname(&u) == 0 && ocis_arch_lookup(u.machine, arch, variant))
		return;
#if defined(__x86_64__)
	ocis_arch_lookup("x86_64", arch, variant);
#elif defined(__aarch64__)
	ocis_arch_lookup("aarch64", arch, variant);
#elif defined(__arm__)
	ocis_arch_lookup("arm", arch, variant);
#elif defined(__i386__)
	ocis_arch_lookup("i686", arch, variant);
#elif defined(__riscv) && __riscv_xlen == 64
	ocis_arch_lookup("riscv64", arch, variant);
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	ocis_arch_lookup("ppc64le", arch, variant);
#elif defined(__s390x__)
	ocis_arch_lookup("s390x", arch, variant);
#else
	*arch = u.machine[0] ? u.machine : "unknown";
	*variant = NULL;
#endif
}
