/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirtyctl against a fake peer that this test controls: a well-behaved
 * agent (with stale data in the stream), garbage, silence, a reply cut off
 * by a disconnect, an error reply, a slow reply, a listener that never
 * accepts.  Each case checks the exit code, the message and that nothing
 * waits longer than its timeout.  The real binary runs over a real socket.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

typedef enum {
	PEER_AGENT,		/* stale junk, then a proper sync and reply */
	PEER_GARBAGE,		/* never anything but noise */
	PEER_SILENT,		/* reads, never answers */
	PEER_CLOSE,		/* closes after reading the sync */
	PEER_CUT,		/* closes halfway through the reply */
	PEER_ERROR,		/* answers with an error */
	PEER_SLOW,		/* answers after delay_ms */
	PEER_NOT_JSON,		/* syncs, then answers non-JSON */
	PEER_NOT_REPLY,		/* syncs, then answers JSON that is no reply */
	PEER_NO_ACCEPT,		/* listens, never accepts */
} PeerMode;

typedef struct {
	char *dir;
	char *path;
	int listen_fd;
	PeerMode mode;
	guint delay_ms;
	const char *reply;	/* the "return" value, JSON text */
	GThread *thread;
	char *request;		/* the command the peer received */
} Peer;

typedef struct {
	int status;
	char *out;
	char *err;
	double seconds;
} Run;

static const char *ctl_path(void)
{
	static char *path;

	if (!path) {
		const char *b = g_getenv("top_builddir");

		path = g_build_filename(b ? b : ".", "proto", "dmadirtyctl", NULL);
	}
	return path;
}

static void run_clear(Run *r)
{
	g_free(r->out);
	g_free(r->err);
}

/* Runs dmadirtyctl with @args (NULL-terminated) and @socket_env as
 * DMADIRTYCTL_SOCKET (unset when NULL). */
static void run_ctl_env(Run *r, const char *const *args, const char *socket_env)
{
	g_auto(GStrv) envp = g_get_environ();
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	int wait_status;
	gsize i;

	g_ptr_array_add(argv, (char *)ctl_path());
	for (i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	memset(r, 0, sizeof(*r));
	envp = socket_env ? g_environ_setenv(envp, "DMADIRTYCTL_SOCKET", socket_env, TRUE)
			  : g_environ_unsetenv(envp, "DMADIRTYCTL_SOCKET");
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
				   &r->out, &r->err, &wait_status, &error));
	g_assert_no_error(error);
	g_assert_true(WIFEXITED(wait_status));
	r->status = WEXITSTATUS(wait_status);
	r->seconds = (g_get_monotonic_time() - t0) / 1e6;
	g_test_message("exit %d after %.2f s; stdout: %s; stderr: %s", r->status, r->seconds,
		       r->out, r->err);
}

static void run_ctl(Run *r, const char *const *args)
{
	run_ctl_env(r, args, NULL);
}

/* ------------------------------------------------------------- the peer */

static gboolean peer_write(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

static gboolean peer_say(int fd, const char *text)
{
	return peer_write(fd, text, strlen(text));
}

/* Waits up to @ms for the client to send or close; FALSE once it closed. */
static gboolean peer_wait(int fd, guint ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, ms) <= 0)
		return TRUE;
	return recv(fd, &c, 1, MSG_PEEK) > 0;
}

/*
 * Reads one JSON object from @fd, skipping whatever precedes a '{' (the
 * 0xFF of a resync).  Returns its text, or NULL on EOF or after 10 s.
 */
static char *peer_read_object(int fd, GString *pending)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	for (;;) {
		char *brace = memchr(pending->str, '{', pending->len);

		if (brace) {
			json_tokener *tok = json_tokener_new();
			json_object *obj;
			gsize start = brace - pending->str;

			obj = json_tokener_parse_ex(tok, brace, pending->len - start);
			if (obj) {
				gsize end = start + json_tokener_get_parse_end(tok);
				char *text = g_strchomp(g_strndup(brace, end - start));

				json_object_put(obj);
				json_tokener_free(tok);
				g_string_erase(pending, 0, end);
				return text;
			}
			json_tokener_free(tok);
		}
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };
			char buf[4096];
			gint64 left = (deadline - g_get_monotonic_time()) / 1000;
			ssize_t n;

			if (left <= 0 || poll(&p, 1, left) <= 0)
				return NULL;
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return NULL;
			g_string_append_len(pending, buf, n);
		}
	}
}

