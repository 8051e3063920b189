/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Integration tests: the real dmadirty-agent binary on a unix socket, with
 * a temporary sysctl file, hooks directory and no control device, driven
 * the way a host drives it (as qemu's tests/unit/test-qga.c does).
 *
 * DMADIRTY_AGENT_WRAPPER, when set, is put in front of the agent's command
 * line (for example "valgrind --leak-check=full --error-exitcode=1"); the
 * agent must then still exit with status 0 on SIGTERM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* POLLRDHUP */
#endif
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

#include "qga.h"
#include "../unit/test-util.h"

/* Generous: the agent may run under valgrind. */
#define REPLY_TIMEOUT_MS 20000

typedef struct {
	char *dir;
	char *sock;
	char *sysctl;
	char *hooks;
	char *conf;
	GPid pid;
	int fd;			/* the current client */
	GString *in;		/* bytes received and not yet consumed */
	gboolean saw_ff;	/* the last reply had the 0xFF prefix */
} Fixture;

static const char *
agent_path(void)
{
	const char *b = g_getenv("top_builddir");

	static char *path;

	if (!path)
		path = g_build_filename(b ? b : TOP_BUILDDIR, "agent", "dmadirty-agent", NULL);
	return path;
}

/* ------------------------------------------------------------------ client */

static int
connect_agent(Fixture *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(addr.sun_path, f->sock, sizeof(addr.sun_path));
	g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	return fd;
}

static void
reconnect(Fixture *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = connect_agent(f);
	g_string_truncate(f->in, 0);
}

static void
send_raw(Fixture *f, const void *data, gsize len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(f->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		g_assert_cmpint(n, >, 0);
		p += n;
		len -= n;
	}
}

static void
send_str(Fixture *f, const char *s)
{
	send_raw(f, s, strlen(s));
}

/* Waits up to @timeout_ms for more bytes; FALSE on timeout or EOF. */
static gboolean
receive_more(Fixture *f, int timeout_ms)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return FALSE;
	n = recv(f->fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return FALSE;
	g_string_append_len(f->in, buf, n);
	return TRUE;
}

/* The next reply line, without its newline and 0xFF prefix; NULL if none came. */
static char *
read_line(Fixture *f, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	char *nl;

	while (!(nl = memchr(f->in->str, '\n', f->in->len))) {
		gint64 left = (end - g_get_monotonic_time()) / 1000;

		if (left <= 0 || !receive_more(f, (int)left))
			return NULL;
	}
	{
		gsize len = nl - f->in->str;
		char *line = g_strndup(f->in->str, len);

		g_string_erase(f->in, 0, len + 1);
		f->saw_ff = (guint8)line[0] == 0xFF;
		if (f->saw_ff)
			memmove(line, line + 1, len);
		return line;
	}
}

static json_object *
read_reply(Fixture *f)
{
	g_autofree char *line = read_line(f, REPLY_TIMEOUT_MS);
	json_object *obj;

	g_assert_nonnull(line);
	obj = json_tokener_parse(line);
	g_assert_nonnull(obj);
	g_assert_true(json_object_is_type(obj, json_type_object));
	return obj;
}

static json_object *
call(Fixture *f, const char *msg)
{
	send_str(f, msg);
	return read_reply(f);
}

static json_object *
ret_member(json_object *r, const char *name)
{
	json_object *ret = NULL;

	if (!json_object_object_get_ex(r, "return", &ret))
		g_error("no return in %s", json_object_to_json_string(r));
	return json_object_object_get(ret, name);
}

static void
assert_ping(Fixture *f)
{
	json_object *r = call(f, "{\"execute\":\"guest-ping\"}");

	g_assert_nonnull(json_object_object_get(r, "return"));
	json_object_put(r);
}

/* ------------------------------------------------------------------- agent */

static void
write_file(const char *path, const char *text, int mode)
{
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static void
write_hook(Fixture *f, const char *name, const char *body)
{
	g_autofree char *path = g_build_filename(f->hooks, name, NULL);
	g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);

	write_file(path, text, 0755);
}

/* An agent left behind by a failed test must not outlive it. */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts the agent with @extra options; waits for READY=1 on NOTIFY_SOCKET. */
static void
start_agent(Fixture *f, const char *const *extra)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *notify = g_build_filename(f->dir, "notify", NULL);
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GError) error = NULL;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *wrapper = g_getenv("DMADIRTY_AGENT_WRAPPER");
	struct pollfd p;
	char buf[256];
	ssize_t n;
	int nfd;

	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_strlcpy(addr.sun_path, notify, sizeof(addr.sun_path));
	g_assert_cmpint(bind(nfd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	envp = g_environ_setenv(envp, "NOTIFY_SOCKET", notify, TRUE);

	if (wrapper && *wrapper) {
		g_auto(GStrv) w = NULL;
		char **p2;

		g_assert_true(g_shell_parse_argv(wrapper, NULL, &w, NULL));
		for (p2 = w; *p2; p2++)
			g_ptr_array_add(argv, g_strdup(*p2));
	}
	g_ptr_array_add(argv, g_strdup(agent_path()));
	g_ptr_array_add(argv, g_strdup("-m"));
	g_ptr_array_add(argv, g_strdup("unix-listen"));
	g_ptr_array_add(argv, g_strdup_printf("--path=%s", f->sock));
	g_ptr_array_add(argv, g_strdup_printf("--config=%s", f->conf));
	g_ptr_array_add(argv, g_strdup_printf("--sysctl-path=%s", f->sysctl));
	g_ptr_array_add(argv, g_strdup_printf("--hooks-dir=%s", f->hooks));
	g_ptr_array_add(argv, g_build_filename(f->dir, "no-device", NULL));
	/* (the line above is the value of the next option) */
	{
		char *dev = argv->pdata[argv->len - 1];

		argv->pdata[argv->len - 1] = g_strdup_printf("--device-path=%s", dev);
		g_free(dev);
	}
	g_ptr_array_add(argv, g_strdup("--log-level=info"));
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, g_strdup(*extra));
	g_ptr_array_add(argv, NULL);

	g_assert_true(g_spawn_async(NULL, (char **)argv->pdata, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH,
				    die_with_parent, NULL, &f->pid, &error));
	g_assert_no_error(error);

	p.fd = nfd;
	p.events = POLLIN;
	g_assert_cmpint(poll(&p, 1, 60000), ==, 1);
	n = recv(nfd, buf, sizeof(buf) - 1, 0);
	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	g_assert_nonnull(strstr(buf, "READY=1"));
	close(nfd);
	g_unlink(notify);
	f->fd = connect_agent(f);
}

