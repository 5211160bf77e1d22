/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prepcheck: migration readiness checks (design.md §2). */
#include <getopt.h>

#include "cli.h"
#include "engine.h"
#include "json.h"
#include "log.h"
#include "morph.h"

static void __attribute__((noreturn)) usage(void)
{
	fputs("Usage:\n"
	      " prepcheck [options]                 check this system (or --root DIR) for migration\n"
	      " prepcheck --fix [--dry-run] [options]  apply the safe remediations, journaled\n"
	      " prepcheck --undo [--root DIR]        revert the last --fix\n"
	      " prepcheck --list                     list every check id\n"
	      "\nCheck whether a Linux system will boot and work after it moves to another cloud.\n"
	      "\nOptions:\n"
	      "  -r, --root DIR           inspect the guest whose root filesystem is mounted at DIR\n"
	      "  -t, --target NAME        azure (default), kvm, aws or generic\n"
	      "  -f, --format FMT         text (default) or json\n"
	      "  -o, --output FILE        write the report to FILE instead of standard output\n"
	      "      --only ID[,ID..]     run only these checks\n"
	      "      --skip ID[,ID..]     do not run these checks\n"
	      "      --no-network         skip the checks that use the network\n"
	      "      --timeout SECONDS    per network probe (default 5)\n"
	      "  -d, --disk DEV|IMAGE     the disk(s) to inspect (default: those backing the root)\n"
	      "      --fix                apply the remediations marked fixable, then check again\n"
	      "  -n, --dry-run            with --fix: print the plan, change nothing\n"
	      "      --undo               restore what the last --fix changed\n"
	      "  -l, --list               list the checks with a one-line description\n"
	      "  -v, --verbose            more messages on standard error\n"
	      "  -q, --quiet              only errors on standard error\n"
	      USAGE_HELP_OPTIONS
	      "\nExit status:\n"
	      "  0 ready (only pass/skip), 1 warnings or undecided checks, 2 at least one blocker,\n"
	      "  3 usage or internal error. With --fix: 0 all applied and re-checked, 1 some left\n"
	      "  for the admin, 3 error (a failed action is rolled back).\n"
	      USAGE_FOOTER("prepcheck(8)"),
	      stdout);
	exit(EXIT_SUCCESS);
}

static void split_ids(strv *into, const char *arg)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*strstrip(t))
			strv_push(into, strstrip(t));
}

static int list_checks(void)
{
	for (size_t i = 0; prepcheck_checks[i]; i++)
		printf("%-24s %s\n", prepcheck_checks[i]->id, prepcheck_checks[i]->description);
	return EXIT_SUCCESS;
}

static int write_report(const struct options *o, const struct report *rep)
{
	_cleanup_fclose_ FILE *file = NULL;
	FILE *out = stdout;
	int r = 0;

	if (o->output) {
		file = fopen(o->output, "we");
		if (!file) {
			log_err("%s: cannot open for writing: %s", o->output, strerror(errno));
			return -errno;
		}
		out = file;
	}
	if (o->format == FORMAT_JSON) {
		_cleanup_json_ cJSON *j = report_to_json(rep);
		r = json_print(out, j);
	} else {
		report_print_text(out, rep, o->color && !o->output);
		r = fflush(out) == EOF || ferror(out) ? -EIO : 0;
	}
	if (file) {
		if (fclose(TAKE_PTR(file)) == EOF && r == 0)
			r = -EIO;
	}
	if (r < 0)
		log_err("%s: write failed", o->output ? o->output : "standard output");
	return r;
}

