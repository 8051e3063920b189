/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "test-util.h"

static GPtrArray *warnings;

static void
log_handler(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
	if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
		g_ptr_array_add(warnings, g_strdup(message));
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
	guint i;

	for (i = 0; i < warnings->len; i++) {
		if (g_pattern_match_simple(pattern, g_ptr_array_index(warnings, i))) {
			g_ptr_array_remove_index(warnings, i);
			return TRUE;
		}
	}
	return FALSE;
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

static json_object *
wait_reply(TestAgent *t)
{
	const char *data;
	gsize len;

	while (!t->replied)
		g_main_context_iteration(NULL, TRUE);
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
	json_object *err, *v;

	if (!json_object_object_get_ex(reply, "error", &err) ||
	    !json_object_object_get_ex(err, "class", &v))
		return NULL;
	return json_object_get_string(v);
}

const char *
test_error_desc(json_object *reply)
{
	json_object *err, *v;

	if (!json_object_object_get_ex(reply, "error", &err) ||
	    !json_object_object_get_ex(err, "desc", &v))
		return NULL;
	return json_object_get_string(v);
}