/* SIGTERM; the agent must exit 0 (under valgrind: without leaks or errors). */
static void
stop_agent(Fixture *f)
{
	int status;

	if (!f->pid)
		return;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	g_assert_cmpint(kill(f->pid, SIGTERM), ==, 0);
	g_assert_cmpint(waitpid(f->pid, &status, 0), ==, f->pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	f->pid = 0;
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dmadirty-agent-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->sock = g_build_filename(f->dir, "agent.sock", NULL);
	f->sysctl = g_build_filename(f->dir, "dma_mark_dirty", NULL);
	f->hooks = g_build_filename(f->dir, "hooks.d", NULL);
	f->conf = g_build_filename(f->dir, "agent.conf", NULL);
	write_file(f->sysctl, "0\n", 0644);
	write_file(f->conf, "[general]\n", 0644);
	g_assert_cmpint(g_mkdir(f->hooks, 0755), ==, 0);
	f->in = g_string_new(NULL);
	f->fd = -1;
	/* Tests that need options start the agent themselves. */
	if (!data)
		start_agent(f, NULL);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	stop_agent(f);
	test_rm_rf(f->dir);
	g_string_free(f->in, TRUE);
	g_free(f->dir);
	g_free(f->sock);
	g_free(f->sysctl);
	g_free(f->hooks);
	g_free(f->conf);
}

static char *
sysctl_value(Fixture *f)
{
	char *s = NULL;

	g_assert_true(g_file_get_contents(f->sysctl, &s, NULL, NULL));
	return g_strstrip(s);
}

/* utime + stime of the agent, in clock ticks. */
static guint64
agent_cpu_ticks(Fixture *f)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", f->pid);
	g_autofree char *stat = NULL;
	g_auto(GStrv) fields = NULL;
	const char *p;

	g_assert_true(g_file_get_contents(path, &stat, NULL, NULL));
	/* Fields after the command name, which may hold spaces. */
	p = strrchr(stat, ')');
	g_assert_nonnull(p);
	fields = g_strsplit(p + 2, " ", -1);
	/* state is field 3; utime and stime are fields 14 and 15. */
	return g_ascii_strtoull(fields[11], NULL, 10) + g_ascii_strtoull(fields[12], NULL, 10);
}

