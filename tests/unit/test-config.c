/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the configuration (agent/config.c). */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "agent-config.h"
#include "test-util.h"

typedef struct {
	char *dir;
	char *conf;
} Fixture;

static void
setup(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dmadirty-config-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->conf = g_build_filename(f->dir, "agent.conf", NULL);
	g_assert_true(g_file_set_contents(f->conf, "", -1, NULL));
}

static void
teardown(Fixture *f, gconstpointer data)
{
	g_unlink(f->conf);
	g_rmdir(f->dir);
	g_free(f->conf);
	g_free(f->dir);
}

/* Loads with -c CONF plus @args (NULL-terminated). */
static DdConfig *
load(Fixture *f, GError **error, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char **copy = NULL;
	const char *a;
	va_list ap;
	int argc;

	g_ptr_array_add(argv, g_strdup("dmadirty-agent"));
	g_ptr_array_add(argv, g_strdup_printf("--config=%s", f->conf));
	va_start(ap, error);
	while ((a = va_arg(ap, const char *)))
		g_ptr_array_add(argv, g_strdup(a));
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	argc = (int)argv->len - 1;
	copy = g_memdup2(argv->pdata, sizeof(char *) * argv->len);
	return dd_config_load(&argc, &copy, error);
}

static void
write_conf(Fixture *f, const char *text)
{
	g_assert_true(g_file_set_contents(f->conf, text, -1, NULL));
}

static void
test_defaults(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DdConfig) c = load(f, &error, NULL);

	g_assert_no_error(error);
	g_assert_cmpint(c->method, ==, DD_METHOD_VIRTIO_SERIAL);
	g_assert_null(c->path);
	g_assert_cmpstr(c->sysctl_path, ==, "/proc/sys/vm/dma_mark_dirty");
	g_assert_cmpstr(c->device_path, ==, "/dev/dmadirty");
	g_assert_cmpstr(c->hooks_dir, ==, "/etc/dmadirty/hooks.d");
	g_assert_null(c->allow_rpcs);
	g_assert_null(c->block_rpcs);
	g_assert_cmpuint(c->max_message_size, ==, 65536);
	g_assert_cmpuint(c->max_nesting_depth, ==, 32);
	g_assert_cmpuint(c->hook_timeout, ==, 30);
	g_assert_cmpuint(c->reply_timeout, ==, 5000);
	g_assert_cmpint(c->log_level, ==, G_LOG_LEVEL_MESSAGE);
	g_assert_cmpstr(c->config_file, ==, f->conf);
}

static void
test_file(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DdConfig) c = NULL;

	write_conf(f, "# comment\n[general]\nmethod=unix-listen\npath=/run/a.sock\n"
		   "sysctl-path=/tmp/s\ndevice-path=/tmp/d\nhooks-dir=/tmp/h\n"
		   "block-rpcs=guest-ping,guest-info\nallow-rpcs=guest-sync\n"
		   "max-message-size=1000\nmax-nesting-depth=4\nhook-timeout=7\n"
		   "reply-timeout=250\nlog-level=info\n");
	c = load(f, &error, NULL);
	g_assert_no_error(error);
	g_assert_cmpint(c->method, ==, DD_METHOD_UNIX_LISTEN);
	g_assert_cmpstr(c->path, ==, "/run/a.sock");
	g_assert_cmpstr(c->sysctl_path, ==, "/tmp/s");
	g_assert_cmpstr(c->device_path, ==, "/tmp/d");
	g_assert_cmpstr(c->hooks_dir, ==, "/tmp/h");
	g_assert_cmpuint(g_strv_length(c->block_rpcs), ==, 2);
	g_assert_cmpstr(c->block_rpcs[1], ==, "guest-info");
	g_assert_cmpstr(c->allow_rpcs[0], ==, "guest-sync");
	g_assert_cmpuint(c->max_message_size, ==, 1000);
	g_assert_cmpuint(c->max_nesting_depth, ==, 4);
	g_assert_cmpuint(c->hook_timeout, ==, 7);
	g_assert_cmpuint(c->reply_timeout, ==, 250);
	g_assert_cmpint(c->log_level, ==, G_LOG_LEVEL_INFO);
}