enum { OPT_ONLY = 256, OPT_SKIP, OPT_NO_NETWORK, OPT_FIX, OPT_UNDO, OPT_TIMEOUT, OPT_PORTABLE_RESOLVE };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },     { "target", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },   { "output", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, OPT_ONLY }, { "skip", required_argument, NULL, OPT_SKIP },
		{ "no-network", no_argument, NULL, OPT_NO_NETWORK },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "disk", required_argument, NULL, 'd' },     { "fix", no_argument, NULL, OPT_FIX },
		{ "dry-run", no_argument, NULL, 'n' },        { "undo", no_argument, NULL, OPT_UNDO },
		{ "list", no_argument, NULL, 'l' },           { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },          { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* For tests: resolve --root paths without openat2, as on kernels older than 5.6. */
		{ "portable-resolve", no_argument, NULL, OPT_PORTABLE_RESOLVE },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .root = "/", .target = "azure", .format = FORMAT_TEXT, .timeout_ms = 5000 };
	enum log_level lvl = LOG_LVL_WARN;
	bool fix = false, dry_run = false, undo = false, list = false;
	struct report rep;
	_cleanup_free_ char *why = NULL;
	const char *bad;
	int c, rc;

	close_stdout_atexit();
	while ((c = getopt_long(argc, argv, "r:t:f:o:d:nlvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.root = optarg; break;
		case 't':
			if (!target_find(optarg))
				usage_error("prepcheck", "unknown target '%s' (azure, kvm, aws, generic)", optarg);
			o.target = optarg;
			break;
		case 'f':
			if (streq(optarg, "json"))
				o.format = FORMAT_JSON;
			else if (streq(optarg, "text"))
				o.format = FORMAT_TEXT;
			else
				usage_error("prepcheck", "unknown format '%s' (text, json)", optarg);
			break;
		case 'o': o.output = optarg; break;
		case OPT_ONLY: split_ids(&o.only, optarg); break;
		case OPT_SKIP: split_ids(&o.skip, optarg); break;
		case OPT_NO_NETWORK: o.no_network = true; break;
		case OPT_TIMEOUT: {
			long t;
			if (parse_long(optarg, &t) < 0 || t < 1 || t > 600)
				usage_error("prepcheck", "--timeout takes whole seconds from 1 to 600, not '%s'", optarg);
			o.timeout_ms = (int)t * 1000;
			break;
		}
		case 'd': strv_push(&o.disks, optarg); break;
		case OPT_FIX: fix = true; break;
		case 'n': dry_run = true; break;
		case OPT_UNDO: undo = true; break;
		case 'l': list = true; break;
		case 'v': lvl = LOG_LVL_DEBUG; break;
		case 'q': lvl = LOG_LVL_ERR; break;
		case OPT_PORTABLE_RESOLVE: o.sysroot_flags |= SYSROOT_NO_OPENAT2; break;
		case 'h': usage();
		case 'V': print_version("prepcheck"); return EXIT_SUCCESS;
		default: usage_error("prepcheck", "invalid option");
		}
	}
	if (optind < argc)
		usage_error("prepcheck", "unexpected argument '%s'", argv[optind]);
	if ((fix + undo + list) > 1)
		usage_error("prepcheck", "--fix, --undo and --list are mutually exclusive");
	if (dry_run && !fix)
		usage_error("prepcheck", "--dry-run goes with --fix");
	log_setup("prepcheck", lvl);
	/* Disk discovery matches the root against mount points: it must be absolute and canonical. */
	_cleanup_free_ char *root_abs = realpath(o.root, NULL);
	if (root_abs)
		o.root = root_abs;
	o.color = !o.output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	if (list)
		return list_checks();
	if (engine_validate_ids(&o, &bad) < 0)
		usage_error("prepcheck", "unknown check id '%s' (see prepcheck --list)", bad);
	if (undo)
		rc = morph_undo(&o);
	else if (fix)
		rc = morph_fix(&o, dry_run);
	else if (engine_run(&o, &rep, &why) < 0) {
		log_err("%s", why);
		rc = EXIT_USAGE;
	} else {
		rc = write_report(&o, &rep) < 0 ? EXIT_USAGE : report_exit_code(&rep);
		report_free(&rep);
	}
	strv_free(&o.only);
	strv_free(&o.skip);
	strv_free(&o.disks);
	return rc;
}
