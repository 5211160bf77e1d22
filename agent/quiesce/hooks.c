/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Freeze hooks: executables in /etc/mobility-agent/freeze.d/ run as "HOOK freeze" before the first
 * FIFREEZE (in name order) and "HOOK thaw" after the last FITHAW (in reverse), each with a timeout.
 * Package managers leave backup copies next to configuration (*.rpmnew, *.dpkg-old, foo~): those
 * must not run a second time. The environment is fixed (PATH and MOBILITY_FREEZE_PHASE), the same
 * whether the agent or the watchdog runs the hook.
 */
#include "quiesce-internal.h"
#include "run.h"

#include <sys/stat.h>

static bool hook_name_ignored(const char *name)
{
	return name[0] == '.' || endswith(name, "~") || endswith(name, ".rpmnew") || endswith(name, ".rpmsave") ||
	       endswith(name, ".rpmorig") || strstr(name, ".dpkg-") || endswith(name, ".ucf-old") ||
	       endswith(name, ".ucf-dist") || endswith(name, ".swp");
}

int quiesce_hooks_list(const char *dir, strv *hooks)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		struct stat s;

		if (hook_name_ignored(de->d_name))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &s) < 0 || !S_ISREG(s.st_mode) || access(path, X_OK) < 0)
			continue;
		strv_push_take(hooks, TAKE_PTR(path));
	}
	strv_sort(hooks);
	return 0;
}

static int hook_run(const char *hook, const char *phase, int timeout_ms, strv *messages)
{
	_cleanup_free_ char *env_phase = xasprintf("MOBILITY_FREEZE_PHASE=%s", phase);
	char *envp[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", env_phase,
			 NULL };
	const char *argv[] = { hook, phase, NULL };
	struct run_opts o = { .timeout_ms = timeout_ms, .max_output = 64 << 10, .envp = envp, .cwd = "/" };
	struct run_result res;
	char how[128];
	int r;

	r = run_cmd(argv, &o, &res);
	if (r < 0) {
		strv_push_take(messages, xasprintf("hook %s %s: cannot run: %s", hook, phase, strerror(-r)));
		return r;
	}
	bool ok = run_ok(&res);
	run_describe(&res, &o, how, sizeof(how));
	/* The first line of its stderr usually says why it failed. */
	char *nl = strchr(res.err, '\n');
	if (nl)
		*nl = '\0';
	strv_push_take(messages, xasprintf("hook %s %s: %s%s%s", hook, phase, ok ? "ok" : how,
					   !ok && res.err[0] ? ": " : "", !ok ? res.err : ""));
	run_result_free(&res);
	return ok ? 0 : -EIO;
}

int quiesce_hooks_run(const strv *hooks, size_t count, const char *phase, int timeout_ms, strv *messages,
		      size_t *failed)
{
	int ret = 0;

	if (count > hooks->n)
		count = hooks->n;
	if (streq(phase, "freeze")) {
		for (size_t i = 0; i < count; i++)
			if (hook_run(hooks->v[i], phase, timeout_ms, messages) < 0) {
				if (failed)
					*failed = i;
				return -EIO;
			}
		return 0;
	}
	for (size_t i = count; i-- > 0;)
		if (hook_run(hooks->v[i], phase, timeout_ms, messages) < 0)
			ret = -EIO;
	return ret;
}