/*
 * Returns once the agent has gone @quiet_ms without a CPU tick: what it
 * was doing is done.  Fails at @end (monotonic time).
 */
static void
agent_wait_quiet(Fixture *f, guint quiet_ms, gint64 end)
{
	guint64 before = agent_cpu_ticks(f);

	for (;;) {
		guint64 after;

		g_usleep(quiet_ms * 1000);
		after = agent_cpu_ticks(f);
		if (after == before)
			return;
		before = after;
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	}
}

static guint64
agent_status_kb(Fixture *f, const char *key)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", f->pid);
	g_autofree char *st = NULL;
	const char *p;

	g_assert_true(g_file_get_contents(path, &st, NULL, NULL));
	p = strstr(st, key);
	g_assert_nonnull(p);
	return g_ascii_strtoull(p + strlen(key) + 1, NULL, 10);
}

/* ------------------------------------------------------------------- tests */

static json_object *
load_schema(void)
{
	const char *s = g_getenv("top_srcdir");
	g_autofree char *path = g_build_filename(s ? s : TOP_SRCDIR, "proto", "rpc-schema.json", NULL);
	json_object *schema = json_object_from_file(path);

	g_assert_nonnull(schema);
	return schema;
}

/* Every command of the schema, with valid arguments, returns its members. */
static void
test_every_command(Fixture *f, gconstpointer data)
{
	json_object *schema = load_schema();
	json_object *cmds = json_object_object_get(schema, "commands");
	size_t i, j;

	g_assert_cmpuint(json_object_array_length(cmds), >=, 7);
	for (i = 0; i < json_object_array_length(cmds); i++) {
		json_object *c = json_object_array_get_idx(cmds, i);
		const char *name = json_object_get_string(json_object_object_get(c, "name"));
		json_object *args = json_object_object_get(c, "args");
		json_object *returns = json_object_object_get(c, "returns");
		json_object *req = json_object_new_object();
		json_object *a = json_object_new_object();
		json_object *r, *ret;

		for (j = 0; args && j < json_object_array_length(args); j++) {
			json_object *arg = json_object_array_get_idx(args, j);
			const char *type = json_object_get_string(json_object_object_get(arg, "type"));
			const char *an = json_object_get_string(json_object_object_get(arg, "name"));

			json_object_object_add(a, an, strcmp(type, "int") == 0 ? json_object_new_int(7 + j) :
					       strcmp(type, "string") == 0 ? json_object_new_string("t") :
					       json_object_new_boolean(TRUE));
		}
		json_object_object_add(req, "execute", json_object_new_string(name));
		json_object_object_add(req, "arguments", a);
		json_object_object_add(req, "id", json_object_new_int(1000 + i));
		g_test_message("-> %s", json_object_to_json_string(req));
		r = call(f, json_object_to_json_string(req));
		g_test_message("<- %s", json_object_to_json_string(r));
		g_assert_null(qga_reply_error_class(r));
		g_assert_cmpint(json_object_get_int(json_object_object_get(r, "id")), ==, 1000 + i);
		g_assert_cmpint(f->saw_ff, ==, strcmp(name, "guest-sync-delimited") == 0);
		g_assert_true(json_object_object_get_ex(r, "return", &ret));
		if (strcmp(json_object_get_string(json_object_object_get(returns, "type")), "object") == 0) {
			json_object *members = json_object_object_get(returns, "members");

			g_assert_true(json_object_is_type(ret, json_type_object));
			for (j = 0; j < json_object_array_length(members); j++) {
				json_object *m = json_object_array_get_idx(members, j);
				const char *mn = json_object_get_string(json_object_object_get(m, "name"));
				json_object *opt;

				/* Optional members come and go with the state. */
				if (json_object_object_get_ex(m, "optional", &opt) &&
				    json_object_get_boolean(opt))
					continue;
				g_assert_true(json_object_object_get_ex(ret, mn, NULL));
			}
		} else {
			/* guest-sync: the id comes back. */
			g_assert_cmpint(json_object_get_int(ret), ==, 7);
		}
		json_object_put(r);
		json_object_put(req);
	}
	json_object_put(schema);
}