static gint64 sync_id(const char *text)
{
	g_autoptr(json_object) obj = json_tokener_parse(text);
	json_object *args, *id;

	g_assert_nonnull(obj);
	g_assert_true(json_object_object_get_ex(obj, "arguments", &args));
	g_assert_true(json_object_object_get_ex(args, "id", &id));
	return json_object_get_int64(id);
}

/* The id member of @text as JSON text, or "null". */
static char *request_id(const char *text)
{
	g_autoptr(json_object) obj = json_tokener_parse(text);
	json_object *id;

	if (obj && json_object_object_get_ex(obj, "id", &id))
		return g_strdup(json_object_to_json_string(id));
	return g_strdup("null");
}

static gpointer peer_main(gpointer data)
{
	Peer *peer = data;
	g_autoptr(GString) pending = g_string_new(NULL);
	g_autofree char *sync = NULL, *reply = NULL, *id = NULL;
	struct pollfd p = { .fd = peer->listen_fd, .events = POLLIN };
	int fd;
	guint i;

	if (poll(&p, 1, 10000) <= 0)
		return NULL;
	fd = accept(peer->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;

	sync = peer_read_object(fd, pending);
	if (!sync)
		goto out;
	g_assert_nonnull(strstr(sync, "guest-sync-delimited"));

	switch (peer->mode) {
	case PEER_GARBAGE:
		/* Noise, a 0xFF before non-JSON, a 0xFF before a wrong id. */
		for (i = 0; i < 200; i++) {
			if (!peer_say(fd, "garbage \x01\x02 {\"return\": 1}\n\xffnot json\n"
				      "\xff{\"return\": 7}\n") || !peer_wait(fd, 20))
				break;
		}
		goto out;
	case PEER_SILENT:
		while (peer_wait(fd, 100))
			;
		goto out;
	case PEER_CLOSE:
		goto out;
	default:
		break;
	}

	/* What a previous session may have left, then the answer. */
	reply = g_strdup_printf("{\"return\": 1}\n\xff{\"return\": 12345}\n"
				"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\n"
				"\xff{\"return\": %" G_GINT64_FORMAT "}\n", sync_id(sync));
	if (!peer_say(fd, reply))
		goto out;
	g_clear_pointer(&reply, g_free);

	peer->request = peer_read_object(fd, pending);
	if (!peer->request)
		goto out;
	id = request_id(peer->request);

	switch (peer->mode) {
	case PEER_AGENT:
		/* A stale reply to someone else's request first. */
		reply = g_strdup_printf("{\"return\": {}, \"id\": 424242}\n"
					"{\"return\": %s, \"id\": %s}\n", peer->reply, id);
		break;
	case PEER_SLOW:
		if (!peer_wait(fd, peer->delay_ms))
			goto out;
		reply = g_strdup_printf("{\"return\": %s, \"id\": %s}\n", peer->reply, id);
		break;
	case PEER_ERROR:
		reply = g_strdup_printf("{\"error\": {\"class\": \"GenericError\", \"desc\": "
					"\"no sysctl: vm.dma_mark_dirty is missing\"}, \"id\": %s}\n", id);
		break;
	case PEER_CUT:
		peer_say(fd, "{\"return\": {\"enabled\": tr");
		goto out;
	case PEER_NOT_JSON:
		reply = g_strdup("this is not json\n");
		break;
	case PEER_NOT_REPLY:
		reply = g_strdup("[1, 2, 3]\n");
		break;
	default:
		g_assert_not_reached();
	}
	peer_say(fd, reply);
	/* Let the client close first, as an agent would. */
	while (peer_wait(fd, 100))
		;
out:
	close(fd);
	return NULL;
}

static void peer_start(Peer *peer, PeerMode mode)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	g_autoptr(GError) error = NULL;

	memset(peer, 0, sizeof(*peer));
	peer->dir = g_dir_make_tmp("test-ctl-XXXXXX", &error);
	g_assert_no_error(error);
	peer->path = g_build_filename(peer->dir, "agent.sock", NULL);
	peer->mode = mode;
	peer->reply = "{}";
	peer->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(peer->listen_fd, >=, 0);
	g_strlcpy(addr.sun_path, peer->path, sizeof(addr.sun_path));
	g_assert_cmpint(bind(peer->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(listen(peer->listen_fd, 4), ==, 0);
}

static void peer_go(Peer *peer)
{
	if (peer->mode != PEER_NO_ACCEPT)
		peer->thread = g_thread_new("peer", peer_main, peer);
}

/* Stops the peer; returns the request it received, if any. */
static char *peer_stop(Peer *peer)
{
	if (peer->thread)
		g_thread_join(peer->thread);
	close(peer->listen_fd);
	g_unlink(peer->path);
	g_rmdir(peer->dir);
	g_free(peer->path);
	g_free(peer->dir);
	return g_steal_pointer(&peer->request);
}

/* ------------------------------------------------------------------ tests */

static void test_enable(void)
{
	Peer peer;
	Run r;
	g_autofree char *request = NULL;
	g_autoptr(json_object) req = NULL;
	json_object *args, *v;

	peer_start(&peer, PEER_AGENT);
	peer.reply = "{\"enabled\": true, \"generation\": 3, \"ack\": \"bridge\", \"source\": \"module\"}";
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "enable", "--lease", "60", "--tag", "mig-1", NULL });
	request = peer_stop(&peer);

	g_assert_cmpint(r.status, ==, 0);
	g_assert_nonnull(strstr(r.out, "DMA dirtying is on"));
	g_assert_nonnull(strstr(r.out, "generation: 3"));
	g_assert_nonnull(strstr(r.out, "ack: bridge"));
	g_assert_nonnull(strstr(r.out, "source: module"));
	/* The request carries the schema's names and types. */
	req = json_tokener_parse(request);
	g_assert_nonnull(req);
	g_assert_true(json_object_object_get_ex(req, "execute", &v));
	g_assert_cmpstr(json_object_get_string(v), ==, "guest-dma-dirty-enable");
	g_assert_true(json_object_object_get_ex(req, "arguments", &args));
	g_assert_true(json_object_object_get_ex(args, "lease", &v));
	g_assert_true(json_object_is_type(v, json_type_int));
	g_assert_cmpint(json_object_get_int(v), ==, 60);
	g_assert_true(json_object_object_get_ex(args, "tag", &v));
	g_assert_cmpstr(json_object_get_string(v), ==, "mig-1");
	g_assert_cmpint(json_object_object_length(args), ==, 2);
	run_clear(&r);
}

