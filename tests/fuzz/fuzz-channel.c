/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the channel's framing state machine (agent/channel.c)
 * with the whole agent behind it, driven over its unix socket the way a
 * host drives it: writes of any size, hang-ups anywhere (in the middle of
 * a message, with requests queued, with replies unread), 0xFF and control
 * bytes inside messages.
 *
 * The input is a sequence of operations.  A byte of 0xC0 or more hangs up
 * and reconnects; any other byte b writes the next 1 + (b & 0x3F) bytes in
 * one send().  After each operation the main loop runs until the agent has
 * nothing left to do, reading replies as they come.
 *
 * Checked: every byte the agent sends is a reply line (one JSON object with
 * "return" or "error", 0xFF-prefixed for guest-sync-delimited); and after a
 * last hang-up, a new client's plain guest-sync gets exactly its own reply,
 * so nothing of an earlier client (partial input, queued requests, pending
 * replies) reaches the next.  Anything else aborts.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "agent.h"
#include "qga.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A final reply must come within this; the agent has nothing slow to do. */
#define PROBE_TIMEOUT_S 10

static char *workdir;
static char *sock_path;
static DdAgent *agent;
static int client = -1;
static GString *in;		/* received, not yet a whole line */
static guint probe_id;

static void
quiet(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
}

static void
remove_workdir(void)
{
	const char *names[] = { "sysctl", "agent.conf", "sock" };
	guint i;

	if (client >= 0)
		close(client);
	g_clear_pointer(&agent, dd_agent_free);
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
	g_autofree char *sysctl = NULL, *a_path = NULL;
	g_autofree char *a_sysctl = NULL, *a_dev = NULL, *a_hooks = NULL, *a_conf = NULL;
	char *args[16];
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
	sock_path = g_build_filename(dir, "sock", NULL);
	a_conf = g_strdup_printf("--config=%s/agent.conf", dir);
	if (!g_file_set_contents(a_conf + strlen("--config="), "", -1, NULL))
		abort();
	a_path = g_strdup_printf("--path=%s", sock_path);
	a_sysctl = g_strdup_printf("--sysctl-path=%s", sysctl);
	a_dev = g_strdup_printf("--device-path=%s/no-device", dir);
	a_hooks = g_strdup_printf("--hooks-dir=%s/no-hooks", dir);
	args[n++] = "fuzz";
	args[n++] = a_conf;
	args[n++] = "-m";
	args[n++] = "unix-listen";
	args[n++] = a_path;
	args[n++] = a_sysctl;
	args[n++] = a_dev;
	args[n++] = a_hooks;
	/* Small limits, so that inputs reach them. */
	args[n++] = "--max-message-size=512";
	args[n++] = "--max-nesting-depth=8";
	args[n] = NULL;

	g_log_set_default_handler(quiet, NULL);
	config = dd_config_load(&n, &argvp, &error);
	if (!config)
		abort();
	agent = dd_agent_new(config, &error);
	if (!agent || !dd_agent_listen(agent, &error))
		abort();
	in = g_string_new(NULL);
	return 0;
}

/* Checks and consumes the whole reply lines in @in; returns how many. */
static guint
check_lines(void)
{
	guint lines = 0;
	char *nl;

	while ((nl = memchr(in->str, '\n', in->len))) {
		gsize len = nl - in->str;
		g_autofree char *line = g_strndup(in->str, len);
		const char *s = line;
		json_object *obj;
		QgaReplyKind kind;

		if ((guint8)s[0] == QGA_DELIMITER)
			s++;
		obj = json_tokener_parse(s);
		kind = qga_reply_kind(obj);
		json_object_put(obj);
		if (kind == QGA_REPLY_INVALID)
			abort();
		g_string_erase(in, 0, len + 1);
		lines++;
	}
	return lines;
}

/* Reads what the agent sent; TRUE when there was something. */
static gboolean
drain(void)
{
	char buf[4096];
	gboolean got = FALSE;
	ssize_t n;

	if (client < 0)
		return FALSE;
	while ((n = recv(client, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		g_string_append_len(in, buf, n);
		got = TRUE;
	}
	if (n < 0 && errno != EAGAIN && errno != ECONNRESET)
		abort();
	check_lines();
	return got;
}

/* Runs the main loop until neither the agent nor its socket has work. */
static void
settle(void)
{
	gboolean busy;

	do {
		busy = FALSE;
		while (g_main_context_iteration(NULL, FALSE))
			busy = TRUE;
		if (drain())
			busy = TRUE;
	} while (busy);
}

static void
connect_client(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g_strlcpy(addr.sun_path, sock_path, sizeof(addr.sun_path));
	if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	settle();
}

static void
hang_up(void)
{
	close(client);
	client = -1;
	/* A line cut short by the hang-up is no reply of the next client. */
	g_string_truncate(in, 0);
	settle();
	connect_client();
}

static void
send_all(const uint8_t *p, gsize len)
{
	while (len) {
		ssize_t n = send(client, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			/* The agent reads once its replies are read. */
			g_main_context_iteration(NULL, FALSE);
			drain();
			continue;
		}
		if (n < 0)
			abort();
		p += n;
		len -= n;
	}
	settle();
}

static gboolean
on_probe_timeout(gpointer user_data)
{
	abort();
	return G_SOURCE_REMOVE;
}

/* A fresh client's plain guest-sync must get exactly its own reply. */
static void
probe(void)
{
	g_autofree char *req = NULL, *want = NULL;
	guint timer;

	hang_up();
	probe_id++;
	req = g_strdup_printf("{\"execute\":\"guest-sync\",\"arguments\":{\"id\":%u}}", probe_id);
	want = g_strdup_printf("{\"return\":%u}\n", probe_id);
	if (send(client, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		abort();
	timer = g_timeout_add_seconds(PROBE_TIMEOUT_S, on_probe_timeout, NULL);
	while (in->len < strlen(want)) {
		char buf[256];
		ssize_t n = recv(client, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			g_string_append_len(in, buf, n);
		else if (n < 0 && errno == EAGAIN)
			g_main_context_iteration(NULL, TRUE);
		else
			abort();
	}
	g_source_remove(timer);
	if (strcmp(in->str, want) != 0)
		abort();
	g_string_truncate(in, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gsize off = 0;

	if (client < 0)
		connect_client();
	while (off < size) {
		guint8 op = data[off++];
		gsize len;

		if (op >= 0xC0) {
			hang_up();
			continue;
		}
		len = MIN((gsize)(op & 0x3F) + 1, size - off);
		send_all(data + off, len);
		off += len;
	}
	probe();
	return 0;
}
