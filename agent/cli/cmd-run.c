/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mobility-agent run: the daemon (design.md §1, §6). */
#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "daemon.h"
#include "log.h"

static void __attribute__((noreturn)) usage(void)
{
	fputs("Usage:\n mobility-agent run [--config FILE] [--foreground]\n"
	      "\nRun the agent daemon: track the configured disks' changed blocks, and answer\n"
	      "mobility-agent sync|freeze|thaw|status on the control socket.\n"
	      "\nOptions:\n"
	      "  -c, --config FILE        configuration (default " CONFIG_DEFAULT_PATH ")\n"
	      "  -f, --foreground         do not detach (as under systemd, Type=notify)\n"
	      "  -v, --verbose            debug messages\n"
	      "  -h, --help               display this help and exit\n"
	      "\nWithout --foreground the command returns once the daemon listens on its control socket.\n"
	      "SIGTERM stops it cleanly: trackers save their bitmaps with the clean-shutdown marker and\n"
	      "anything it froze is thawed.\n" USAGE_FOOTER("mobility-agent(8)"),
	      stdout);
	exit(0);
}

/* Detach; the parent returns when the child says it listens (or exits with its status). */
static int detach(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		int st = 0;

		close(p[1]);
		if (read(p[0], &c, 1) == 1)
			_exit(0);
		waitpid(pid, &st, 0);
		_exit(WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1);
	}
	close(p[0]);
	setsid();
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	if (chdir("/") < 0)
		return -errno;
	*ready_fd = p[1];
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },	    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool foreground = false;
	struct agent_config cfg;
	_cleanup_free_ char *err = NULL;
	int c, ready = -1, r;

	while ((c = getopt_long(argc, argv, "c:fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'v': log_setup("mobility-agent", LOG_LVL_DEBUG); break;
		case 'h': usage();
		default: usage_error("mobility-agent run", "invalid option");
		}
	}
	if (optind < argc)
		usage_error("mobility-agent run", "unexpected argument '%s'", argv[optind]);
	if (config_load(path, &cfg, &err) < 0) {
		log_err("%s", err);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < cfg.warnings.n; i++)
		log_warn("%s", cfg.warnings.v[i]);
	if (!foreground && (r = detach(&ready)) < 0) {
		log_err("cannot detach: %s", strerror(-r));
		config_free(&cfg);
		return 1;
	}
	r = daemon_run(&cfg, ready);
	config_free(&cfg);
	return r < 0 ? 1 : 0;
}