static void
test_enable_disable(Fixture *f, gconstpointer data)
{
	g_autofree char *v1 = NULL;
	g_autofree char *v2 = NULL;
	json_object *r;

	r = call(f, "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"tag\":\"m\"}}");
	g_assert_true(json_object_get_boolean(ret_member(r, "enabled")));
	g_assert_cmpint(json_object_get_int(ret_member(r, "generation")), ==, 1);
	g_assert_cmpstr(json_object_get_string(ret_member(r, "ack")), ==, "none");
	g_assert_cmpstr(json_object_get_string(ret_member(r, "source")), ==, "kernel");
	json_object_put(r);
	v1 = sysctl_value(f);
	g_assert_cmpstr(v1, ==, "1");
	r = call(f, "{\"execute\":\"guest-dma-dirty-enable\"}");
	g_assert_cmpint(json_object_get_int(ret_member(r, "generation")), ==, 1);
	json_object_put(r);
	r = call(f, "{\"execute\":\"guest-dma-dirty-disable\"}");
	g_assert_false(json_object_get_boolean(ret_member(r, "enabled")));
	g_assert_cmpint(json_object_get_int(ret_member(r, "generation")), ==, 2);
	json_object_put(r);
	v2 = sysctl_value(f);
	g_assert_cmpstr(v2, ==, "0");
}

static void
test_pipelined(Fixture *f, gconstpointer data)
{
	g_autoptr(GString) s = g_string_new(NULL);
	guint i;

	/* Many requests in one write, replies in order. */
	for (i = 0; i < 200; i++)
		g_string_append_printf(s, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":%u}}", i);
	send_raw(f, s->str, s->len);
	for (i = 0; i < 200; i++) {
		json_object *r = read_reply(f);

		g_assert_cmpint(json_object_get_int(json_object_object_get(r, "return")), ==, i);
		json_object_put(r);
	}
}

static void
test_partial_then_disconnect(Fixture *f, gconstpointer data)
{
	json_object *r;

	/* The first client leaves half a message behind... */
	send_str(f, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1");
	reconnect(f);
	/* ...which must not complete the next client's input. */
	send_str(f, "}} {\"execute\":\"guest-sync\",\"arguments\":{\"id\":2}}");
	r = read_reply(f);
	g_assert_cmpstr(qga_reply_error_class(r), ==, "GenericError");
	json_object_put(r);
	r = read_reply(f);
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "return")), ==, 2);
	json_object_put(r);
}

static void
test_resync_ff(Fixture *f, gconstpointer data)
{
	g_autofree char *none = NULL;
	json_object *r;

	/* 0xFF drops the partial message without an error reply. */
	send_str(f, "{\"execute\":\"guest-ping\",\"argu\xff");
	send_str(f, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":5}}");
	r = read_reply(f);
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "return")), ==, 5);
	json_object_put(r);
	/* So do control characters; a lone 0xFF draws nothing at all. */
	send_str(f, "{\"execute\":\x02\xff\xff");
	none = read_line(f, 300);
	g_assert_null(none);
	g_assert_cmpuint(f->in->len, ==, 0);

	/* guest-sync-delimited, as a host resyncs: 0xFF, then the request. */
	send_str(f, "\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":77}}");
	r = read_reply(f);
	g_assert_true(f->saw_ff);
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "return")), ==, 77);
	json_object_put(r);
	assert_ping(f);
	g_assert_false(f->saw_ff);
}

