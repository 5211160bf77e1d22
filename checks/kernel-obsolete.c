/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kernel.obsolete: old kernels crowd /boot. Preparation rebuilds the initramfs of every installed
 * kernel; each old one costs a rebuild and /boot space, and a full /boot aborts the preparation.
 */
#include "check.h"

/* The running kernel, the newest and one fallback are worth keeping; more is clutter. */
#define KEEP 3

static const char *purge_command(const struct host_facts *h)
{
	switch (h->family) {
	case FAMILY_DEBIAN:
		return "apt-get autoremove --purge";
	case FAMILY_RHEL:
		return "dnf remove --oldinstallonly --setopt installonly_limit=2";
	case FAMILY_SUSE:
		return "zypper purge-kernels";
	default:
		return NULL;
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct host_facts *h = ctx->host;
	size_t old;

	for (size_t i = 0; i < h->kernels.n; i++) {
		cJSON *e = result_evidence(r, NULL, 0, NULL);
		cJSON_AddStringToObject(e, "kernel", h->kernels.v[i]);
	}
	if (h->kernels.n <= KEEP) {
		result_detail(r, "%zu kernel%s installed.", h->kernels.n, h->kernels.n == 1 ? "" : "s");
		return;
	}
	old = h->kernels.n - KEEP;
	result_set(r, ST_WARN, "%zu kernels are installed; the %zu oldest (%s%s) each need an initramfs rebuilt "
		   "and room in /boot during preparation.", h->kernels.n, old, h->kernels.v[0], old > 1 ? " ..." : "");
	result_remediation(r, false, "Remove kernels that are neither running nor the newest.");
	if (purge_command(h))
		result_command(r, "%s", purge_command(h));
	for (size_t i = 0; i < old; i++)
		if (!h->kernel_running || !streq(h->kernels.v[i], h->kernel_running)) {
			if (h->family == FAMILY_DEBIAN)
				result_command(r, "apt-get purge linux-image-%s", h->kernels.v[i]);
			else if (h->family == FAMILY_RHEL || h->family == FAMILY_SUSE)
				result_command(r, "rpm -e kernel-%s", h->kernels.v[i]);
		}
}

const struct check check_kernel_obsolete = {
	.id = "kernel.obsolete",
	.title = "No obsolete kernels crowd /boot",
	.description = "at most three kernels installed (running, newest, one fallback)",
	.run = run,
};
