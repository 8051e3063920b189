/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "qga.h"
#include "test-util.h"

/* Generous: the tests may run under valgrind. */
#define TEST_REPLY_TIMEOUT_S 120

static GPtrArray *warnings;

static void
log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
	if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
		g_ptr_array_add(warnings, g_strdup_printf("%s: %s", g_test_get_path(), message));
	if ((level & G_LOG_LEVEL_DEBUG) && !g_test_verbose())
		return;
	g_printerr("# %s: %s\n", domain ? domain : "", message);
}

void
test_init(int *argc, char ***argv)
{
	g_test_init(argc, argv, NULL);
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_log_set_default_handler(log_handler, NULL);
	warnings = g_ptr_array_new_with_free_func(g_free);
}

gboolean
test_saw_warning(const char *pattern)
{
	g_autofree char *full = g_strdup_printf("%s: %s", g_test_get_path(), pattern);
	guint i;

	for (i = 0; i < warnings->len; i++) {
		if (g_pattern_match_simple(full, g_ptr_array_index(warnings, i))) {
			g_ptr_array_remove_index(warnings, i);
			return TRUE;
		}
	}
	return FALSE;
}

void
test_assert_no_warnings(void)
{
	guint i;

	for (i = 0; i < warnings->len; i++)
		g_test_fail_printf("unexpected warning in %s", (char *)g_ptr_array_index(warnings, i));
	g_ptr_array_set_size(warnings, 0);
}

int
test_run(void)
{
	int rc = g_test_run();
	guint i;

	/* A warning outside a test, or in a test that did not check. */
	for (i = 0; i < warnings->len; i++) {
		g_printerr("# unexpected warning in %s\n", (char *)g_ptr_array_index(warnings, i));
		rc = 1;
	}
	g_clear_pointer(&warnings, g_ptr_array_unref);
	return rc;
}

TestAgent *
test_agent_new(const char *const *extra)
{
	TestAgent *t = g_new0(TestAgent, 1);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree char *conf = NULL;
	g_autofree char *nodev = NULL;
	DdConfig *config;
	char **args;
	int argc;

	t->dir = g_dir_make_tmp("dmadirty-test-XXXXXX", &error);
	g_assert_no_error(error);
	t->sysctl = g_build_filename(t->dir, "sysctl", NULL);
	t->hooks = g_build_filename(t->dir, "hooks.d", NULL);
	conf = g_build_filename(t->dir, "agent.conf", NULL);
	nodev = g_build_filename(t->dir, "no-device", NULL);
	g_assert_true(g_file_set_contents(t->sysctl, "0\n", -1, NULL));
	g_assert_true(g_file_set_contents(conf, "[general]\n", -1, NULL));
	g_assert_cmpint(g_mkdir(t->hooks, 0755), ==, 0);

	g_ptr_array_add(argv, g_strdup("test"));
	g_ptr_array_add(argv, g_strdup("-m"));
	g_ptr_array_add(argv, g_strdup("unix-listen"));
	g_ptr_array_add(argv, g_strdup("-p"));
	g_ptr_array_add(argv, g_build_filename(t->dir, "sock", NULL));
	g_ptr_array_add(argv, g_strdup_printf("--config=%s", conf));
	g_ptr_array_add(argv, g_strdup_printf("--sysctl-path=%s", t->sysctl));
	g_ptr_array_add(argv, g_strdup_printf("--device-path=%s", nodev));
	g_ptr_array_add(argv, g_strdup_printf("--hooks-dir=%s", t->hooks));
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, g_strdup(*extra));
	g_ptr_array_add(argv, NULL);

	/* g_option_context_parse() rearranges the array: hand it a copy. */
	argc = (int)argv->len - 1;
	args = g_new0(char *, argv->len);
	memcpy(args, argv->pdata, sizeof(char *) * argv->len);
	config = dd_config_load(&argc, &args, &error);
	g_free(args);
	g_assert_no_error(error);
	t->agent = dd_agent_new(config, &error);
	g_assert_no_error(error);
	return t;
}