static void test_disable_json(void)
{
	Peer peer;
	Run r;
	g_autofree char *request = NULL;
	g_autoptr(json_object) out = NULL, want = NULL, req = NULL;
	json_object *args;

	peer_start(&peer, PEER_AGENT);
	peer.reply = "{\"enabled\": false, \"generation\": 4, \"ack\": \"none\"}";
	peer_go(&peer);
	/* Global options also work after the command. */
	run_ctl(&r, (const char *const[]){ "disable", "--json", "-s", peer.path, NULL });
	request = peer_stop(&peer);

	g_assert_cmpint(r.status, ==, 0);
	out = json_tokener_parse(r.out);
	want = json_tokener_parse(peer.reply);
	g_assert_true(json_object_equal(out, want));
	req = json_tokener_parse(request);
	g_assert_true(json_object_object_get_ex(req, "arguments", &args));
	g_assert_cmpint(json_object_object_length(args), ==, 0);
	run_clear(&r);
}

static void test_status_human(void)
{
	Peer peer;
	Run r;

	peer_start(&peer, PEER_AGENT);
	peer.reply = "{\"enabled\": true, \"source\": \"kernel\", \"generation\": 7, \"lease-remaining\": 42,"
		     " \"bridge\": {\"present\": true, \"host-state\": 1, \"acked-generation\": 7},"
		     " \"counters\": {}, \"future-member\": \"x\"}";
	peer_go(&peer);
	run_ctl_env(&r, (const char *const[]){ "status", NULL }, peer.path);
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 0);
	g_assert_nonnull(strstr(r.out, "enabled: true\n"));
	g_assert_nonnull(strstr(r.out, "lease-remaining: 42\n"));
	g_assert_nonnull(strstr(r.out, "bridge.host-state: 1\n"));
	g_assert_nonnull(strstr(r.out, "counters: (none)\n"));
	g_assert_nonnull(strstr(r.out, "future-member: x\n"));
	g_assert_true(strstr(r.out, "enabled") < strstr(r.out, "source"));
	run_clear(&r);
}

static void test_raw(void)
{
	Peer peer;
	Run r;
	g_autofree char *request = NULL;
	const char *req = "{\"execute\": \"guest-ping\", \"id\": \"abc\"}";

	peer_start(&peer, PEER_AGENT);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "--json", "raw", req, NULL });
	request = peer_stop(&peer);

	g_assert_cmpint(r.status, ==, 0);
	g_assert_cmpstr(request, ==, req);
	g_assert_nonnull(strstr(r.out, "\"return\":{}"));
	run_clear(&r);
}