static void
test_malformed(Fixture *f, gconstpointer data)
{
	static const struct {
		const char *msg;
		const char *klass;
		const char *desc;
	} cases[] = {
		{ "{\"execute\":}", "GenericError", "JSON parse error" },
		{ "{\"execute\" \"guest-ping\"}", "GenericError", "JSON parse error" },
		{ "[1,2]", "GenericError", "must be a JSON object" },
		{ "{\"execute\":\"guest-fly\"}", "CommandNotFound", "guest-fly" },
		{ "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"x\"}}", "GenericError", "'id', expected: integer" },
		{ "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1,\"x\":2}}", "GenericError", "'x' is unexpected" },
		{ "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"lease\":\"5\"}}", "GenericError", "'lease', expected: integer" },
		{ "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"lease\":-5}}", "GenericError", "lease is negative" },
		{ "{\"execute\":\"guest-dma-dirty-disable\",\"arguments\":{\"tag\":[]}}", "GenericError", "'tag', expected: string" },
	};
	g_autofree char *v = NULL;
	guint i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		json_object *r = call(f, cases[i].msg);

		g_test_message("%s -> %s", cases[i].msg, json_object_to_json_string(r));
		g_assert_cmpstr(qga_reply_error_class(r), ==, cases[i].klass);
		g_assert_nonnull(strstr(qga_reply_error_desc(r), cases[i].desc));
		json_object_put(r);
	}
	/* Nothing was lost: the next request works, the switch never moved. */
	assert_ping(f);
	v = sysctl_value(f);
	g_assert_cmpstr(v, ==, "0");
}

static void
test_oversized(Fixture *f, gconstpointer data)
{
	g_autoptr(GString) s = g_string_new("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1,\"pad\":\"");
	guint64 hwm_before = agent_status_kb(f, "VmHWM:");
	guint64 hwm_after;
	json_object *r;

	/* 8 MiB, with braces inside the string that must not end it early. */
	while (s->len < 8 * 1024 * 1024)
		g_string_append(s, "}}}}{{{{xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	g_string_append(s, "\"}}{\"execute\":\"guest-sync\",\"arguments\":{\"id\":9}}");
	send_raw(f, s->str, s->len);
	r = read_reply(f);
	g_assert_cmpstr(qga_reply_error_class(r), ==, "GenericError");
	g_assert_nonnull(strstr(qga_reply_error_desc(r), "size limit of 65536 bytes"));
	json_object_put(r);
	/* One error only: the next reply is the next request's. */
	r = read_reply(f);
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "return")), ==, 9);
	json_object_put(r);
	/* Skipped without being buffered. */
	hwm_after = agent_status_kb(f, "VmHWM:");
	g_test_message("VmHWM %" G_GUINT64_FORMAT " kB -> %" G_GUINT64_FORMAT " kB",
		       hwm_before, hwm_after);
	g_assert_cmpuint(hwm_after, <, hwm_before + 2048);
}

static void
test_too_deep(Fixture *f, gconstpointer data)
{
	g_autofree char *open = g_strnfill(40, '[');
	g_autofree char *close_ = g_strnfill(40, ']');
	g_autofree char *msg = g_strdup_printf("{\"execute\":\"guest-ping\",\"id\":%s%s}", open, close_);
	json_object *r;

	r = call(f, msg);
	g_assert_nonnull(strstr(qga_reply_error_desc(r), "nesting limit of 32"));
	json_object_put(r);
	assert_ping(f);
}