static void
test_command_line_wins(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DdConfig) c = NULL;

	write_conf(f, "[general]\nmethod=unix-listen\npath=/a\nhook-timeout=7\nlog-level=error\n"
		   "block-rpcs=guest-ping\n");
	c = load(f, &error, "-p", "/b", "--hook-timeout", "9", "-v", "-b", "guest-info",
		 "-m", "vsock-listen", NULL);
	g_assert_no_error(error);
	g_assert_cmpint(c->method, ==, DD_METHOD_VSOCK_LISTEN);
	g_assert_cmpstr(c->path, ==, "/b");
	g_assert_cmpuint(c->hook_timeout, ==, 9);
	g_assert_cmpint(c->log_level, ==, G_LOG_LEVEL_DEBUG);
	g_assert_cmpuint(g_strv_length(c->block_rpcs), ==, 1);
	g_assert_cmpstr(c->block_rpcs[0], ==, "guest-info");
}

static void
test_dump_round_trip(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DdConfig) c = NULL;
	g_autoptr(DdConfig) c2 = NULL;
	g_autofree char *dump = NULL;
	g_autofree char *dump2 = NULL;

	c = load(f, &error, "-m", "unix-listen", "-p", "/x", "-b", "guest-ping",
		 "--max-message-size", "4096", "--log-level", "warning", "--hooks-dir", "/h", NULL);
	g_assert_no_error(error);
	dump = dd_config_to_data(c);
	g_assert_nonnull(strstr(dump, "[general]"));
	g_assert_nonnull(strstr(dump, "method=unix-listen"));
	g_assert_nonnull(strstr(dump, "max-message-size=4096"));
	g_assert_nonnull(strstr(dump, "log-level=warning"));
	write_conf(f, dump);
	c2 = load(f, &error, NULL);
	g_assert_no_error(error);
	dump2 = dd_config_to_data(c2);
	g_assert_cmpstr(dump, ==, dump2);
}

static void
test_errors(Fixture *f, gconstpointer data)
{
	static const struct {
		const char *file;
		const char *arg;
		const char *want;
	} cases[] = {
		{ "[general]\nmethod=serial\n", NULL, "'serial' is not one of" },
		{ "[general]\nhook-timeout=0\n", NULL, "hook-timeout: '0' is not a number from 1" },
		{ "[general]\nmax-message-size=ten\n", NULL, "max-message-size" },
		{ "[general]\ncolour=blue\n", NULL, "unknown key 'colour'" },
		{ "[agent]\nmethod=unix-listen\n", NULL, "unknown group [agent]" },
		{ "[general]\nlog-level=loud\n", NULL, "log-level" },
		{ "[general]\nverbose=maybe\n", NULL, "verbose" },
		{ "this is not a key file\n", NULL, "agent.conf" },
		{ "", "--reply-timeout=-5", "--reply-timeout" },
		{ "", "--method=unix-listen", "needs --path" },
		{ "", "stray", "unexpected argument 'stray'" },
		{ "", "--no-such-option", "no-such-option" },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(DdConfig) c = NULL;

		write_conf(f, cases[i].file);
		c = load(f, &error, cases[i].arg, NULL);
		g_assert_null(c);
		g_assert_nonnull(error);
		g_test_message("%s", error->message);
		g_assert_nonnull(strstr(error->message, cases[i].want));
	}
}

static void
test_missing_file(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(DdConfig) c = NULL;

	/* An explicit config file must exist. */
	g_unlink(f->conf);
	c = load(f, &error, NULL);
	g_assert_null(c);
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	g_assert_true(g_file_set_contents(f->conf, "", -1, NULL));
}

int
main(int argc, char **argv)
{
	test_init(&argc, &argv);
	g_test_add("/config/defaults", Fixture, NULL, setup, test_defaults, teardown);
	g_test_add("/config/file", Fixture, NULL, setup, test_file, teardown);
	g_test_add("/config/command-line-wins", Fixture, NULL, setup, test_command_line_wins, teardown);
	g_test_add("/config/dump-round-trip", Fixture, NULL, setup, test_dump_round_trip, teardown);
	g_test_add("/config/errors", Fixture, NULL, setup, test_errors, teardown);
	g_test_add("/config/missing-file", Fixture, NULL, setup, test_missing_file, teardown);
	return test_run();
}
