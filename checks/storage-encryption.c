/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage.encryption: LUKS volumes need a key at boot. On the target nobody types a passphrase at
 * a console during an unattended boot, and a TPM-sealed key (the source's TPM) does not move; only a
 * key file inside the initramfs or a network unlock (clevis/tang) keeps booting.
 */
#include "check.h"
#include "disks.h"
#include "fileio.h"

struct crypt_entry {
	char name[128], device[256], key[256], opts[256];
	long line;
};

static bool key_needs_person(const char *key, const char *opts)
{
	if (strstr(opts, "tpm2-device") || strstr(opts, "fido2-device"))
		return true; /* bound to this machine's TPM or a token that stays behind */
	return !*key || streq(key, "none") || streq(key, "-");
}

static void check_crypttab(struct check_ctx *ctx, struct result *r, size_t *entries)
{
	_cleanup_free_ char *buf = NULL;
	struct line_iter it;
	size_t len = 0;
	char *line;
	int err = sysroot_read_file(ctx->root, "/etc/crypttab", CONFIG_FILE_MAX, &buf, &len);

	if (err == -ENOENT)
		return;
	if (err < 0) {
		result_file_error(r, "/etc/crypttab", err);
		return;
	}
	line_iter_init(&it, buf, len);
	while ((line = line_iter_next(&it, NULL))) {
		struct crypt_entry c = { .line = it.lineno };
		_cleanup_free_ char *copy = xstrdup(line);
		char *s = strstrip(copy);
		int n;

		if (!*s || *s == '#')
			continue;
		n = sscanf(s, "%127s %255s %255s %255s", c.name, c.device, c.key, c.opts);
		if (n < 2) {
			result_set(r, ST_ERROR, "/etc/crypttab line %ld is malformed (name and device expected).", c.line);
			result_evidence(r, "/etc/crypttab", c.line, line);
			continue;
		}
		(*entries)++;
		cJSON *e = result_evidence(r, "/etc/crypttab", c.line, line);
		cJSON_AddStringToObject(e, "device", c.device);
		if (strstr(c.opts, "_netdev")) {
			result_set(r, ST_WARN, "%s (crypttab line %ld) is unlocked over the network: the tang server must "
				   "be reachable from the target.", c.name, c.line);
		} else if (key_needs_person(c.key, c.opts)) {
			result_set(r, ST_FAIL, "%s (crypttab line %ld) needs a passphrase or this machine's TPM/token at "
				   "boot; the VM will wait at an invisible prompt on the target.", c.name, c.line);
		} else {
			result_set(r, ST_WARN, "%s (crypttab line %ld) is unlocked with key file %s: it must be inside the "
				   "initramfs for the target boot.", c.name, c.line, c.key);
		}
	}
}

static void run(struct check_ctx *ctx, struct result *r)
{
	struct disk_set *ds = ctx_disks(ctx);
	size_t luks = 0, entries = 0;

	if (ds->error) {
		result_set(r, ST_ERROR, "The disks could not be found (%s): encrypted volumes are unknown.", ds->error);
		return;
	}
	for (size_t i = 0; i < ds->n; i++) {
		if (ds->v[i].error) {
			/* A disk we cannot read may hold LUKS volumes: never report "none" for it. */
			result_set(r, ST_ERROR, "%s; its volumes could not be checked for encryption.", ds->v[i].error);
			cJSON_AddStringToObject(result_evidence(r, NULL, 0, NULL), "device", ds->v[i].path);
		}
		for (size_t j = 0; j < ds->v[i].nvols; j++) {
			const struct blk_volume *v = &ds->v[i].vols[j];
			cJSON *e;

			if (!v->fstype || !streq(v->fstype, "crypto_LUKS"))
				continue;
			luks++;
			e = result_evidence(r, NULL, 0, NULL);
			cJSON_AddStringToObject(e, "device", v->name);
			cJSON_AddStringToObject(e, "type", "crypto_LUKS");
			if (v->fsversion)
				cJSON_AddStringToObject(e, "version", v->fsversion);
			if (v->uuid)
				cJSON_AddStringToObject(e, "uuid", v->uuid);
		}
	}
	check_crypttab(ctx, r, &entries);
	if (luks && !entries)
		result_set(r, ST_WARN, "%zu LUKS volume%s found on the disks but /etc/crypttab lists none: they are "
			   "unlocked by hand or by the kernel command line (rd.luks).", luks, luks == 1 ? "" : "s");
	if (result_get_status(r) == ST_PASS) {
		result_detail(r, luks ? "Encrypted volumes unlock without a person." : "No encrypted volumes.");
		return;
	}
	result_detail(r, "%zu LUKS volume%s, %zu crypttab entr%s.", luks, luks == 1 ? "" : "s", entries,
		      entries == 1 ? "y" : "ies");
	result_remediation(r, false, "Decide how the target unlocks each volume: a network unlock (clevis with a "
			   "tang server reachable from the target), or decrypt before migrating.%s",
			   ctx->target->id == TARGET_AZURE ? " Azure Disk Encryption replaces guest LUKS for the OS disk." : "");
	result_command(r, "lsblk -o NAME,FSTYPE,MOUNTPOINT");
	result_command(r, "cryptsetup luksDump <device>");
}

const struct check check_storage_encryption = {
	.id = "storage.encryption",
	.title = "Encrypted volumes can be unlocked on the target",
	.description = "LUKS volumes (libblkid) and /etc/crypttab entries that need a key at boot",
	.run = run,
};
