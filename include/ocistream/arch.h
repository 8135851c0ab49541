/* SPDX-License-Identifier: MIT */
/*
 * Architecture names: one table from the names build systems use (uname
 * -m, Yocto's TARGET_ARCH, Debian's dpkg names) to the OCI platform's
 * architecture and variant (Go's GOARCH names: amd64, arm64/v8, arm/v7).
 */
#ifndef OCISTREAM_ARCH_H
#define OCISTREAM_ARCH_H

/* 1 when `in` is a known name: *arch and *variant (maybe NULL) set from
 * the table; 0 when unknown: *arch = in, *variant = NULL. */
int ocis_arch_lookup(const char *in, const char **arch, const char **variant);

/* The build machine's architecture: uname -m mapped, else what the
 * program was compiled for. */
void ocis_arch_host(const char **arch, const char **variant);

#endif