static void
test_blocked(Fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "--block-rpcs=guest-dma-dirty-enable", NULL };
	g_autofree char *v = NULL;
	json_object *r, *cmds;
	size_t i;
	gboolean found = FALSE;

	start_agent(f, opts);
	r = call(f, "{\"execute\":\"guest-dma-dirty-enable\"}");
	g_assert_cmpstr(qga_reply_error_class(r), ==, "CommandNotFound");
	g_assert_nonnull(strstr(qga_reply_error_desc(r), "disabled"));
	json_object_put(r);
	v = sysctl_value(f);
	g_assert_cmpstr(v, ==, "0");
	r = call(f, "{\"execute\":\"guest-info\"}");
	cmds = ret_member(r, "supported_commands");
	for (i = 0; i < json_object_array_length(cmds); i++) {
		json_object *c = json_object_array_get_idx(cmds, i);

		if (strcmp(json_object_get_string(json_object_object_get(c, "name")),
			   "guest-dma-dirty-enable") == 0) {
			g_assert_false(json_object_get_boolean(json_object_object_get(c, "enabled")));
			found = TRUE;
		}
	}
	g_assert_true(found);
	json_object_put(r);
}

static void
test_lease_expires(Fixture *f, gconstpointer data)
{
	gint64 end;
	json_object *r;

	r = call(f, "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"lease\":1}}");
	g_assert_true(json_object_get_boolean(ret_member(r, "enabled")));
	json_object_put(r);
	end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	for (;;) {
		gboolean on;
		int gen;

		r = call(f, "{\"execute\":\"guest-dma-dirty-status\"}");
		on = json_object_get_boolean(ret_member(r, "enabled"));
		gen = json_object_get_int(ret_member(r, "generation"));
		json_object_put(r);
		if (!on) {
			g_autofree char *v = sysctl_value(f);

			g_assert_cmpint(gen, ==, 2);
			g_assert_cmpstr(v, ==, "0");
			break;
		}
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_usleep(100 * 1000);
	}
}

static void
test_hook_fails(Fixture *f, gconstpointer data)
{
	g_autofree char *v = NULL;
	json_object *r;

	write_hook(f, "50-fail", "echo failing on purpose; exit 4");
	r = call(f, "{\"execute\":\"guest-dma-dirty-enable\"}");
	g_assert_cmpstr(qga_reply_error_class(r), ==, "GenericError");
	g_assert_nonnull(strstr(qga_reply_error_desc(r), "hook 50-fail pre-enable failed with exit status 4"));
	json_object_put(r);
	v = sysctl_value(f);
	g_assert_cmpstr(v, ==, "0");
	assert_ping(f);
}

static void
test_hook_hangs(Fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "--hook-timeout=1", NULL };
	g_autofree char *v = NULL;
	json_object *r;

	write_hook(f, "10-hang", "sleep 60");
	start_agent(f, opts);
	/* The ping waits behind the enable: one request at a time. */
	send_str(f, "{\"execute\":\"guest-dma-dirty-enable\",\"id\":1}{\"execute\":\"guest-ping\",\"id\":2}");
	r = read_reply(f);
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "id")), ==, 1);
	g_assert_nonnull(strstr(qga_reply_error_desc(r), "hook 10-hang pre-enable timed out after 1 s"));
	json_object_put(r);
	r = read_reply(f);
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "id")), ==, 2);
	json_object_put(r);
	v = sysctl_value(f);
	g_assert_cmpstr(v, ==, "0");
}

static void
test_shutdown_during_hook(Fixture *f, gconstpointer data)
{
	g_autofree char *fifo = g_build_filename(f->dir, "hook.pid", NULL);
	struct pollfd p = { .events = POLLIN };
	char buf[32];
	ssize_t n;
	int hook_pid;

	/* The hook says it runs through a FIFO: no polling for a file. */
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	p.fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	g_assert_cmpint(p.fd, >=, 0);
	write_hook(f, "10-hang", "echo $$ > ../hook.pid; exec sleep 60");
	send_str(f, "{\"execute\":\"guest-dma-dirty-enable\"}");
	g_assert_cmpint(poll(&p, 1, REPLY_TIMEOUT_MS), ==, 1);
	n = read(p.fd, buf, sizeof(buf) - 1);
	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	close(p.fd);
	hook_pid = atoi(buf);
	g_assert_cmpint(hook_pid, >, 0);
	/* SIGTERM with a hook running: clean exit, hook killed and reaped. */
	stop_agent(f);
	g_assert_cmpint(kill(hook_pid, 0), ==, -1);
}

