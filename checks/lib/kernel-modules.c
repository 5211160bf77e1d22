/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "kernel-modules.h"
#include "fileio.h"
#include "modname.h"

#include <sys/stat.h>

/* modules.builtin.modinfo of a distribution kernel is ~1 MB; anything past this is not one. */
#define MODINFO_MAX (64u << 20)

static void add_name(strv *s, char *name)
{
	if (name)
		strv_push_take(s, name);
}

static void dedup(strv *s)
{
	size_t w = 0;

	strv_sort(s);
	for (size_t i = 0; i < s->n; i++) {
		if (w > 0 && streq(s->v[w - 1], s->v[i])) {
			free(s->v[i]);
			continue;
		}
		s->v[w++] = s->v[i];
	}
	s->n = w;
	if (s->v)
		s->v[w] = NULL;
}

/* Lines "kernel/drivers/hv/hv_vmbus.ko[: deps]". */
static bool read_paths(const struct sysroot *sr, const char *path, strv *names)
{
	_cleanup_free_ char *buf = NULL;
	struct line_iter it;
	size_t len = 0;
	char *line;

	if (sysroot_read_file(sr, path, MODINFO_MAX, &buf, &len) < 0)
		return false;
	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, NULL))) {
		line[strcspn(line, ":")] = '\0';
		add_name(names, modname_from_path(strstrip(line)));
	}
	return true;
}

/* NUL-separated "module.key=value" records: every module built in has some (its aliases included). */
static void read_modinfo(const struct sysroot *sr, const char *path, strv *names)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	if (sysroot_read_file(sr, path, MODINFO_MAX, &buf, &len) < 0)
		return;
	for (size_t off = 0; off < len;) {
		const char *rec = buf + off, *dot = memchr(rec, '.', strnlen(rec, len - off));

		off += strnlen(rec, len - off) + 1;
		if (dot && dot > rec)
			add_name(names, modname_normalize(xstrndup(rec, dot - rec)));
	}
}

void kernel_modules_load(const struct sysroot *sr, const char *kver, struct kernel_modules *out)
{
	_cleanup_free_ char *builtin = NULL, *modinfo = NULL, *dep = NULL;

	memset(out, 0, sizeof(*out));
	out->dir = xasprintf("/lib/modules/%s", kver);
	if (!sysroot_exists(sr, out->dir)) {
		_cleanup_free_ char *usr = xasprintf("/usr/lib/modules/%s", kver);

		if (sysroot_exists(sr, usr)) {
			free(out->dir);
			out->dir = TAKE_PTR(usr);
		}
	}
	builtin = xasprintf("%s/modules.builtin", out->dir);
	modinfo = xasprintf("%s/modules.builtin.modinfo", out->dir);
	dep = xasprintf("%s/modules.dep", out->dir);
	out->have_builtin = read_paths(sr, builtin, &out->builtin);
	read_modinfo(sr, modinfo, &out->builtin);
	out->have_dep = read_paths(sr, dep, &out->on_disk);
	dedup(&out->builtin);
	dedup(&out->on_disk);
}

void kernel_modules_free(struct kernel_modules *km)
{
	free(km->dir);
	strv_free(&km->builtin);
	strv_free(&km->on_disk);
	memset(km, 0, sizeof(*km));
}

static int cmp(const void *a, const void *b) { return strcmp(a, *(char *const *)b); }

static bool has(const strv *s, const char *name)
{
	_cleanup_free_ char *n = modname_normalize(xstrdup(name));

	return s->n && bsearch(n, s->v, s->n, sizeof(char *), cmp);
}

bool kernel_module_builtin(const struct kernel_modules *km, const char *name) { return has(&km->builtin, name); }
bool kernel_module_on_disk(const struct kernel_modules *km, const char *name) { return has(&km->on_disk, name); }

char *initramfs_image_find(const struct sysroot *sr, const char *kver, const char *machine_id)
{
	char *cand[] = {
		xasprintf("/boot/initramfs-%s.img", kver),
		xasprintf("/boot/initrd.img-%s", kver),
		xasprintf("/boot/initrd-%s", kver),
		machine_id ? xasprintf("/boot/%s/%s/initrd", machine_id, kver) : NULL,
	};
	char *found = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(cand); i++) {
		struct stat st;

		if (!found && cand[i] && sysroot_stat(sr, cand[i], &st) == 0 && S_ISREG(st.st_mode))
			found = TAKE_PTR(cand[i]);
		free(cand[i]);
	}
	return found;
}

char *initramfs_image_default(const char *kver, bool debian_naming, bool suse_naming)
{
	if (debian_naming)
		return xasprintf("/boot/initrd.img-%s", kver);
	if (suse_naming)
		return xasprintf("/boot/initrd-%s", kver);
	return xasprintf("/boot/initramfs-%s.img", kver);
}
