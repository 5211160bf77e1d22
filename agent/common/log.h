/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr (the journal picks stderr up under systemd). One process-wide level, set once by
 * main() from -v/-q; libraries only call log_*(). A process that may run while filesystems are frozen
 * (the freeze watchdog) must not log at all until it thawed them: stderr can be a file on a frozen fs.
 */
#ifndef MOBILITY_LOG_H
#define MOBILITY_LOG_H

#include "util.h"

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_setup(const char *progname, enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
