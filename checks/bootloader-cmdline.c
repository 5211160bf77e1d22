/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bootloader.cmdline: the kernel command lines the boot loader will use (grub.cfg menu entries,
 * BLS entries) and the one the next grub-mkconfig regenerates them from (/etc/default/grub) must
 * not name the root or resume device by kernel name (disks are renamed on the target), must not
 * disable ACPI (Hyper-V and KVM enumerate their devices through it), and on targets whose only
 * console is the serial port (Azure's serial console, EC2's console log) must send it to ttyS0.
 */
#include "check.h"
#include "disks.h"
#include "fileio.h"
#include "fstab.h"
#include "grubcfg.h"

#include <strings.h>

#define SERIAL_CONSOLE "console=ttyS0,115200n8"
/* GRUB's environment block is 1 KiB; anything much larger is not one. */
#define GRUBENV_MAX (64u << 10)

static const char *const grub_cfgs[] = { "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg" };
static const char *const grubenvs[] = { "/boot/grub2/grubenv", "/boot/grub/grubenv" };

enum problem { P_ROOT, P_RESUME, P_ACPI, P_CONSOLE, P__COUNT };

struct findings {
	struct boot_cmdlines c;
	strv cfg_paths;        /* grub.cfg files that hold linux lines (for grub-mkconfig -o) */
	strv remove_words;     /* parameters to drop, as written */
	char *root_word;       /* root=/dev/sda1 as written, to replace */
	bool found[P__COUNT];
	bool default_grub_seen, default_grub_has_linux_line;
	bool bls_problem;      /* a problem sits in a BLS entry: grubby edits those */
	bool any_entry;        /* grub.cfg or BLS entries exist */
};

/* Read PATH if it exists; other errors become status error naming the file. */
static int read_cfg(struct check_ctx *ctx, struct result *r, const char *path, size_t max, char **buf, size_t *len)
{
	int e = sysroot_read_file(ctx->root, path, max, buf, len);

	if (e < 0 && e != -ENOENT && e != -ENOTDIR)
		result_file_error(r, path, e);
	return e;
}

static void gather_grub_cfgs(struct check_ctx *ctx, struct result *r, struct findings *f)
{
	_cleanup_strv_ strv paths = { 0 }, vendors = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(grub_cfgs); i++)
		strv_push(&paths, grub_cfgs[i]);
	/* RHEL 7/8 and SUSE on UEFI keep the real grub.cfg on the ESP; Debian's there is a stub. */
	if (sysroot_list_dir(ctx->root, "/boot/efi/EFI", &vendors) == 0)
		for (size_t i = 0; i < vendors.n; i++)
			strv_push_take(&paths, xasprintf("/boot/efi/EFI/%s/grub.cfg", vendors.v[i]));
	for (size_t i = 0; i < paths.n; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0, before = f->c.n;

		if (read_cfg(ctx, r, paths.v[i], CONFIG_FILE_MAX, &buf, &len) < 0)
			continue;
		grubcfg_parse(buf, len, paths.v[i], &f->c);
		if (f->c.n > before)
			strv_push(&f->cfg_paths, paths.v[i]);
	}
}

static void gather_bls(struct check_ctx *ctx, struct result *r, struct findings *f)
{
	_cleanup_strv_ strv names = { 0 };
	_cleanup_free_ char *env = NULL;

	if (sysroot_list_dir(ctx->root, "/boot/loader/entries", &names) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(grubenvs) && !env; i++)
		(void)read_cfg(ctx, r, grubenvs[i], GRUBENV_MAX, &env, NULL);
	for (size_t i = 0; i < names.n; i++) {
		_cleanup_free_ char *path = xasprintf("/boot/loader/entries/%s", names.v[i]);
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;

		if (!endswith(names.v[i], ".conf") || read_cfg(ctx, r, path, CONFIG_FILE_MAX, &buf, &len) < 0)
			continue;
		bls_parse(buf, len, path, env, &f->c);
	}
}

static void gather(struct check_ctx *ctx, struct result *r, struct findings *f)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	gather_grub_cfgs(ctx, r, f);
	gather_bls(ctx, r, f);
	f->any_entry = f->c.n > 0;
	if (read_cfg(ctx, r, "/etc/default/grub", CONFIG_FILE_MAX, &buf, &len) == 0) {
		f->default_grub_seen = true;
		default_grub_parse(buf, len, "/etc/default/grub", &f->c);
	}
}

