/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The agent's log lines (agent/log.c).  The domains are heap copies of
 * their exact length, so that a read past the end of a short one is seen
 * by ASan and valgrind, not only as a wrong line.
 */
#include "config.h"

#include <glib.h>

#include "log.h"

static void
check(const char *domain, GLogLevelFlags level, const char *message, const char *want)
{
	g_autofree char *d = g_strdup(domain);
	g_autofree char *line = dd_log_format(d, level, message);

	g_assert_cmpstr(line, ==, want);
}

static void
test_own_domains(void)
{
	check("dmadirty-agent", G_LOG_LEVEL_MESSAGE, "ready", "dmadirty-agent: notice: ready");
	check("dmadirty-channel", G_LOG_LEVEL_WARNING, "gone",
	      "dmadirty-agent: warning: channel: gone");
	check("dmadirty-kernel", G_LOG_LEVEL_INFO, "open", "dmadirty-agent: info: kernel: open");
	check(NULL, G_LOG_LEVEL_DEBUG, "x", "dmadirty-agent: debug: x");
}

/* Domains that are not "dmadirty-" plus a name are printed as they are. */
static void
test_other_domains(void)
{
	check("GLib", G_LOG_LEVEL_WARNING, "w", "dmadirty-agent: warning: GLib: w");
	check("GLib-GIO", G_LOG_LEVEL_CRITICAL, "c", "dmadirty-agent: critical: GLib-GIO: c");
	check("dmadirty", G_LOG_LEVEL_WARNING, "w", "dmadirty-agent: warning: dmadirty: w");
	check("dmadirty-", G_LOG_LEVEL_WARNING, "w", "dmadirty-agent: warning: dmadirty-: w");
	check("", G_LOG_LEVEL_WARNING, "w", "dmadirty-agent: warning: w");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log/own-domains", test_own_domains);
	g_test_add_func("/log/other-domains", test_other_domains);
	return g_test_run();
}
