/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The freeze plan on synthetic mountinfo: one entry per superblock, children and loop-image
 * dependents before what they live on, "/" last, memory/network/FUSE/read-only filesystems listed as
 * skipped with the reason and pseudo ones left out, an explicit list honoured and checked; and the
 * state file round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/sysmacros.h>

#include "json.h"
#include "quiesce-internal.h"

static const char mountinfo[] =
	"21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
	"22 21 0:5 / /proc rw - proc proc rw\n"
	"23 21 0:21 / /sys rw - sysfs sysfs rw\n"
	"24 21 0:22 / /run rw - tmpfs tmpfs rw\n"
	"25 21 8:2 / /boot rw - ext4 /dev/sda2 rw\n"
	"26 25 8:3 / /boot/efi rw - vfat /dev/sda3 rw\n"
	"27 21 8:4 / /home rw - xfs /dev/sda4 rw\n"
	"28 27 8:5 / /home/user/data rw - ext4 /dev/sda5 rw\n"
	"29 21 8:4 / /srv/home rw - xfs /dev/sda4 rw\n"           /* bind of /home */
	"30 21 8:5 /sub /mnt/sub rw - ext4 /dev/sda5 rw\n"        /* bind of a subdirectory */
	"31 21 0:40 / /mnt/nfs rw - nfs4 server:/export rw\n"
	"32 21 8:6 / /mnt/ro ro - ext4 /dev/sda6 ro\n"
	"33 21 0:41 / /var/lib/docker/btrfs rw - btrfs /dev/sdb1 rw\n"
	"34 21 0:42 / /mnt/fuse rw - fuse.sshfs host: rw\n"
	"35 21 7:0 / /mnt/loop rw - ext4 /dev/loop0 rw\n";

static void parse(struct mount_table *t)
{
	long line = 0;

	assert_int_equal(mountinfo_parse(mountinfo, t, &line), 0);
}

static size_t pos(const struct quiesce_plan *p, const char *mount)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->v[i].mount, mount))
			return i;
	fail_msg("%s not in the plan", mount);
	return 0;
}

static void test_default_plan(void **state)
{
	_cleanup_(mountinfo_free) struct mount_table t = { 0 };
	_cleanup_(quiesce_plan_free) struct quiesce_plan p = { 0 };
	_cleanup_free_ char *bad = NULL;

	(void)state;
	parse(&t);
	assert_int_equal(quiesce_plan_build(&t, NULL, &p, &bad), 0);
	/* Frozen: /, /boot, /boot/efi, /home (+ bind), /home/user/data (+ bind), btrfs, /mnt/loop;
	 * listed as skipped: /run, /mnt/nfs, /mnt/ro, /mnt/fuse; left out: /proc, /sys. */
	assert_int_equal(p.n, 11);
	assert_string_equal(p.v[p.n - 1].mount, "/");
	assert_true(pos(&p, "/boot/efi") < pos(&p, "/boot"));
	assert_true(pos(&p, "/home/user/data") < pos(&p, "/home"));
	/* Bind mounts: the superblock once, through its whole-filesystem mount. */
	const struct quiesce_fs *home = &p.v[pos(&p, "/home")];
	assert_int_equal(home->aliases.n, 2);
	assert_string_equal(home->aliases.v[1], "/srv/home");
	assert_int_equal(p.v[pos(&p, "/home/user/data")].aliases.n, 2);
	size_t planned = 0;
	for (size_t i = 0; i < p.n; i++) {
		assert_string_not_equal(p.v[i].mount, "/proc");
		assert_string_not_equal(p.v[i].mount, "/sys");
		assert_string_not_equal(p.v[i].mount, "/mnt/sub");
		planned += p.v[i].state == QFS_PLANNED;
		if (p.v[i].state == QFS_PLANNED)
			assert_null(quiesce_fs_skip_reason(&p.v[i]));
	}
	assert_int_equal(planned, 7);
	static const char *const skipped[][2] = {
		{ "/run", "memory filesystem" },
		{ "/mnt/nfs", "network filesystem" },
		{ "/mnt/ro", "read-only" },
		{ "/mnt/fuse", "userspace (FUSE) filesystem" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(skipped); i++) {
		const struct quiesce_fs *f = &p.v[pos(&p, skipped[i][0])];

		assert_int_equal(f->state, QFS_SKIPPED);
		assert_string_equal(quiesce_fs_skip_reason(f), skipped[i][1]);
	}
	/* Listed is not frozen: the state directory on /run (tmpfs) is no filesystem to be frozen. */
	assert_false(quiesce_plan_has_dev(&p, makedev(0, 22)));
	assert_true(quiesce_plan_has_dev(&p, makedev(8, 1)));
	/* The same reasons in --json. */
	_cleanup_json_ cJSON *j = quiesce_plan_json(&p);
	cJSON *run = cJSON_GetArrayItem(j, (int)pos(&p, "/run"));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(run, "state")), "skipped");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(run, "reason")), "memory filesystem");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(j, (int)pos(&p, "/home")), "reason")));
	pos(&p, "/var/lib/docker/btrfs"); /* major 0, yet a real filesystem */
}