static void test_error_reply(void)
{
	Peer peer;
	Run r;

	peer_start(&peer, PEER_ERROR);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "--json", "enable", NULL });
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 1);
	g_assert_nonnull(strstr(r.err, "GenericError: no sysctl"));
	g_assert_nonnull(strstr(r.out, "\"error\""));
	run_clear(&r);
}

static void test_garbage(void)
{
	Peer peer;
	Run r;

	peer_start(&peer, PEER_GARBAGE);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "-t", "1", "ping", NULL });
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 5);
	g_assert_nonnull(strstr(r.err, "something else"));
	g_assert_nonnull(strstr(r.err, "garbage"));
	g_assert_cmpfloat(r.seconds, <, 5);
	run_clear(&r);
}

static void test_silence(void)
{
	Peer peer;
	Run r;

	peer_start(&peer, PEER_SILENT);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "-t", "0.5", "status", NULL });
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 4);
	g_assert_nonnull(strstr(r.err, "no answer"));
	g_assert_cmpfloat(r.seconds, >=, 0.45);
	g_assert_cmpfloat(r.seconds, <, 5);
	run_clear(&r);
}

static void test_no_accept(void)
{
	Peer peer;
	Run r;

	/* A QEMU chardev busy with another client: connect works, nothing answers. */
	peer_start(&peer, PEER_NO_ACCEPT);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "-t", "0.3", "ping", NULL });
	g_free(peer_stop(&peer));
	g_assert_cmpint(r.status, ==, 4);
	g_assert_cmpfloat(r.seconds, <, 5);
	run_clear(&r);
}

static void test_close(void)
{
	Peer peer;
	Run r;

	peer_start(&peer, PEER_CLOSE);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "ping", NULL });
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 3);
	g_assert_nonnull(strstr(r.err, "closed the connection"));
	run_clear(&r);
}

static void test_cut(void)
{
	Peer peer;
	Run r;

	peer_start(&peer, PEER_CUT);
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "enable", NULL });
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 5);
	g_assert_nonnull(strstr(r.err, "cut off"));
	run_clear(&r);
}

static void test_bad_reply(gconstpointer data)
{
	Peer peer;
	Run r;

	peer_start(&peer, GPOINTER_TO_INT(data));
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "status", NULL });
	g_free(peer_stop(&peer));

	g_assert_cmpint(r.status, ==, 5);
	g_assert_nonnull(strstr(r.err, "reply"));
	run_clear(&r);
}

static void test_slow(void)
{
	Peer peer;
	Run r;

	/* Slower than the sync, within the timeout: fine. */
	peer_start(&peer, PEER_SLOW);
	peer.delay_ms = 400;
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "-t", "5", "ping", NULL });
	g_free(peer_stop(&peer));
	g_assert_cmpint(r.status, ==, 0);
	g_assert_cmpfloat(r.seconds, >=, 0.35);
	run_clear(&r);

	/* Slower than the timeout: a timeout, not a hang. */
	peer_start(&peer, PEER_SLOW);
	peer.delay_ms = 3000;
	peer_go(&peer);
	run_ctl(&r, (const char *const[]){ "-s", peer.path, "-t", "0.5", "ping", NULL });
	g_free(peer_stop(&peer));
	g_assert_cmpint(r.status, ==, 4);
	g_assert_nonnull(strstr(r.err, "no reply within"));
	g_assert_cmpfloat(r.seconds, <, 2.5);
	run_clear(&r);
}

