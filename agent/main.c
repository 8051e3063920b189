/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirty-agent: lifecycle only.  Parse the configuration, set up
 * logging and signals, build the agent, serve until SIGTERM/SIGINT.
 */
#define G_LOG_DOMAIN "dmadirty-agent"
#include "config.h"

#include <signal.h>
#include <stdio.h>

#include <glib-unix.h>

#include "agent.h"
#include "log.h"
#include "notify.h"

static GLogLevelFlags max_level = G_LOG_LEVEL_MESSAGE;

/* One line per message on stderr, which systemd puts in the journal. */
static void
log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
	g_autofree char *line = NULL;

	/* Lower flag values are more severe. */
	if ((level & G_LOG_LEVEL_MASK) > max_level)
		return;
	line = dd_log_format(domain, level, message);
	fprintf(stderr, "%s\n", line);
}

static gboolean
on_quit_signal(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_CONTINUE;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DdConfig) config = NULL;
	g_autoptr(DdAgent) agent = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	sigset_t mask;
	guint sig_term, sig_int;

	/*
	 * SIGIO is taken through a signalfd (virtio-serial host connection
	 * changes); it must be blocked before any thread exists.  Writes to a
	 * vanished host return EPIPE instead of killing us.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGIO);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	g_log_set_default_handler(log_handler, NULL);

	config = dd_config_load(&argc, &argv, &error);
	if (!config) {
		fprintf(stderr, "dmadirty-agent: %s\n", error->message);
		return 2;
	}
	if (config->version) {
		printf("dmadirty-agent %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (config->dump_config) {
		g_autofree char *data = dd_config_to_data(config);

		fputs(data, stdout);
		return 0;
	}
	max_level = config->log_level;

	loop = g_main_loop_new(NULL, FALSE);
	sig_term = g_unix_signal_add(SIGTERM, on_quit_signal, loop);
	sig_int = g_unix_signal_add(SIGINT, on_quit_signal, loop);

	agent = dd_agent_new(g_steal_pointer(&config), &error);
	if (!agent || !dd_agent_listen(agent, &error)) {
		fprintf(stderr, "dmadirty-agent: %s\n", error->message);
		g_source_remove(sig_term);
		g_source_remove(sig_int);
		return 1;
	}
	if (!dd_notify("READY=1\nSTATUS=serving", &error)) {
		g_warning("%s", error->message);
		g_clear_error(&error);
	}
	g_message("dmadirty-agent %s ready (%s)", PACKAGE_VERSION,
		  dd_method_name(agent->config->method));

	g_main_loop_run(loop);

	g_message("shutting down");
	dd_notify("STOPPING=1", NULL);
	g_clear_pointer(&agent, dd_agent_free);
	g_source_remove(sig_term);
	g_source_remove(sig_int);
	return 0;
}
