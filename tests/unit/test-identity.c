/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The machine identity (agent/common/identity.h): reading, normalising, the first-seen record in the
 * state dir, change detection (clone / new VM), unreadable DMI, and the request header lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fileio.h"
#include "identity.h"
#include "util.h"

#define MID1 "0123456789abcdef0123456789abcdef"
#define UUID1 "4c4c4544-0042-3510-8044-b4c04f4a3132"
#define UUID2 "9b3e1a52-77f0-4d6e-9a55-2f4d0c1e8b07"

struct fixture {
	char root[64], state[80];
};

static void put(const struct fixture *f, const char *path, const char *text)
{
	_cleanup_free_ char *p = xasprintf("%s%s", f->root, path);

	assert_int_equal(write_file_atomic(p, text, strlen(text), 0600), 0);
}

static void rm_rf(const char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	static const char *const dirs[] = { "/etc", "/sys", "/sys/class", "/sys/class/dmi", "/sys/class/dmi/id" };

	snprintf(f->root, sizeof(f->root), "/tmp/test-identity.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s%s", f->root, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	snprintf(f->state, sizeof(f->state), "%s/state", f->root);
	put(f, "/etc/machine-id", MID1 "\n");
	put(f, "/sys/class/dmi/id/product_uuid", "4C4C4544-0042-3510-8044-B4C04F4A3132\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->root);
	free(f);
	return 0;
}

static void test_normalize(void **state)
{
	char out[IDENTITY_VALUE_MAX + 1];

	(void)state;
	assert_true(identity_normalize("  ABC-def\n", out));
	assert_string_equal(out, "abc-def");
	assert_true(identity_normalize("", out));
	assert_string_equal(out, "");
	assert_false(identity_normalize("a b", out));
	assert_false(identity_normalize("../etc", out));
	assert_false(identity_normalize("x\r\ny: z", out));
	memset(out, 'a', sizeof(out) - 1);
	out[sizeof(out) - 1] = '\0';
	assert_true(identity_normalize(out, out)); /* exactly the maximum */
	assert_false(identity_normalize(MID1 MID1 "0", out));
}

static void test_read(void **state)
{
	struct fixture *f = *state;
	struct identity id;

	identity_read(f->root, &id);
	assert_string_equal(id.machine_id, MID1);
	assert_string_equal(id.product_uuid, UUID1); /* lower case, newline gone */
	assert_int_equal(id.machine_id_error, 0);
	assert_int_equal(id.product_uuid_error, 0);
	put(f, "/etc/machine-id", "");
	put(f, "/sys/class/dmi/id/product_uuid", "not a uuid\n");
	identity_read(f->root, &id);
	assert_string_equal(id.machine_id, "");
	assert_int_equal(id.machine_id_error, -ENOENT);
	assert_string_equal(id.product_uuid, "");
	assert_int_equal(id.product_uuid_error, -EBADMSG);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct identity_state st, again;
	struct identity loaded;
	long long seen = 0;
	struct stat sb;
	_cleanup_free_ char *path = xasprintf("%s/identity", f->state);

	assert_int_equal(identity_load(f->state, &loaded, NULL), -ENOENT);
	assert_int_equal(identity_check(f->root, f->state, false, &st), 0); /* no record: nothing written */
	assert_false(st.has_first);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_true(st.has_first && st.recorded_now);
	assert_int_equal(st.changed, 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(identity_load(f->state, &loaded, &seen), 0);
	assert_string_equal(loaded.machine_id, MID1);
	assert_string_equal(loaded.product_uuid, UUID1);
	assert_true(seen > 1000000000);
	assert_int_equal(identity_check(f->root, f->state, true, &again), 0);
	assert_true(again.has_first && !again.recorded_now);
	assert_int_equal(again.changed, 0);
	/* garbage in the state file is an error, never silently replaced */
	assert_int_equal(write_file_atomic(path, "{\"machine_id\": 3}", 17, 0600), 0);
	assert_int_equal(identity_check(f->root, f->state, true, &again), -EINVAL);
	assert_int_equal(identity_load(f->state, &loaded, NULL), -EINVAL);
}

static void test_change(void **state)
{
	struct fixture *f = *state;
	struct identity_state st;
	char *lines[3];

	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	put(f, "/sys/class/dmi/id/product_uuid", UUID2 "\n"); /* the disks now run in another VM */
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_int_equal(st.changed, IDENTITY_PRODUCT_UUID_CHANGED);
	assert_string_equal(st.first.product_uuid, UUID1); /* the first-seen one is kept */
	assert_int_equal(identity_warnings(&st, lines), 1);
	assert_string_equal(lines[0], "product UUID changed from " UUID1 " to " UUID2
				      ": this is a clone or a new VM; replication refuses to mix machines");
	assert_null(lines[1]);
	free(lines[0]);
	put(f, "/etc/machine-id", "fedcba9876543210fedcba9876543210\n");
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_int_equal(st.changed, IDENTITY_MACHINE_ID_CHANGED | IDENTITY_PRODUCT_UUID_CHANGED);
	assert_int_equal(identity_warnings(&st, lines), 2);
	assert_non_null(strstr(lines[1], "machine-id changed from " MID1 " to fedcba9876543210fedcba9876543210"));
	free(lines[0]);
	free(lines[1]);
	/* DMI gone altogether (no product_uuid): that is a change too */
	put(f, "/sys/class/dmi/id/product_uuid", UUID1 "\n");
	put(f, "/etc/machine-id", MID1 "\n");
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_int_equal(st.changed, 0);
	{
		_cleanup_free_ char *p = xasprintf("%s/sys/class/dmi/id/product_uuid", f->root);
		assert_int_equal(unlink(p), 0);
	}
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_int_equal(st.changed, IDENTITY_PRODUCT_UUID_CHANGED);
	assert_int_equal(identity_warnings(&st, lines), 1);
	assert_non_null(strstr(lines[0], "from " UUID1 " to (none)"));
	free(lines[0]);
}

/* A product UUID that cannot be read (not root, odd sysfs) is unknown: no change claimed, no record. */
static void test_unreadable_dmi(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *p = xasprintf("%s/sys/class/dmi/id/product_uuid", f->root);
	struct identity_state st;
	char *lines[3];

	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0); /* reads fail with EISDIR: as root, modes do not stop us */
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_string_equal(st.current.product_uuid, "");
	assert_int_equal(st.current.product_uuid_error, -EISDIR);
	assert_false(st.has_first); /* not recorded: it would pin an empty UUID */
	assert_int_equal(rmdir(p), 0);
	put(f, "/sys/class/dmi/id/product_uuid", UUID1 "\n");
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_true(st.recorded_now);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(identity_check(f->root, f->state, true, &st), 0);
	assert_int_equal(st.changed, 0);
	assert_int_equal(identity_warnings(&st, lines), 0);
	assert_null(lines[0]);
}

static void test_headers(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *p = xasprintf("%s/sys/class/dmi/id/product_uuid", f->root);
	char *h[2];

	identity_headers(f->root, h);
	assert_string_equal(h[0], "X-Mobility-Machine-Id: " MID1);
	assert_string_equal(h[1], "X-Mobility-Product-Uuid: " UUID1);
	free(h[0]);
	free(h[1]);
	assert_int_equal(unlink(p), 0);
	identity_headers(f->root, h);
	assert_string_equal(h[1], "X-Mobility-Product-Uuid;"); /* libcurl: send it with an empty value */
	free(h[0]);
	free(h[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_dmi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