static void test_no_agent(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("test-ctl-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "sock", NULL);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	Run r;
	int fd;

	run_ctl(&r, (const char *const[]){ "-s", path, "ping", NULL });
	g_assert_cmpint(r.status, ==, 3);
	g_assert_nonnull(strstr(r.err, "cannot connect"));
	run_clear(&r);

	/* A socket file nobody listens on (a VM that went away). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	close(fd);
	run_ctl(&r, (const char *const[]){ "-s", path, "ping", NULL });
	g_assert_cmpint(r.status, ==, 3);
	g_assert_nonnull(strstr(r.err, "refused"));
	run_clear(&r);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_usage(void)
{
	const char *const *bad[] = {
		(const char *const[]){ NULL },
		(const char *const[]){ "-s", "/x", NULL },
		(const char *const[]){ "-s", "/x", "frobnicate", NULL },
		(const char *const[]){ "-s", "/x", "enable", "--lease", "ten", NULL },
		(const char *const[]){ "-s", "/x", "enable", "--lease", "10x", NULL },
		(const char *const[]){ "-s", "/x", "enable", "--bogus", NULL },
		(const char *const[]){ "-s", "/x", "ping", "extra", NULL },
		(const char *const[]){ "-s", "/x", "raw", NULL },
		(const char *const[]){ "-s", "/x", "raw", "{not json", NULL },
		(const char *const[]){ "-s", "/x", "raw", "[1]", NULL },
		(const char *const[]){ "-s", "/x", "raw", "{\"execute\": 1}", NULL },
		(const char *const[]){ "-s", "/x", "raw", "{\"execute\": \"x\"} {}", NULL },
		(const char *const[]){ "-s", "/x", "-t", "0", "ping", NULL },
		(const char *const[]){ "-s", "/x", "-t", "nan", "ping", NULL },
		(const char *const[]){ "--bogus", "ping", NULL },
		(const char *const[]){ "ping", NULL },	/* no socket */
	};
	gsize i;
	Run r;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		run_ctl(&r, bad[i]);
		g_assert_cmpint(r.status, ==, 2);
		g_assert_cmpstr(r.out, ==, "");
		g_assert_cmpuint(strlen(r.err), >, 0);
		run_clear(&r);
	}
}

/* The command list and options are the schema's (and the exit codes documented). */
static void test_schema(void)
{
	const char *src = g_getenv("top_srcdir");
	g_autofree char *schema_path = g_build_filename(src ? src : ".", "proto", "rpc-schema.json", NULL);
	g_autoptr(json_object) schema = json_object_from_file(schema_path);
	json_object *commands;
	Run help;
	size_t i, j, n = 0;

	g_assert_nonnull(schema);
	g_assert_true(json_object_object_get_ex(schema, "commands", &commands));
	run_ctl(&help, (const char *const[]){ "--help", NULL });
	g_assert_cmpint(help.status, ==, 0);
	for (i = 0; i < 6; i++) {
		g_autofree char *line = g_strdup_printf("  %zu  ", i);

		g_assert_nonnull(strstr(help.out, line));
	}

	for (i = 0; i < json_object_array_length(commands); i++) {
		json_object *c = json_object_array_get_idx(commands, i), *name, *args;
		const char *wire, *shortname;
		Run r;

		json_object_object_get_ex(c, "name", &name);
		wire = json_object_get_string(name);
		if (g_str_has_prefix(wire, "guest-sync"))
			continue;
		shortname = g_str_has_prefix(wire, "guest-dma-dirty-") ? wire + strlen("guest-dma-dirty-")
								      : wire + strlen("guest-");
		g_assert_nonnull(strstr(help.out, wire));
		run_ctl(&r, (const char *const[]){ shortname, "--help", NULL });
		g_assert_cmpint(r.status, ==, 0);
		g_assert_nonnull(strstr(r.out, wire));
		json_object_object_get_ex(c, "args", &args);
		for (j = 0; j < json_object_array_length(args); j++) {
			json_object *a = json_object_array_get_idx(args, j), *aname;
			g_autofree char *opt = NULL;

			json_object_object_get_ex(a, "name", &aname);
			opt = g_strdup_printf("--%s=", json_object_get_string(aname));
			g_assert_nonnull(strstr(r.out, opt));
		}
		run_clear(&r);
		n++;
	}
	g_assert_cmpuint(n, >=, 5);
	run_clear(&help);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ctl/enable", test_enable);
	g_test_add_func("/ctl/disable-json", test_disable_json);
	g_test_add_func("/ctl/status-human", test_status_human);
	g_test_add_func("/ctl/raw", test_raw);
	g_test_add_func("/ctl/error-reply", test_error_reply);
	g_test_add_func("/ctl/garbage", test_garbage);
	g_test_add_func("/ctl/silence", test_silence);
	g_test_add_func("/ctl/no-accept", test_no_accept);
	g_test_add_func("/ctl/close-without-reply", test_close);
	g_test_add_func("/ctl/cut-reply", test_cut);
	g_test_add_data_func("/ctl/not-json-reply", GINT_TO_POINTER(PEER_NOT_JSON), test_bad_reply);
	g_test_add_data_func("/ctl/not-a-reply", GINT_TO_POINTER(PEER_NOT_REPLY), test_bad_reply);
	g_test_add_func("/ctl/slow", test_slow);
	g_test_add_func("/ctl/no-agent", test_no_agent);
	g_test_add_func("/ctl/usage", test_usage);
	g_test_add_func("/ctl/schema", test_schema);
	return g_test_run();
}