static void test_loop_image_ordering(void **state)
{
	_cleanup_(mountinfo_free) struct mount_table t = { 0 };
	_cleanup_(quiesce_plan_free) struct quiesce_plan p = { 0 };
	_cleanup_free_ char *bad = NULL;

	(void)state;
	parse(&t);
	assert_int_equal(quiesce_plan_build(&t, NULL, &p, &bad), 0);
	/* /mnt/loop's image lives on /home/user/data: freezing data first would deadlock /mnt/loop's sync. */
	p.v[pos(&p, "/mnt/loop")].backing = xstrdup("/home/user/data/images/loop.img");
	quiesce_plan_order(&p);
	assert_true(pos(&p, "/mnt/loop") < pos(&p, "/home/user/data"));
	assert_true(pos(&p, "/home/user/data") < pos(&p, "/home"));
	assert_string_equal(p.v[p.n - 1].mount, "/");
	/* Through a bind mount's path too. */
	free(p.v[pos(&p, "/mnt/loop")].backing);
	p.v[pos(&p, "/mnt/loop")].backing = xstrdup("/srv/home/loop.img");
	quiesce_plan_order(&p);
	assert_true(pos(&p, "/mnt/loop") < pos(&p, "/home"));
}

static void test_explicit_list(void **state)
{
	_cleanup_(mountinfo_free) struct mount_table t = { 0 };
	_cleanup_(quiesce_plan_free) struct quiesce_plan p = { 0 };
	_cleanup_free_ char *bad = NULL;
	const char *const only[] = { "/home", "/srv/home", "/mnt/ro", "/run", "/home/user/data", NULL };

	(void)state;
	parse(&t);
	assert_int_equal(quiesce_plan_build(&t, only, &p, &bad), 0);
	assert_int_equal(p.n, 4); /* /srv/home is /home */
	assert_true(pos(&p, "/home/user/data") < pos(&p, "/home"));
	assert_int_equal(p.v[pos(&p, "/mnt/ro")].state, QFS_SKIPPED);
	assert_int_equal(p.v[pos(&p, "/mnt/ro")].error, EROFS);
	/* Asked for explicitly: tried, and EOPNOTSUPP will say it cannot be frozen. */
	assert_int_equal(p.v[pos(&p, "/run")].state, QFS_PLANNED);
}

static void test_explicit_not_a_mount(void **state)
{
	_cleanup_(mountinfo_free) struct mount_table t = { 0 };
	_cleanup_(quiesce_plan_free) struct quiesce_plan p = { 0 };
	_cleanup_free_ char *bad = NULL;
	const char *const only[] = { "/home", "/nonexistent-quiesce-test", NULL };

	(void)state;
	parse(&t);
	assert_int_equal(quiesce_plan_build(&t, only, &p, &bad), -EINVAL);
	assert_non_null(strstr(bad, "/nonexistent-quiesce-test"));
	assert_int_equal(p.n, 0);
}

static void test_state_round_trip(void **state)
{
	_cleanup_(mountinfo_free) struct mount_table t = { 0 };
	_cleanup_(quiesce_status_free) struct quiesce_status st = { 0 }, back = { 0 };
	_cleanup_free_ char *bad = NULL, *text = NULL;
	const char *const only[] = { "/home", "/boot", NULL };
	long line = 0;

	(void)state;
	parse(&t);
	assert_int_equal(quiesce_plan_build(&t, only, &st.plan, &bad), 0);
	free(st.plan.v[0].mount);
	st.plan.v[0].mount = xstrdup("/mnt/with space\tand\\backslash");
	st.plan.v[0].state = QFS_THAWED;
	st.plan.v[0].frozen_ms = 1234;
	st.plan.v[1].state = QFS_BUSY;
	st.plan.v[1].error = EBUSY;
	st.active = true;
	st.watchdog_pid = 4242;
	st.watchdog_start = 99;
	st.timeout_ms = 60000;
	snprintf(st.reason, sizeof(st.reason), "timeout");
	strv_push(&st.hooks, "/etc/mobility-agent/freeze.d/10 db");
	strv_push(&st.messages, "hook x thaw: exit status 1: line\nnext");
	text = quiesce_state_format(&st);
	assert_int_equal(quiesce_state_parse(text, &back, &line), 0);
	assert_true(back.exists && back.active);
	assert_int_equal(back.watchdog_pid, 4242);
	assert_int_equal(back.watchdog_start, 99);
	assert_string_equal(back.reason, "timeout");
	assert_int_equal(back.plan.n, 2);
	assert_string_equal(back.plan.v[0].mount, "/mnt/with space\tand\\backslash");
	assert_int_equal(back.plan.v[0].frozen_ms, 1234);
	assert_int_equal(back.plan.v[1].state, QFS_BUSY);
	assert_string_equal(back.hooks.v[0], "/etc/mobility-agent/freeze.d/10 db");
	assert_string_equal(back.messages.v[0], "hook x thaw: exit status 1: line\nnext");
}

static void test_state_garbage(void **state)
{
	_cleanup_(quiesce_status_free) struct quiesce_status st = { 0 };
	char text[] = "mobility-quiesce-state 1\nactive 1\nfs frozen nonsense\n";
	char other[] = "mobility-quiesce-state 7\n";
	long line = 0;

	(void)state;
	assert_int_equal(quiesce_state_parse(text, &st, &line), -EBADMSG);
	assert_int_equal(line, 3);
	quiesce_status_free(&st);
	assert_int_equal(quiesce_state_parse(other, &st, &line), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_plan),	     cmocka_unit_test(test_loop_image_ordering),
		cmocka_unit_test(test_explicit_list),	     cmocka_unit_test(test_explicit_not_a_mount),
		cmocka_unit_test(test_state_round_trip),   cmocka_unit_test(test_state_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