static const char *source_name(const struct boot_cmdline *e)
{
	switch (e->source) {
	case SRC_GRUB_CFG:
		return "menu entry";
	case SRC_BLS:
		return "BLS entry";
	default:
		return "default for new entries";
	}
}

static void evidence(struct result *r, struct findings *f, const struct boot_cmdline *e, const char *problem)
{
	cJSON *ev = result_evidence(r, e->path, e->line, e->text);

	if (e->source == SRC_BLS)
		f->bls_problem = true;

	cJSON_AddStringToObject(ev, "kind", source_name(e));
	if (e->entry)
		cJSON_AddStringToObject(ev, "entry", e->entry);
	cJSON_AddStringToObject(ev, "problem", problem);
}

static bool by_device_name(const char *value)
{
	enum spec_kind k = fstab_spec_kind(value, NULL);

	return k == SPEC_KERNEL_NAME || k == SPEC_BY_ID || k == SPEC_BY_PATH;
}

static void check_one(const struct check_ctx *ctx, struct result *r, struct findings *f, const struct boot_cmdline *e,
		      const struct cmdline_params *p)
{
	const struct cmdline_param *root = cmdline_find(p, "root"), *resume = cmdline_find(p, "resume");

	if (root && root->value && by_device_name(root->value)) {
		_cleanup_free_ char *msg = xasprintf("root=%s names the root device by its kernel name", root->value);

		evidence(r, f, e, msg);
		f->found[P_ROOT] = true;
		if (!f->root_word)
			f->root_word = xstrdup(root->raw);
	}
	if (resume && resume->value && by_device_name(resume->value)) {
		_cleanup_free_ char *msg = xasprintf("resume=%s names the swap device by its kernel name", resume->value);

		evidence(r, f, e, msg);
		f->found[P_RESUME] = true;
		if (!strv_contains(&f->remove_words, resume->raw))
			strv_push(&f->remove_words, resume->raw);
	}
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->v[i].key, "acpi") && p->v[i].value &&
		    (streq(p->v[i].value, "0") || strcasecmp(p->v[i].value, "off") == 0)) {
			evidence(r, f, e, "ACPI disabled");
			f->found[P_ACPI] = true;
			if (!strv_contains(&f->remove_words, p->v[i].raw))
				strv_push(&f->remove_words, p->v[i].raw);
		}
	if (ctx->target->serial_console && e->source != SRC_DEFAULT_GRUB && !cmdline_has_console(p, "ttyS0")) {
		evidence(r, f, e, "no console=ttyS0");
		f->found[P_CONSOLE] = true;
	}
}

/* /etc/default/grub: GRUB_CMDLINE_LINUX and _DEFAULT both end up on the normal entries' line. */
static void check_default_console(const struct check_ctx *ctx, struct result *r, struct findings *f)
{
	const struct boot_cmdline *first = NULL;
	bool has = false;

	for (size_t i = 0; i < f->c.n; i++) {
		const struct boot_cmdline *e = &f->c.v[i];
		struct cmdline_params p;

		if (e->source != SRC_DEFAULT_GRUB)
			continue;
		if (!first || streq(e->entry, "GRUB_CMDLINE_LINUX"))
			first = e;
		if (streq(e->entry, "GRUB_CMDLINE_LINUX"))
			f->default_grub_has_linux_line = true;
		cmdline_split(e->args, &p);
		has = has || cmdline_has_console(&p, "ttyS0");
		cmdline_params_free(&p);
	}
	if (!ctx->target->serial_console || has || !f->default_grub_seen)
		return;
	if (first) {
		evidence(r, f, first, "no console=ttyS0 in GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT");
	} else {
		cJSON *ev = result_evidence(r, "/etc/default/grub", 0, NULL);
		cJSON_AddStringToObject(ev, "problem", "no GRUB_CMDLINE_LINUX: new entries get no console=ttyS0");
	}
	f->found[P_CONSOLE] = true;
}

