/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * modprobe.blacklist: no target driver (azure: also vfat and udf) is blacklisted or disabled with
 * `install X /bin/true` in modprobe.d, nor on the kernel command line. Such a VM drops to an
 * initramfs shell on the target even with a perfect image.
 */
#include "check.h"
#include "dracut-conf.h"
#include "fileio.h"
#include "modname.h"
#include "modprobe-conf.h"

/* The command lines the system boots with: the running one (live), /etc/default/grub, and the boot
 * loader spec entries. */
static void cmdline_rules(struct check_ctx *ctx, struct modprobe_rules *rules)
{
	static const char *const grub_keys[] = { "GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT" };
	_cleanup_strv_ strv entries = { 0 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (sysroot_is_live(ctx->root) && read_file_bounded("/proc/cmdline", 1u << 16, &buf, &len) == 0)
		modprobe_cmdline_parse("/proc/cmdline", 0, buf, rules);
	free(TAKE_PTR(buf));
	if (sysroot_read_file(ctx->root, "/etc/default/grub", CONFIG_FILE_MAX, &buf, &len) == 0) {
		struct shconf c = { 0 };

		shconf_parse(buf, len, &c);
		for (size_t i = 0; i < c.n; i++)
			for (size_t k = 0; k < ARRAY_SIZE(grub_keys); k++)
				if (streq(c.v[i].key, grub_keys[k]))
					modprobe_cmdline_parse("/etc/default/grub", c.v[i].line, c.v[i].value, rules);
		shconf_free(&c);
	}
	if (sysroot_list_dir(ctx->root, "/boot/loader/entries", &entries) < 0)
		return;
	for (size_t i = 0; i < entries.n; i++) {
		_cleanup_free_ char *path = xasprintf("/boot/loader/entries/%s", entries.v[i]), *b = NULL;
		struct line_iter it;
		char *line;

		if (!endswith(entries.v[i], ".conf") || sysroot_read_file(ctx->root, path, CONFIG_FILE_MAX, &b, &len) < 0)
			continue;
		line_iter_init(&it, b, len);
		while ((line = line_iter_next(&it, NULL))) {
			char *s = strstrip(line);

			if (startswith(s, "options") && (s[7] == ' ' || s[7] == '\t'))
				modprobe_cmdline_parse(path, it.lineno, s + 7, rules);
		}
	}
}

/* required: true for a target driver that is required, or a module the target must keep loadable. */
static bool watched(const struct target_profile *t, const char *module, bool *required)
{
	for (const struct target_driver *d = t->drivers; d->modules; d++) {
		_cleanup_free_ char *copy = xstrdup(d->modules);
		char *save = NULL;

		for (char *m = strtok_r(copy, "|", &save); m; m = strtok_r(NULL, "|", &save))
			if (modname_eq(m, module)) {
				*required = d->required;
				return true;
			}
	}
	for (const char *const *k = t->keep_loadable; *k; k++)
		if (modname_eq(*k, module)) {
			*required = true;
			return true;
		}
	return false;
}

static void report_rule(struct check_ctx *ctx, struct result *r, const struct modprobe_rule *rule, bool required)
{
	static const char *const how[] = { "blacklisted", "disabled (install runs a no-op)",
					   "blacklisted on the kernel command line" };
	cJSON *e = result_evidence(r, rule->path, rule->line, rule->text);

	cJSON_AddStringToObject(e, "module", rule->module);
	result_set(r, required ? ST_FAIL : ST_WARN, "%s is %s in %s%s%.0u: %s cannot load it.", rule->module,
		   how[rule->kind], rule->path, rule->line ? ":" : "", rule->line, ctx->target->pretty);
	if (rule->kind == MP_CMDLINE) {
		/* /proc/cmdline itself has no fix: the boot configuration it came from does. */
		if (rule->line > 0)
			result_command(r, "sed -i '%us| *%s||' %s", rule->line, rule->text, rule->path);
		if (streq(rule->path, "/etc/default/grub"))
			result_command(r, "%s", ctx->host->family == FAMILY_DEBIAN ? "update-grub"
						 : "grub2-mkconfig -o /boot/grub2/grub.cfg");
	} else {
		result_command(r, "sed -i '%us/^/# /' %s", rule->line, rule->path);
	}
	/* dracut and initramfs-tools copy modprobe.d into the image: the rebuild carries the change. */
	for (size_t i = 0; i < ctx->host->kernels.n && rule->kind != MP_CMDLINE; i++) {
		_cleanup_free_ char *cmd = host_rebuild_initramfs_cmd(ctx->host, ctx->host->kernels.v[i]);

		result_command(r, "%s", cmd);
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	_cleanup_strv_ strv errors = { 0 };
	struct modprobe_rules rules = { 0 };
	unsigned hits = 0;

	modprobe_conf_load(ctx->root, &rules, &errors);
	cmdline_rules(ctx, &rules);
	for (size_t i = 0; i < rules.n; i++) {
		bool required = false;

		if (!watched(ctx->target, rules.v[i].module, &required))
			continue;
		report_rule(ctx, r, &rules.v[i], required);
		hits++;
	}
	for (size_t i = 0; i < errors.n; i++)
		result_set(r, ST_ERROR, "Cannot read %s.", errors.v[i]);
	if (hits > 0)
		result_remediation(r, false, "Remove the blacklist or install lines that name %s's drivers, then "
				   "rebuild the initramfs (modprobe.d is copied into it).", ctx->target->pretty);
	else if (errors.n == 0)
		result_detail(r, "No modprobe.d file or kernel command line blacklists a driver %s needs (%zu rules "
			      "read).", ctx->target->pretty, rules.n);
	modprobe_rules_free(&rules);
}

const struct check check_modprobe_blacklist = {
	.id = "modprobe.blacklist",
	.title = "No target driver is blacklisted",
	.description = "modprobe.d and the kernel command line do not blacklist or disable the target's drivers",
	.targets = TGT_CLOUDS,
	.run = run,
};
