/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The machine architecture of the system being inspected, spelled as uname -m spells it (x86_64,
 * aarch64, ppc64le, s390x...), which is what yum, dnf and zypper expand $basearch/$arch from.
 * Offline (--root) the host's uname says nothing about the guest: an x86_64 host may inspect an
 * aarch64 disk. So the guest's own binaries are asked: the ELF header of /usr/bin/env (or
 * /bin/sh), then rpm's /etc/rpm/platform.
 */
#ifndef PREPCHECK_GUEST_ARCH_H
#define PREPCHECK_GUEST_ARCH_H

#include <stddef.h>

#include "../../agent/common/sysroot.h"

/* The architecture named by an ELF header (the first LEN bytes of the file), or NULL when the bytes
 * are not an ELF header or name a machine we do not know. Never reads past LEN. */
const char *elf_header_arch(const void *hdr, size_t len);

/* The guest's architecture: uname on a live system, the guest's files offline. Returns a string to
 * free, or NULL when nothing in the guest tells (the caller then leaves $basearch unexpanded rather
 * than guess the host's). */
char *guest_arch(const struct sysroot *sr);

#endif