/* Quote WORD for a sed basic regular expression between '|' delimiters. */
static char *sed_quote(const char *word)
{
	char *out = xmalloc(strlen(word) * 4 + 1), *o = out;

	for (const char *s = word; *s; s++) {
		if (*s == '\'') { /* the command is single-quoted for the shell */
			memcpy(o, "'\\''", 4);
			o += 4;
			continue;
		}
		if (strchr("\\|.*[]^$&", *s))
			*o++ = '\\';
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

static char *root_uuid(struct check_ctx *ctx)
{
	const struct disk_set *ds = ctx_disks(ctx);
	const struct blk_volume *v = ds ? disks_find_mount(ds, sysroot_path(ctx->root), "/", NULL) : NULL;

	return v && v->uuid ? xstrdup(v->uuid) : NULL;
}

/* Commands for /etc/default/grub (every family that runs grub-mkconfig reads it). */
static void default_grub_commands(struct result *r, const struct findings *f, const char *root_new)
{
	if (!f->default_grub_seen)
		return;
	for (size_t i = 0; i < f->remove_words.n; i++) {
		_cleanup_free_ char *q = sed_quote(f->remove_words.v[i]);
		result_command(r, "sed -i 's|[[:space:]]*%s||' /etc/default/grub", q);
	}
	if (f->root_word) {
		_cleanup_free_ char *q = sed_quote(f->root_word);
		result_command(r, "sed -i 's|%s|%s|' /etc/default/grub", q, root_new);
	}
	if (f->found[P_ROOT] && f->c.disable_linux_uuid)
		result_command(r, "sed -i 's|^GRUB_DISABLE_LINUX_UUID=.*|GRUB_DISABLE_LINUX_UUID=false|' "
				  "/etc/default/grub");
	if (f->found[P_CONSOLE]) {
		if (f->default_grub_has_linux_line)
			result_command(r, "sed -i 's|^GRUB_CMDLINE_LINUX=\\([\"'\\'']\\)|&%s |' /etc/default/grub",
				       SERIAL_CONSOLE);
		else
			result_command(r, "echo 'GRUB_CMDLINE_LINUX=\"%s\"' >> /etc/default/grub", SERIAL_CONSOLE);
	}
}

static void grubby_commands(struct result *r, const struct findings *f, const char *root_new)
{
	_cleanup_free_ char *add = NULL, *remove = NULL;

	for (size_t i = 0; i < f->remove_words.n; i++) {
		char *n = remove ? xasprintf("%s %s", remove, f->remove_words.v[i]) : xstrdup(f->remove_words.v[i]);
		free(remove);
		remove = n;
	}
	if (f->root_word)
		add = xstrdup(root_new);
	if (f->found[P_CONSOLE]) {
		char *n = add ? xasprintf("%s %s", add, SERIAL_CONSOLE) : xstrdup(SERIAL_CONSOLE);
		free(add);
		add = n;
	}
	if (remove)
		result_command(r, "grubby --update-kernel=ALL --remove-args=\"%s\"", remove);
	if (add)
		result_command(r, "grubby --update-kernel=ALL --args=\"%s\"", add);
}

static void remediation(struct check_ctx *ctx, struct result *r, struct findings *f)
{
	_cleanup_free_ char *uuid = f->found[P_ROOT] ? root_uuid(ctx) : NULL;
	_cleanup_free_ char *root_new = xasprintf("root=UUID=%s", uuid ? uuid : "<UUID of />");
	enum os_family fam = ctx->host->family;
	bool bls = f->c.uses_blscfg || (!f->cfg_paths.n && f->any_entry);
	const char *cfg = f->cfg_paths.n ? f->cfg_paths.v[0] : NULL;

	_cleanup_free_ char *todo = NULL;
	static const char *const what[P__COUNT] = {
		[P_ROOT] = "name the root device by UUID",
		[P_RESUME] = "drop resume= by device name (hibernation does not move with the VM)",
		[P_ACPI] = "drop acpi=0/acpi=off",
		[P_CONSOLE] = ("add " SERIAL_CONSOLE),
	};
	for (int i = 0; i < P__COUNT; i++) {
		char *n;

		if (!f->found[i])
			continue;
		n = todo ? xasprintf("%s; %s", todo, what[i]) : xstrdup(what[i]);
		free(todo);
		todo = n;
	}
	result_remediation(r, false, "On the kernel command line: %s. Then regenerate the boot configuration.%s%s",
			   todo ? todo : "nothing to change",
			   f->bls_problem ? " BLS entries: grubby edits every entry (elsewhere edit the options lines in "
					    "/boot/loader/entries and /etc/kernel/cmdline)." : "",
			   uuid || !f->found[P_ROOT] ? "" : " Find the root UUID with: findmnt -no UUID /");
	if (fam == FAMILY_RHEL || f->bls_problem || (fam == FAMILY_UNKNOWN && bls))
		grubby_commands(r, f, root_new);
	default_grub_commands(r, f, root_new);
	if (fam == FAMILY_DEBIAN) {
		result_command(r, "update-grub");
	} else if (fam == FAMILY_RHEL) {
		if (!bls || cfg)
			result_command(r, "grub2-mkconfig -o %s", cfg ? cfg : "/boot/grub2/grub.cfg");
	} else if (cfg || f->default_grub_seen) {
		bool two = (cfg && strstr(cfg, "/grub2/")) || fam == FAMILY_SUSE;
		result_command(r, "%s -o %s", two ? "grub2-mkconfig" : "grub-mkconfig",
			       cfg ? cfg : two ? "/boot/grub2/grub.cfg" : "/boot/grub/grub.cfg");
	}
}

static void summarize(struct check_ctx *ctx, struct result *r, const struct findings *f)
{
	if (f->found[P_ROOT])
		result_set(r, ST_FAIL, "root= names the root device by kernel name: disks are named differently on %s "
			   "(e.g. /dev/sda becomes /dev/sdb or /dev/nvme0n1), so the kernel may not find its root.",
			   ctx->target->pretty);
	if (f->found[P_ACPI])
		result_set(r, ST_FAIL, "ACPI is disabled (acpi=0/acpi=off): %s enumerates its virtual devices "
			   "through ACPI, so the VM would boot without disks or network.", ctx->target->pretty);
	if (f->found[P_RESUME])
		result_set(r, ST_WARN, "resume= names the swap device by kernel name: on %s the initramfs may wait "
			   "for a device that no longer exists.", ctx->target->pretty);
	if (f->found[P_CONSOLE])
		result_set(r, ST_WARN, "The kernel console is not sent to the serial port (console=ttyS0): %s's serial "
			   "console and boot diagnostics would show nothing.", ctx->target->pretty);
}

static void findings_free(struct findings *f)
{
	boot_cmdlines_free(&f->c);
	strv_free(&f->cfg_paths);
	strv_free(&f->remove_words);
	free(f->root_word);
}

static void run(struct check_ctx *ctx, struct result *r)
{
	_cleanup_(findings_free) struct findings f = { 0 };
	bool any = false;

	gather(ctx, r, &f);
	if (!f.c.n && !f.c.nbad) {
		if (result_get_status(r) != ST_ERROR)
			result_set(r, ST_SKIP, "No GRUB 2 configuration (grub.cfg, /etc/default/grub) and no BLS entries "
				   "(/boot/loader/entries): the kernel command line of this boot loader is not checked.");
		return;
	}
	for (size_t i = 0; i < f.c.nbad; i++) {
		cJSON *ev = result_evidence(r, f.c.bad[i].path, f.c.bad[i].line, NULL);
		cJSON_AddStringToObject(ev, "problem", f.c.bad[i].reason);
		result_set(r, ST_WARN, "%s line %ld: %s.", f.c.bad[i].path, f.c.bad[i].line, f.c.bad[i].reason);
	}
	for (size_t i = 0; i < f.c.n; i++) {
		struct cmdline_params p;

		cmdline_split(f.c.v[i].args, &p);
		check_one(ctx, r, &f, &f.c.v[i], &p);
		cmdline_params_free(&p);
	}
	check_default_console(ctx, r, &f);
	summarize(ctx, r, &f);
	for (int i = 0; i < P__COUNT; i++)
		any = any || f.found[i];
	if (any) {
		remediation(ctx, r, &f);
	} else {
		size_t entries = 0;
		for (size_t i = 0; i < f.c.n; i++)
			entries += f.c.v[i].source != SRC_DEFAULT_GRUB;
		result_detail(r, "%zu boot entr%s checked%s: no root=/resume= by kernel device name, ACPI on%s.", entries,
			      entries == 1 ? "y" : "ies", f.default_grub_seen ? " and /etc/default/grub" : "",
			      ctx->target->serial_console ? ", console=ttyS0 present" : "");
	}
	if (ctx->target->serial_console)
		result_detail(r, "%s also recommends earlyprintk=ttyS0 and rootdelay=300 for boot diagnostics "
			      "(advice, not required).", ctx->target->pretty);
}

const struct check check_bootloader_cmdline = {
	.id = "bootloader.cmdline",
	.title = "Kernel command line portable to the target",
	.description = "boot entries name root=/resume= by UUID, keep ACPI on, and log to the serial console",
	.run = run,
};
