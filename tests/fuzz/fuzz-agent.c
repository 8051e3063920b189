/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the host's byte stream through the framer and the
 * dispatcher into the real command handlers (against a temporary sysctl
 * file, no hooks, no device), exactly as the channel feeds them.
 *
 * The first input byte picks the read size, so that frame boundaries fall
 * everywhere.  Every reply must be one JSON object with "return" or
 * "error", ending in a newline (0xFF-prefixed for guest-sync-delimited);
 * anything else aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "agent.h"
#include "qga.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *workdir;
static DdAgent *agent;
static DdFramer *framer;
static gboolean replied;

static void
quiet(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
}

static void
remove_workdir(void)
{
	const char *names[] = { "sysctl", "agent.conf" };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p = g_build_filename(workdir, names[i], NULL);

		g_unlink(p);
	}
	g_rmdir(workdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("dmadirty-fuzz-XXXXXX", &error);
	g_autofree char *sysctl = NULL;
	g_autofree char *a_sysctl = NULL, *a_dev = NULL, *a_hooks = NULL, *a_conf = NULL;
	char *args[12];
	char **argvp = args;
	int n = 0;
	DdConfig *config;

	if (!dir)
		abort();
	workdir = g_strdup(dir);
	atexit(remove_workdir);
	sysctl = g_build_filename(dir, "sysctl", NULL);
	if (!g_file_set_contents(sysctl, "0\n", -1, NULL))
		abort();
	a_conf = g_strdup_printf("--config=%s/agent.conf", dir);
	if (!g_file_set_contents(a_conf + strlen("--config="), "", -1, NULL))
		abort();
	a_sysctl = g_strdup_printf("--sysctl-path=%s", sysctl);
	a_dev = g_strdup_printf("--device-path=%s/no-device", dir);
	a_hooks = g_strdup_printf("--hooks-dir=%s/no-hooks", dir);
	args[n++] = "fuzz";
	args[n++] = a_conf;
	args[n++] = "-b";
	args[n++] = "guest-info";	/* exercise the block list too */
	args[n++] = a_sysctl;
	args[n++] = a_dev;
	args[n++] = a_hooks;
	args[n++] = "--max-message-size=4096";
	args[n++] = "--max-nesting-depth=8";
	args[n] = NULL;

	g_log_set_default_handler(quiet, NULL);
	config = dd_config_load(&n, &argvp, &error);
	if (!config)
		abort();
	agent = dd_agent_new(config, &error);
	if (!agent)
		abort();
	framer = dd_framer_new(config->max_message_size, config->max_nesting_depth);
	return 0;
}

static void
on_reply(GBytes *reply, gpointer user_data)
{
	gsize len;
	const char *s = g_bytes_get_data(reply, &len);
	json_object *obj;

	if (replied || !s || len < 3 || s[len - 1] != '\n')
		abort();
	if ((guint8)s[0] == QGA_DELIMITER)
		s++, len--;
	obj = json_tokener_parse(s);
	if (qga_reply_kind(obj) == QGA_REPLY_INVALID)
		abort();
	json_object_put(obj);
	replied = TRUE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gsize chunk, off;

	if (size == 0)
		return 0;
	chunk = 1 + data[0] % 64;
	data++, size--;
	dd_framer_reset(framer);
	for (off = 0; off < size; off += chunk) {
		gsize end = MIN(off + chunk, size), pos = off;

		while (pos < end) {
			DdFrameKind kind;
			const char *msg;
			gsize len;

			pos += dd_framer_feed(framer, data + pos, end - pos, &kind);
			if (kind == DD_FRAME_NONE)
				continue;
			replied = FALSE;
			if (kind == DD_FRAME_MESSAGE) {
				msg = dd_framer_message(framer, &len);
				dd_dispatcher_handle(agent->dispatcher, msg, len, on_reply, NULL);
			} else {
				dd_dispatcher_handle_frame_error(agent->dispatcher, kind, on_reply, NULL);
			}
			/* enable/disable finish from the main loop */
			while (!replied)
				g_main_context_iteration(NULL, TRUE);
		}
	}
	return 0;
}
