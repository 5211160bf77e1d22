/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * initramfs.drivers / dracut.hostonly: make every image carry the target's drivers.
 *  - dracut: a drop-in /etc/dracut.conf.d/90-mobility-<target>.conf with add_drivers+= and
 *    hostonly="no" (vendor files are never edited; a drop-in sorts after them and is easy to remove);
 *  - initramfs-tools: the drivers appended to /etc/initramfs-tools/modules, and MODULES=dep (its
 *    host-only mode) overridden by a conf.d drop-in.
 * Then every installed kernel's image is rebuilt. The new image is written BESIDE the old one
 * (IMAGE.mobility-new: mkinitramfs -o / dracut's image argument, since update-initramfs -u can only
 * overwrite in place), read back to prove the drivers are in it, and only then renamed over the old
 * image, which the journal keeps (apply.c).
 */
#include "plan.h"
#include "bootimages.h"
#include "engine.h"
#include "fileio.h"
#include "modname.h"
#include "target.h"
#include "textedit.h"

static const char *const checks[] = { "initramfs.drivers", "dracut.hostonly", NULL };

/* Every module the target profile names ("a|b" alternatives: both are added). */
static void target_modules(const struct target_profile *t, strv *out)
{
	for (const struct target_driver *d = t->drivers; d && d->modules; d++) {
		_cleanup_free_ char *copy = xstrdup(d->modules);
		char *save = NULL;

		for (char *m = strtok_r(copy, "|", &save); m; m = strtok_r(NULL, "|", &save))
			if (!strv_contains(out, m))
				strv_push(out, m);
	}
}

enum mod_state { MOD_ABSENT, MOD_BUILTIN, MOD_LOADABLE };

static bool list_has(const char *buf, const char *name)
{
	_cleanup_free_ char *copy = xstrdup(buf);
	char *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(l, ':');
		_cleanup_free_ char *m = NULL;

		if (colon)
			*colon = '\0';
		m = modname_from_path(strstrip(l));
		if (m && modname_eq(m, name))
			return true;
	}
	return false;
}

/* Whether KVER has NAME built in, as a module, or not at all (modules.builtin, modules.dep). */
static enum mod_state module_state(const struct sysroot *sr, const char *kver, const char *name)
{
	_cleanup_free_ char *bpath = xasprintf("/lib/modules/%s/modules.builtin", kver);
	_cleanup_free_ char *dpath = xasprintf("/lib/modules/%s/modules.dep", kver);
	_cleanup_free_ char *b = NULL, *d = NULL;
	size_t len;

	if (sysroot_read_file(sr, bpath, 64u << 20, &b, &len) == 0 && list_has(b, name))
		return MOD_BUILTIN;
	if (sysroot_read_file(sr, dpath, 64u << 20, &d, &len) == 0 && list_has(d, name))
		return MOD_LOADABLE;
	return MOD_ABSENT;
}

/*
 * Our drop-in in DIR (dracut.conf.d, initramfs-tools/conf.d). Both read their drop-ins in name order,
 * the last one wins: when the setting we override comes from a file that sorts after ours, ours moves
 * to the end of the alphabet.
 */
static char *dropin_path(const struct morph_ctx *m, const struct result *const *res, size_t n, const char *dir)
{
	_cleanup_free_ char *base = xasprintf("90-mobility-%s.conf", m->target->name);
	_cleanup_free_ char *inner = xasprintf("%s/", strrchr(dir, '/'));

	for (size_t i = 0; i < n; i++) {
		const cJSON *ev;
		cJSON_ArrayForEach(ev, res[i]->evidence) {
			const char *p = ev_str(ev, "path"), *slash = p ? strrchr(p, '/') : NULL;
			if (slash && strstr(p, inner) && strcmp(slash + 1, base) > 0) {
				free(base);
				base = xasprintf("zz-mobility-%s.conf", m->target->name);
			}
		}
	}
	return xasprintf("%s/%s", dir, base);
}

static bool evidence_has(const struct result *const *res, size_t n, const char *key, const char *value)
{
	for (size_t i = 0; i < n; i++) {
		const cJSON *ev;
		cJSON_ArrayForEach(ev, res[i]->evidence)
			if (ev_str(ev, key) && streq(ev_str(ev, key), value))
				return true;
	}
	return false;
}

/* initramfs-tools' MODULES=dep is its host-only mode: a drop-in makes the images generic again. */
static void plan_itools_generic(const struct morph_ctx *m, const struct result *const *res, size_t n,
				struct fix *fix)
{
	_cleanup_free_ char *path = dropin_path(m, res, n, "/etc/initramfs-tools/conf.d"), *orig = NULL;
	size_t olen = 0;
	char *content;

	if (!evidence_has(res, n, "setting", "MODULES"))
		return;
	content = xasprintf("# Written by prepcheck --fix (mobility-agent) for the move to %s: MODULES=dep builds\n"
			    "# images with only this host's drivers. Remove with prepcheck --undo.\n"
			    "MODULES=most\n", m->target->pretty);
	if (sysroot_read_file(m->root, path, CONFIG_FILE_MAX, &orig, &olen) < 0)
		orig = NULL;
	fix_add_edit(fix, path, orig, olen, content, strlen(content), "generic images instead of MODULES=dep");
}