static void
test_non_reading_client(Fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "--reply-timeout=5000", NULL };
	const char *req = "{\"execute\":\"guest-info\"}";
	guint64 before, after;
	gint64 end, stalled;
	guint sent = 0;
	gsize received = 0, reply_len;

	start_agent(f, opts);
	/* The size of one reply, to tell "all replies" from "dropped". */
	send_str(f, req);
	{
		g_autofree char *line = read_line(f, REPLY_TIMEOUT_MS);

		g_assert_nonnull(line);
		reply_len = strlen(line) + 1;
	}
	g_assert_cmpint(fcntl(f->fd, F_SETFL, O_NONBLOCK), ==, 0);
	/* Send until the agent stops reading because its replies are stuck. */
	for (;;) {
		ssize_t n = send(f->fd, req, strlen(req), MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			break;
		g_assert_cmpint(n, ==, (ssize_t)strlen(req));
		g_assert_cmpuint(++sent, <, 1000000);
	}
	g_test_message("%u requests sent before the agent stopped reading", sent);
	stalled = g_get_monotonic_time();

	/*
	 * The agent may still be answering requests it had read before its
	 * replies got stuck (slowly, under valgrind).  Once they are done it
	 * must go quiet; an agent that spins on EAGAIN never does, and fails
	 * here or below.
	 */
	agent_wait_quiet(f, 250, stalled + 2500 * 1000);

	/* Waiting for POLLOUT costs nothing: no spinning on EAGAIN. */
	before = agent_cpu_ticks(f);
	g_usleep(1000 * 1000);
	after = agent_cpu_ticks(f);
	g_test_message("agent CPU while the client does not read: %" G_GUINT64_FORMAT " ticks in 1 s",
		       after - before);
	g_assert_cmpuint(after - before, <=, 5);

	/*
	 * Past the 5 s deadline the agent drops the replies and the client:
	 * wait for its end of the socket to close (POLLRDHUP, without reading,
	 * which would unblock the replies), then reading ends in EOF (or a
	 * reset, as the agent closed with our requests unread) rather than in
	 * all the replies.
	 */
	{
		struct pollfd p = { .fd = f->fd, .events = POLLRDHUP };

		g_assert_cmpint(poll(&p, 1, REPLY_TIMEOUT_MS + 5000), ==, 1);
		g_test_message("the agent dropped the client after %" G_GINT64_FORMAT " ms",
			       (g_get_monotonic_time() - stalled) / 1000);
	}
	g_assert_cmpint(fcntl(f->fd, F_SETFL, 0), ==, 0);
	end = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	for (;;) {
		char buf[65536];
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		ssize_t n;

		g_assert_cmpint(poll(&p, 1, 30000), ==, 1);
		n = recv(f->fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		g_assert_cmpint(n, >, 0);
		received += n;
		g_assert_cmpint(g_get_monotonic_time(), <, end);
	}
	g_test_message("%" G_GSIZE_FORMAT " bytes of replies received of %u", received, sent);
	/* Not every reply arrived: the rest were dropped with the client. */
	g_assert_cmpuint(received, <, (gsize)sent * reply_len);
	/* The next client is served. */
	reconnect(f);
	assert_ping(f);
}

/*
 * The agent's CPU ticks (1/100 s) over half a second of the state it is
 * in, once what led there is done: it has gone a tenth of a second
 * without a tick (under valgrind a disconnect alone takes several).
 */
static guint64
agent_idle_ticks(Fixture *f, const char *state)
{
	guint64 before, ticks;

	agent_wait_quiet(f, 100, g_get_monotonic_time() + 10 * G_USEC_PER_SEC);
	before = agent_cpu_ticks(f);
	g_usleep(500 * 1000);
	ticks = agent_cpu_ticks(f) - before;
	g_test_message("agent CPU %s: %" G_GUINT64_FORMAT " ticks in 0.5 s", state, ticks);
	return ticks;
}

/*
 * No client, and a connected client that says nothing: no CPU.  An agent
 * that spins uses all 50 ticks of a window, and never goes quiet.
 */
static void
test_idle_cpu(Fixture *f, gconstpointer data)
{
	close(f->fd);
	f->fd = -1;
	g_assert_cmpuint(agent_idle_ticks(f, "without a client"), <=, 5);
	reconnect(f);
	assert_ping(f);
	g_assert_cmpuint(agent_idle_ticks(f, "with a silent client"), <=, 5);
	assert_ping(f);
}

static char *
run_agent(const char *const *args, int *status)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *err = NULL;
	char *out = NULL;

	g_ptr_array_add(argv, (char *)agent_path());
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
				   &out, &err, status, NULL));
	if (err && *err) {
		char *both = g_strconcat(out, err, NULL);

		g_free(out);
		out = both;
	}
	return out;
}

