/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guest-agent.present: the target platform's guest agent is installed (package or binary), enabled
 * (a systemd wants link) and, live, running. cloud-init counts on Azure/AWS only when its datasource
 * list allows the target's datasource. Agents of the source platform that misbehave elsewhere
 * (open-vm-tools, Xen tools, waagent outside Azure) are mentioned.
 */
#include "check.h"
#include "fileio.h"

#include <ctype.h>

struct agent {
	const char *name; /* as target_profile.guest_agents names it */
	const char *const *packages, *const *binaries, *const *units;
	const char *process; /* argv[0]/argv[1] basename of the running daemon; NULL: not a daemon */
	bool udev_started;   /* started by udev when the host channel appears: no wants link needed */
	unsigned foreign_on; /* targets on which this agent misbehaves */
};

#define LIST(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct agent agents[] = {
	{ "waagent", LIST("walinuxagent", "WALinuxAgent", "waagent"), LIST("/usr/sbin/waagent", "/usr/bin/waagent"),
	  LIST("walinuxagent.service", "waagent.service"), "waagent", false, TGT_KVM | TGT_AWS },
	{ "cloud-init", LIST("cloud-init"), LIST("/usr/bin/cloud-init"),
	  LIST("cloud-init.service", "cloud-init-local.service", "cloud-init-main.service"), NULL, false, 0 },
	{ "qemu-guest-agent", LIST("qemu-guest-agent"), LIST("/usr/sbin/qemu-ga", "/usr/bin/qemu-ga"),
	  LIST("qemu-guest-agent.service"), "qemu-ga", true, 0 },
	{ "amazon-ssm-agent", LIST("amazon-ssm-agent"), LIST("/usr/bin/amazon-ssm-agent", "/snap/bin/amazon-ssm-agent"),
	  LIST("amazon-ssm-agent.service", "snap.amazon-ssm-agent.amazon-ssm-agent.service"), "amazon-ssm-agent",
	  false, 0 },
	{ "open-vm-tools", LIST("open-vm-tools"), LIST("/usr/bin/vmtoolsd"), LIST("open-vm-tools.service",
	  "vmtoolsd.service"), "vmtoolsd", false, TGT_CLOUDS },
	{ "xe-guest-utilities", LIST("xe-guest-utilities"), LIST("/usr/sbin/xe-daemon"),
	  LIST("xe-linux-distribution.service"), "xe-daemon", false, TGT_CLOUDS },
};

static const struct agent *agent_find(const char *name)
{
	if (streq(name, "walinuxagent"))
		name = "waagent";
	for (size_t i = 0; i < ARRAY_SIZE(agents); i++)
		if (streq(agents[i].name, name))
			return &agents[i];
	return NULL;
}

/* dpkg's status database: is PKG "install ok installed"? (rpm's database needs rpm: binaries decide there.) */
static bool dpkg_installed(const char *status, const char *pkg)
{
	_cleanup_free_ char *needle = xasprintf("\nPackage: %s\n", pkg);
	const char *p = status;

	while ((p = strstr(p, needle))) {
		const char *end = strstr(p + 1, "\n\n"), *st = strstr(p, "\nStatus: ");

		if (st && (!end || st < end) && startswith(st, "\nStatus: install ok installed"))
			return true;
		p += strlen(needle) - 1;
	}
	return false;
}

/* The wants link that enables UNIT, or NULL. */
static char *wants_link(const struct sysroot *sr, const char *unit)
{
	_cleanup_strv_ strv dirs = { 0 };

	if (sysroot_list_dir(sr, "/etc/systemd/system", &dirs) < 0)
		return NULL;
	for (size_t i = 0; i < dirs.n; i++) {
		_cleanup_free_ char *p = NULL;
		struct stat st;

		if (!endswith(dirs.v[i], ".wants"))
			continue;
		p = xasprintf("/etc/systemd/system/%s/%s", dirs.v[i], unit);
		if (sysroot_lstat(sr, p, &st) == 0)
			return TAKE_PTR(p);
	}
	return NULL;
}

static bool masked(const struct sysroot *sr, const char *unit)
{
	_cleanup_free_ char *p = xasprintf("/etc/systemd/system/%s", unit), *t = NULL;

	return sysroot_readlink(sr, p, &t) == 0 && streq(t, "/dev/null");
}

static bool running(const char *process)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *de;

	while (d && (de = readdir(d))) {
		_cleanup_free_ char *p = NULL, *buf = NULL;
		size_t len, off = 0;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		p = xasprintf("/proc/%s/cmdline", de->d_name);
		if (read_file_bounded(p, 65536, &buf, &len) < 0)
			continue;
		/* "python3 -u /usr/sbin/waagent -daemon": look at the first three arguments */
		for (int arg = 0; arg < 3 && off < len; arg++) {
			const char *a = buf + off, *base = strrchr(a, '/');

			if (streq(base ? base + 1 : a, process))
				return true;
			off += strlen(a) + 1;
		}
	}
	return false;
}

struct found {
	const char *how;   /* "package walinuxagent" or the binary path */
	char pkg[160];
	char *wants;       /* enabling link */
	bool masked;
};