void
test_rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	if (d) {
		while ((name = g_dir_read_name(d))) {
			g_autofree char *p = g_build_filename(path, name, NULL);

			test_rm_rf(p);
		}
		g_dir_close(d);
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

void
test_agent_free(TestAgent *t)
{
	dd_agent_free(t->agent);
	test_assert_no_warnings();
	test_rm_rf(t->dir);
	g_clear_pointer(&t->reply, g_bytes_unref);
	g_free(t->dir);
	g_free(t->sysctl);
	g_free(t->hooks);
	g_free(t);
}

static void
on_reply(GBytes *reply, gpointer user_data)
{
	TestAgent *t = user_data;

	g_assert_false(t->replied);
	g_clear_pointer(&t->reply, g_bytes_unref);
	t->reply = reply ? g_bytes_ref(reply) : NULL;
	t->replied = TRUE;
}

static json_object *wait_reply(TestAgent *t);

json_object *
test_agent_call(TestAgent *t, const char *msg)
{
	t->replied = FALSE;
	dd_dispatcher_handle(t->agent->dispatcher, msg, strlen(msg), on_reply, t);
	return wait_reply(t);
}

json_object *
test_agent_frame_error(TestAgent *t, DdFrameKind kind)
{
	t->replied = FALSE;
	dd_dispatcher_handle_frame_error(t->agent->dispatcher, kind, on_reply, t);
	return wait_reply(t);
}

static gboolean
on_reply_timeout(gpointer user_data)
{
	gboolean *timed_out = user_data;

	*timed_out = TRUE;
	return G_SOURCE_REMOVE;
}

static json_object *
wait_reply(TestAgent *t)
{
	gboolean timed_out = FALSE;
	guint timer = g_timeout_add_seconds(TEST_REPLY_TIMEOUT_S, on_reply_timeout, &timed_out);
	const char *data;
	gsize len;

	while (!t->replied && !timed_out)
		g_main_context_iteration(NULL, TRUE);
	if (!timed_out)
		g_source_remove(timer);
	if (!t->replied)
		g_error("no reply within %d s", TEST_REPLY_TIMEOUT_S);
	g_assert_nonnull(t->reply);
	data = g_bytes_get_data(t->reply, &len);
	g_assert_cmpuint(len, >, 1);
	g_assert_cmpint(data[len - 1], ==, '\n');
	if ((guint8)data[0] == 0xFF)
		data++, len--;
	return json_tokener_parse(data);
}

void
test_write_hook(const char *dir, const char *name, const char *body)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(chmod(path, 0755), ==, 0);
}

char *
test_read_file(const char *path)
{
	char *s = NULL;

	g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
	return g_strstrip(s);
}

const char *
test_error_class(json_object *reply)
{
	return qga_reply_error_class(reply);
}

const char *
test_error_desc(json_object *reply)
{
	return qga_reply_error_desc(reply);
}

/* Is @pid gone, or a zombie? */
static gboolean
is_dead(int pid)
{
	g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", pid);
	g_autofree char *st = NULL;
	const char *end;

	if (!g_file_get_contents(stat_path, &st, NULL, NULL))
		return TRUE;
	/* The state follows the command name's closing parenthesis. */
	end = strrchr(st, ')');
	return end && end[1] == ' ' && end[2] == 'Z';
}

gboolean
test_wait_dead(int pid, guint timeout_s)
{
	struct pollfd p = { .events = POLLIN };
	gint64 end;
	int r;

	/* A pidfd becomes readable when the process exits (a zombie or gone). */
	p.fd = pidfd_open(pid, 0);
	if (p.fd < 0 && errno == ESRCH)
		return TRUE;
	if (p.fd >= 0) {
		do
			r = poll(&p, 1, (int)timeout_s * 1000);
		while (r < 0 && errno == EINTR);
		close(p.fd);
		return r == 1;
	}
	/*
	 * No pidfd (valgrind does not know the call): look at the process
	 * every 10 ms until the deadline.
	 */
	g_assert_cmpint(errno, ==, ENOSYS);
	end = g_get_monotonic_time() + timeout_s * G_USEC_PER_SEC;
	while (!is_dead(pid)) {
		if (g_get_monotonic_time() >= end)
			return FALSE;
		g_usleep(10 * 1000);
	}
	return TRUE;
}