static void
test_command_line(Fixture *f, gconstpointer data)
{
	g_autofree char *conf_opt = g_strdup_printf("--config=%s", f->conf);
	const char *dump[] = { conf_opt, "-m", "unix-listen", "-p", "/x.sock", "--hook-timeout=9", "-D", NULL };
	const char *help[] = { "--help", NULL };
	const char *bad[] = { conf_opt, "--max-message-size=huge", NULL };
	const char *version[] = { "-V", NULL };
	g_autofree char *out = NULL;
	int status;

	write_file(f->conf, "[general]\nhook-timeout=4\nreply-timeout=700\n", 0644);
	out = run_agent(dump, &status);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	g_assert_nonnull(strstr(out, "[general]"));
	g_assert_nonnull(strstr(out, "method=unix-listen"));
	g_assert_nonnull(strstr(out, "hook-timeout=9"));	/* command line wins */
	g_assert_nonnull(strstr(out, "reply-timeout=700"));	/* from the file */
	g_clear_pointer(&out, g_free);

	out = run_agent(help, &status);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	g_assert_nonnull(strstr(out, "--sysctl-path"));
	g_assert_nonnull(strstr(out, "--device-path"));
	g_assert_nonnull(strstr(out, "--hooks-dir"));
	g_assert_nonnull(strstr(out, "--block-rpcs"));
	g_clear_pointer(&out, g_free);

	out = run_agent(bad, &status);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 2);
	g_assert_nonnull(strstr(out, "max-message-size: 'huge' is not a number"));
	g_clear_pointer(&out, g_free);

	out = run_agent(version, &status);
	g_assert_nonnull(strstr(out, PACKAGE_VERSION));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, setup, fn, teardown)
#define ADD_OPTS(path, fn) g_test_add(path, Fixture, "", setup, fn, teardown)
	ADD("/agent/every-command", test_every_command);
	ADD("/agent/enable-disable", test_enable_disable);
	ADD("/agent/pipelined", test_pipelined);
	ADD("/agent/partial-then-disconnect", test_partial_then_disconnect);
	ADD("/agent/resync-0xff", test_resync_ff);
	ADD("/agent/malformed", test_malformed);
	ADD("/agent/oversized", test_oversized);
	ADD("/agent/too-deep", test_too_deep);
	ADD_OPTS("/agent/blocked", test_blocked);
	ADD("/agent/lease-expires", test_lease_expires);
	ADD("/agent/hook-fails", test_hook_fails);
	ADD_OPTS("/agent/hook-hangs", test_hook_hangs);
	ADD("/agent/shutdown-during-hook", test_shutdown_during_hook);
	ADD_OPTS("/agent/non-reading-client", test_non_reading_client);
	ADD("/agent/idle-cpu", test_idle_cpu);
	ADD_OPTS("/agent/command-line", test_command_line);
	return g_test_run();
}