static int plan_dracut_conf(const struct morph_ctx *m, const struct result *const *res, size_t n,
			    const strv *mods, struct fix *fix)
{
	_cleanup_free_ char *path = dropin_path(m, res, n, "/etc/dracut.conf.d"), *orig = NULL, *list = xstrdup("");
	size_t olen = 0;
	char *content;

	for (size_t i = 0; i < mods->n; i++) {
		char *l = xasprintf("%s %s", list, mods->v[i]);
		free(list);
		list = l;
	}
	content = xasprintf("# Written by prepcheck --fix (mobility-agent) for the move to %s: its boot path needs\n"
			    "# these drivers in every image, wherever the image is built. Remove with prepcheck --undo.\n"
			    "add_drivers+=\"%s \"\n"
			    "hostonly=\"no\"\n", m->target->pretty, list);
	if (sysroot_read_file(m->root, path, CONFIG_FILE_MAX, &orig, &olen) < 0)
		orig = NULL;
	if (fix_add_edit(fix, path, orig, olen, content, strlen(content), "a drop-in; no vendor file is edited"))
		fix->v[fix->n - 1].mode = 0644;
	return 0;
}

static bool modules_file_lists(const struct text *t, const char *mod)
{
	for (long n = 1; n <= text_nlines(t); n++) {
		_cleanup_free_ char *l = text_line(t, n);
		char *w = strstrip(l), *sp = strpbrk(w, " \t");

		if (sp)
			*sp = '\0';
		if (*w != '#' && modname_eq(w, mod))
			return true;
	}
	return false;
}

static int plan_itools_conf(const struct morph_ctx *m, const strv *mods, struct fix *fix)
{
	static const char *const path = "/etc/initramfs-tools/modules";
	_cleanup_free_ char *orig = NULL, *hdr = NULL;
	struct text t;
	size_t olen = 0;
	bool added = false;

	if (sysroot_read_file(m->root, path, CONFIG_FILE_MAX, &orig, &olen) < 0)
		orig = NULL;
	text_init(&t, orig ? orig : "", orig ? olen : 0);
	hdr = xasprintf("# added by prepcheck --fix (mobility-agent): drivers %s boots from", m->target->pretty);
	for (size_t i = 0; i < mods->n; i++) {
		if (modules_file_lists(&t, mods->v[i]))
			continue;
		if (!added)
			text_insert_line(&t, text_nlines(&t) + 1, hdr);
		text_insert_line(&t, text_nlines(&t) + 1, mods->v[i]);
		added = true;
	}
	if (added)
		fix_add_edit(fix, path, orig, olen, TAKE_PTR(t.buf), t.len, "list the drivers for every image");
	text_free(&t);
	return 0;
}

static void plan_rebuild(const struct morph_ctx *m, const char *kver, const strv *mods, struct fix *fix)
{
	const struct host_facts *h = &m->rep->host;
	_cleanup_free_ char *image = bootimage_find(m->root, kver, NULL), *out = NULL, *why = NULL;
	struct action *a;

	if (!image)
		image = h->family == FAMILY_DEBIAN || h->generator == GEN_INITRAMFS_TOOLS
				? xasprintf("/boot/initrd.img-%s", kver) : xasprintf("/boot/initramfs-%s.img", kver);
	out = xasprintf("%s%s", image, REBUILD_SUFFIX);
	why = xasprintf("rebuild the initramfs of %s", kver);
	a = fix_add(fix, ACT_REBUILD, image, why);
	a->kver = xstrdup(kver);
	if (h->generator == GEN_DRACUT) {
		const char *argv[] = { "dracut", "-f", "-v", "-N", "--kver", kver, out, NULL };
		for (size_t i = 0; argv[i]; i++)
			strv_push(&a->argv, argv[i]);
	} else {
		const char *argv[] = { "mkinitramfs", "-o", out, kver, NULL };
		for (size_t i = 0; argv[i]; i++)
			strv_push(&a->argv, argv[i]);
	}
	for (size_t i = 0; i < mods->n; i++)
		if (module_state(m->root, kver, mods->v[i]) == MOD_LOADABLE)
			strv_push(&a->modules, mods->v[i]);
}

static int plan_initramfs(const struct morph_ctx *m, const struct result *const *res, size_t n, struct fix *fix,
			  char **why)
{
	const struct host_facts *h = &m->rep->host;
	_cleanup_strv_ strv mods = { 0 };
	size_t kernels = 0;

	target_modules(m->target, &mods);
	if (h->generator == GEN_DRACUT) {
		plan_dracut_conf(m, res, n, &mods, fix);
	} else if (h->generator == GEN_INITRAMFS_TOOLS) {
		plan_itools_conf(m, &mods, fix);
		plan_itools_generic(m, res, n, fix);
	} else {
		*why = xasprintf("the initramfs generator (%s) is not one --fix knows (dracut, initramfs-tools)",
				 generator_name(h->generator));
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < h->kernels.n; i++) {
		_cleanup_free_ char *dep = xasprintf("/lib/modules/%s/modules.dep", h->kernels.v[i]);

		if (!sysroot_exists(m->root, dep))
			continue; /* a vmlinuz without its modules cannot get an image built */
		plan_rebuild(m, h->kernels.v[i], &mods, fix);
		kernels++;
	}
	fix->summary = xasprintf("add the %s drivers to the %s configuration and rebuild %zu image%s",
				 m->target->name, generator_name(h->generator), kernels, kernels == 1 ? "" : "s");
	return 0;
}

const struct remedy remedy_initramfs = { .name = "initramfs", .checks = checks, .plan = plan_initramfs };