static bool detect(struct check_ctx *ctx, const struct agent *a, const char *dpkg, struct found *f)
{
	static const char *const unit_dirs[] = { "/usr/lib/systemd/system", "/lib/systemd/system" };

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; dpkg && a->packages[i] && !f->how; i++)
		if (dpkg_installed(dpkg, a->packages[i])) {
			snprintf(f->pkg, sizeof(f->pkg), "package %s", a->packages[i]);
			f->how = f->pkg;
		}
	for (size_t i = 0; a->binaries[i] && !f->how; i++)
		if (sysroot_exists(ctx->root, a->binaries[i]))
			f->how = a->binaries[i];
	/* rpm's database needs rpm to read: the unit file the package ships says it is installed */
	for (size_t i = 0; a->units[i] && !f->how; i++)
		for (size_t d = 0; d < ARRAY_SIZE(unit_dirs) && !f->how; d++) {
			snprintf(f->pkg, sizeof(f->pkg), "%s/%s", unit_dirs[d], a->units[i]);
			if (sysroot_exists(ctx->root, f->pkg))
				f->how = f->pkg;
		}
	for (size_t i = 0; f->how && a->units[i] && !f->wants; i++) {
		f->wants = wants_link(ctx->root, a->units[i]);
		f->masked |= masked(ctx->root, a->units[i]);
	}
	return f->how != NULL;
}

/* cloud-init's datasource_list (last file that sets it wins) allows DS? No list: every datasource. */
static bool datasource_allowed(struct check_ctx *ctx, const char *ds, char **where)
{
	_cleanup_strv_ strv files = { 0 }, names = { 0 };
	bool allowed = true;

	strv_push(&files, "/etc/cloud/cloud.cfg");
	if (sysroot_list_dir(ctx->root, "/etc/cloud/cloud.cfg.d", &names) == 0)
		for (size_t i = 0; i < names.n; i++)
			if (endswith(names.v[i], ".cfg"))
				strv_push_take(&files, xasprintf("/etc/cloud/cloud.cfg.d/%s", names.v[i]));
	for (size_t i = 0; i < files.n; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		char *p, *end;

		if (sysroot_read_file(ctx->root, files.v[i], CONFIG_FILE_MAX, &buf, &len) < 0)
			continue;
		for (p = buf; (p = strstr(p, "datasource_list")); p++)
			if (p == buf || p[-1] == '\n')
				break;
		if (!p)
			continue;
		/* The value: the rest of the line, or the indented "- Name" lines after it. */
		for (end = strchr(p, '\n'); end && (end[1] == ' ' || end[1] == '\t' || end[1] == '-');)
			end = strchr(end + 1, '\n');
		if (end)
			*end = '\0';
		allowed = strstr(p, ds) != NULL;
		free(*where);
		*where = xstrdup(files.v[i]);
	}
	return allowed;
}

static void foreign_agents(struct check_ctx *ctx, struct result *r, const char *dpkg)
{
	for (size_t i = 0; i < ARRAY_SIZE(agents); i++) {
		const struct agent *a = &agents[i];
		struct found f;

		if (!(a->foreign_on & (1u << ctx->target->id)) || !detect(ctx, a, dpkg, &f))
			continue;
		cJSON_AddStringToObject(result_evidence(r, NULL, 0, f.how), "foreign_agent", a->name);
		result_detail(r, "Note: %s (%s) belongs to another platform and misbehaves on %s; remove it after "
			      "the move.", a->name, f.how, ctx->target->pretty);
		free(f.wants);
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	const struct target_profile *t = ctx->target;
	_cleanup_free_ char *dpkg = NULL;
	size_t len;
	bool ok = false, some = false;

	if (!t->guest_agents[0]) {
		result_detail(r, "%s needs no guest agent.", t->pretty);
		return;
	}
	if (sysroot_read_file(ctx->root, "/var/lib/dpkg/status", 256u << 20, &dpkg, &len) < 0)
		dpkg = NULL;
	for (size_t i = 0; t->guest_agents[i] && !ok; i++) {
		const struct agent *a = agent_find(t->guest_agents[i]);
		_cleanup_free_ char *ds_file = NULL;
		struct found f;
		cJSON *e;

		if (!a || (i > 0 && a == agent_find(t->guest_agents[i - 1])) || !detect(ctx, a, dpkg, &f))
			continue;
		some = true;
		e = result_evidence(r, f.wants, 0, f.how);
		cJSON_AddStringToObject(e, "agent", a->name);
		if (streq(a->name, "cloud-init") && t->cloud_init_datasource &&
		    !datasource_allowed(ctx, t->cloud_init_datasource, &ds_file)) {
			result_detail(r, "cloud-init is installed but %s limits datasource_list without %s.", ds_file,
				      t->cloud_init_datasource);
		} else if (f.masked || (!f.wants && !a->udev_started)) {
			result_detail(r, "%s is installed (%s) but %s at boot.", a->name, f.how,
				      f.masked ? "masked, so it never starts" : "not enabled");
		} else if (a->process && sysroot_is_live(ctx->root) && !running(a->process)) {
			result_set(r, ST_WARN, "%s is installed and enabled but not running now (it may be failing: "
				   "see `systemctl status %s`).", a->name, a->units[0]);
			ok = true; /* present and enabled: the warning above is the whole story */
		} else {
			result_detail(r, "%s is installed (%s) and enabled.", a->name, f.how);
			ok = true;
		}
		free(f.wants);
	}
	if (!ok) {
		result_set(r, ST_WARN, "%s for %s.", some ? "The guest agent is not usable" : "No guest agent installed",
			   t->pretty);
		const struct agent *a = agent_find(t->guest_agents[0]);
		const char *pkg = a ? a->packages[ctx->host->family != FAMILY_DEBIAN && a->packages[1] ? 1 : 0]
				    : t->guest_agents[0];

		result_remediation(r, false, "Install and enable %s.", pkg);
		result_command(r, "%s %s", host_install_cmd(ctx->host), pkg);
	}
	foreign_agents(ctx, r, dpkg);
}

const struct check check_guest_agent_present = {
	.id = "guest-agent.present",
	.title = "Target guest agent installed and enabled",
	.description = "the target platform's guest agent (waagent, cloud-init, qemu-guest-agent, SSM agent)",
	.run = run,
};
