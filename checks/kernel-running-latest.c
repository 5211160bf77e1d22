/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kernel.running-latest: the running kernel is the newest installed one. After the move the VM boots
 * the newest (GRUB's default): if that kernel was never booted here, a migration is the worst moment
 * to find out it does not work.
 */
#include "check.h"
#include "kver.h"

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct host_facts *h = ctx->host;
	const char *newest;
	cJSON *e;

	if (!h->kernel_running) {
		result_set(r, ST_ERROR, "The running kernel's release (uname) is unknown.");
		return;
	}
	if (!h->kernels.n) {
		result_set(r, ST_WARN, "No installed kernel found in /lib/modules or /boot, yet %s runs: a container, "
			   "or a kernel installed outside the package manager.", h->kernel_running);
		return;
	}
	newest = h->kernels.v[h->kernels.n - 1];
	e = result_evidence(r, NULL, 0, NULL); /* from uname(2) */
	cJSON_AddStringToObject(e, "kernel", h->kernel_running);
	cJSON_AddStringToObject(e, "newest_installed", newest);
	if (streq(newest, h->kernel_running)) {
		result_detail(r, "The running kernel %s is the newest installed.", newest);
		return;
	}
	if (!strv_contains(&h->kernels, h->kernel_running))
		result_set(r, ST_WARN, "The running kernel %s is no longer installed; the VM will boot %s on the "
			   "target, which has not run here.", h->kernel_running, newest);
	else
		result_set(r, ST_WARN, "%s runs, but %s is newer and will be the default boot entry on the target; "
			   "it has not been booted here.", h->kernel_running, newest);
	result_remediation(r, false, "Reboot into %s and confirm the system works before migrating.", newest);
	result_command(r, "systemctl reboot");
}

const struct check check_kernel_running_latest = {
	.id = "kernel.running-latest",
	.title = "The running kernel is the newest installed",
	.description = "the running kernel is the newest installed one (live only)",
	.flags = CHECK_LIVE_ONLY,
	.run = run,
};
