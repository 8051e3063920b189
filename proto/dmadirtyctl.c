/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirtyctl: the host-side reference client of dmadirty-agent.
 *
 * It connects to the host end of the agent's virtio-serial port (the unix
 * socket of a QEMU or libvirt chardev), resynchronises the stream with
 * 0xFF + guest-sync-delimited, sends one command and prints the answer.
 *
 * The stream may hold anything when we connect: replies a previous client
 * never read, the agent's answer to our 0xFF, or noise from something that
 * is not an agent at all.  So everything before the 0xFF-prefixed reply that
 * carries our random sync id is discarded, and every wait has a deadline:
 * a guest that answers garbage or nothing ends in a clear message and a
 * distinct exit code, never a hang.
 *
 * The sub-commands and their options are generated from
 * proto/rpc-schema.json (dmadirtyctl-commands.h).
 */
#define G_LOG_DOMAIN "dmadirtyctl"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <json-c/json.h>

#include "dmadirtyctl-commands.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* Exit codes: documented in --help, relied upon by scripts. */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_AGENT_ERROR = 1,	/* the agent answered with an error */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_NO_AGENT = 3,		/* cannot connect, or closed without a word */
	CTL_EXIT_TIMEOUT = 4,
	CTL_EXIT_BAD_REPLY = 5,		/* garbage, a cut-off or malformed reply */
};

/* Error codes of CTL_ERROR map one to one onto the exit codes. */
#define CTL_ERROR (ctl_error_quark())
static GQuark ctl_error_quark(void);
G_DEFINE_QUARK(dmadirtyctl-error-quark, ctl_error)

/* Replies larger than this are garbage: status is a few hundred bytes. */
#define CTL_MAX_REPLY (4u << 20)
/* How much of a bad reply a message quotes. */
#define CTL_QUOTE_MAX 60

typedef struct {
	int fd;
	GByteArray *in;		/* received, not yet consumed */
	gsize received;		/* bytes received since the last request */
	gboolean verbose;
} CtlConn;

static void ctl_conn_close(CtlConn *conn)
{
	if (conn->fd >= 0)
		close(conn->fd);
	g_clear_pointer(&conn->in, g_byte_array_unref);
}

/* A printable excerpt of received bytes, for error messages. */
static char *ctl_quote(const guint8 *data, gsize len, gsize max)
{
	GString *s = g_string_new(NULL);
	gsize i;

	for (i = 0; i < len && i < max; i++) {
		if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '\\')
			g_string_append_c(s, data[i]);
		else
			g_string_append_printf(s, "\\x%02x", data[i]);
	}
	if (len > max)
		g_string_append(s, "...");
	return g_string_free(s, FALSE);
}

static int ctl_ms_left(gint64 deadline)
{
	gint64 left = deadline - g_get_monotonic_time();

	if (left <= 0)
		return 0;
	return (int)MIN((left + 999) / 1000, G_MAXINT);
}

/**
 * ctl_connect:
 * Connects to the unix socket @path within @timeout seconds.  A listen
 * backlog that is full (EAGAIN) is retried until the deadline: the kernel
 * offers no event for it.
 */
static gboolean ctl_connect(CtlConn *conn, const char *path, double timeout, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	gint64 deadline = g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE,
			    "socket path is longer than %zu bytes: %s", sizeof(addr.sun_path) - 1, path);
		return FALSE;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);

	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int err;

		if (fd < 0) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT, "socket: %s", g_strerror(errno));
			return FALSE;
		}
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			conn->fd = fd;
			return TRUE;
		}
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t len = sizeof(err);
			int n;

			do
				n = poll(&p, 1, ctl_ms_left(deadline));
			while (n < 0 && errno == EINTR);
			if (n == 0) {
				close(fd);
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "connecting to %s timed out after %g s", path, timeout);
				return FALSE;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
				conn->fd = fd;
				return TRUE;
			}
		}
		close(fd);
		if (err == EAGAIN && g_get_monotonic_time() < deadline) {
			g_usleep(MIN(10000, ctl_ms_left(deadline) * 1000));
			continue;
		}
		if (err == EAGAIN) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
				    "connecting to %s timed out after %g s (its listen queue stayed full)",
				    path, timeout);
			return FALSE;
		}
		g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
			    "cannot connect to %s: %s (is the VM running, and is this the host end of "
			    "its org.dmadirty.agent.0 channel?)", path, g_strerror(err));
		return FALSE;
	}
}

/* Sends all of @data before @deadline, waiting for POLLOUT in between. */
static gboolean ctl_send(CtlConn *conn, const void *data, gsize len, gint64 deadline,
			 double timeout, GError **error)
{
	const guint8 *p = data;

	if (conn->verbose) {
		g_autofree char *q = ctl_quote(data, len, 400);

		g_printerr("dmadirtyctl: -> %s\n", q);
	}
	while (len > 0) {
		ssize_t n = send(conn->fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = conn->fd, .events = POLLOUT };
			int r = poll(&pfd, 1, ctl_ms_left(deadline));

			if (r == 0) {
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "the peer took no data for %g s (is the agent running in the guest?)",
					    timeout);
				return FALSE;
			}
			continue;
		}
		g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
			    "sending to the agent failed: %s", g_strerror(errno));
		return FALSE;
	}
	return TRUE;
}

typedef enum { CTL_FILL_OK, CTL_FILL_EOF, CTL_FILL_TIMEOUT } CtlFill;

/* Reads what is available, waiting for it until @deadline. */
static CtlFill ctl_fill(CtlConn *conn, gint64 deadline, GError **error)
{
	guint8 buf[65536];

	for (;;) {
		struct pollfd p = { .fd = conn->fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&p, 1, ctl_ms_left(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return CTL_FILL_TIMEOUT;
		n = recv(conn->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
				    "receiving from the agent failed: %s", g_strerror(errno));
			return CTL_FILL_EOF;
		}
		if (n <= 0)
			return CTL_FILL_EOF;
		if (conn->verbose) {
			g_autofree char *q = ctl_quote(buf, n, 400);

			g_printerr("dmadirtyctl: <- %s\n", q);
		}
		g_byte_array_append(conn->in, buf, n);
		conn->received += n;
		return CTL_FILL_OK;
	}
}

typedef enum { CTL_PARSE_OK, CTL_PARSE_MORE, CTL_PARSE_BAD } CtlParse;

/*
 * Parses one JSON value from the start of conn->in.  @tok carries the
 * state across calls, @fed the bytes it has already seen.  On CTL_PARSE_OK
 * *@used is the value's length in conn->in.
 */
static CtlParse ctl_parse(CtlConn *conn, json_tokener *tok, gsize *fed,
			  json_object **out, gsize *used)
{
	json_object *obj;
	gsize before = *fed;

	if (conn->in->len == *fed)
		return CTL_PARSE_MORE;
	obj = json_tokener_parse_ex(tok, (const char *)conn->in->data + before, conn->in->len - before);
	switch (json_tokener_get_error(tok)) {
	case json_tokener_success:
		*out = obj;
		*used = before + json_tokener_get_parse_end(tok);
		return CTL_PARSE_OK;
	case json_tokener_continue:
		*fed = conn->in->len;
		return *fed > CTL_MAX_REPLY ? CTL_PARSE_BAD : CTL_PARSE_MORE;
	default:
		return CTL_PARSE_BAD;
	}
}

static json_tokener *ctl_tokener(void)
{
	json_tokener *tok = json_tokener_new_ex(64);

	/* A stream: a value may be followed by the next one. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
				    JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

/**
 * ctl_resync:
 * Sends 0xFF + guest-sync-delimited with a random id and discards
 * everything up to the 0xFF-prefixed reply that echoes it.
 */
static gboolean ctl_resync(CtlConn *conn, double timeout, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
	gint64 id = g_random_int_range(1, G_MAXINT32);
	g_autofree char *req = g_strdup_printf("\xff{\"execute\": \"%s\", \"arguments\": {\"id\": %" G_GINT64_FORMAT "}}\n",
					       CTL_WIRE_SYNC_DELIMITED, id);
	gsize discarded = 0;
	g_autofree char *first = NULL;

	conn->received = 0;
	if (!ctl_send(conn, req, strlen(req), deadline, timeout, error))
		return FALSE;

	for (;;) {
		guint8 *ff;
		CtlFill fill;

		/* Skip to the next 0xFF: nothing before it can be our reply. */
		ff = conn->in->len ? memchr(conn->in->data, 0xff, conn->in->len) : NULL;
		if (ff) {
			g_autoptr(json_object) obj = NULL;
			json_tokener *tok = ctl_tokener();
			gsize skip = ff - conn->in->data + 1, fed = 0, used = 0;
			CtlParse r;

			if (!first && skip > 1)
				first = ctl_quote(conn->in->data, skip - 1, CTL_QUOTE_MAX);
			discarded += skip;
			g_byte_array_remove_range(conn->in, 0, skip);
			/* Parse what follows the 0xFF, reading more as needed. */
			for (;;) {
				r = ctl_parse(conn, tok, &fed, &obj, &used);
				if (r != CTL_PARSE_MORE)
					break;
				fill = ctl_fill(conn, deadline, error);
				if (fill != CTL_FILL_OK)
					break;
			}
			json_tokener_free(tok);
			if (r == CTL_PARSE_OK) {
				json_object *ret;

				if (json_object_is_type(obj, json_type_object) &&
				    json_object_object_get_ex(obj, "return", &ret) &&
				    json_object_is_type(ret, json_type_int) &&
				    json_object_get_int64(ret) == id) {
					g_byte_array_remove_range(conn->in, 0, used);
					if (conn->verbose && discarded)
						g_printerr("dmadirtyctl: resync discarded %zu stale bytes\n",
							   discarded);
					return TRUE;
				}
				/* A stale sync reply, or an error about the 0xFF. */
				if (!first)
					first = ctl_quote(conn->in->data, used, CTL_QUOTE_MAX);
				discarded += used;
				g_byte_array_remove_range(conn->in, 0, used);
				continue;
			}
			if (r == CTL_PARSE_BAD) {
				/* Not JSON after all: look for the next 0xFF. */
				if (!first)
					first = ctl_quote(conn->in->data, conn->in->len, CTL_QUOTE_MAX);
				continue;
			}
			if (error && *error)
				return FALSE;
			/* fill ended the wait: EOF or the deadline, handled below. */
		} else {
			if (!first && conn->in->len)
				first = ctl_quote(conn->in->data, conn->in->len, CTL_QUOTE_MAX);
			discarded += conn->in->len;
			g_byte_array_set_size(conn->in, 0);
			fill = ctl_fill(conn, deadline, error);
			if (fill == CTL_FILL_OK)
				continue;
			if (error && *error)
				return FALSE;
		}

		if (conn->received == 0 && g_get_monotonic_time() >= deadline) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
				    "no answer to %s within %g s: is dmadirty-agent running in the guest?",
				    CTL_WIRE_SYNC_DELIMITED, timeout);
		} else if (conn->received == 0) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
				    "the peer closed the connection without answering %s",
				    CTL_WIRE_SYNC_DELIMITED);
		} else if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
				    "no valid answer to %s within %g s, only %zu bytes of something else "
				    "(is this an agent's port?), starting with \"%s\"",
				    CTL_WIRE_SYNC_DELIMITED, timeout, conn->received, first ? first : "");
		} else {
			g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
				    "the peer closed the connection before a valid answer to %s, after %zu "
				    "bytes of something else (is this an agent's port?), starting with \"%s\"",
				    CTL_WIRE_SYNC_DELIMITED, conn->received, first ? first : "");
		}
		return FALSE;
	}
}

/**
 * ctl_call:
 * Sends the request @req (a JSON object's text) and returns the agent's
 * reply object, which has a "return" or an "error" member.  A reply with
 * an id other than @id (stale) is skipped; one without an id is accepted.
 */
static json_object *ctl_call(CtlConn *conn, const char *req, json_object *id, double timeout,
			     GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC);
	json_tokener *tok = NULL;
	gsize fed = 0;

	conn->received = conn->in->len;
	if (!ctl_send(conn, req, strlen(req), deadline, timeout, error))
		return NULL;

	for (;;) {
		json_object *obj = NULL, *rid;
		gsize used = 0, skip = 0;
		CtlParse r;
		CtlFill fill;

		/* Whitespace and delimiter bytes between replies. */
		while (skip < conn->in->len && fed == 0 &&
		       (g_ascii_isspace(conn->in->data[skip]) || conn->in->data[skip] == 0xff))
			skip++;
		g_byte_array_remove_range(conn->in, 0, skip);
		if (!tok)
			tok = ctl_tokener();
		r = ctl_parse(conn, tok, &fed, &obj, &used);
		if (r == CTL_PARSE_MORE) {
			fill = ctl_fill(conn, deadline, error);
			if (fill == CTL_FILL_OK)
				continue;
			json_tokener_free(tok);
			if (error && *error)
				return NULL;
			if (fill == CTL_FILL_TIMEOUT && conn->in->len == 0)
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "no reply within %g s", timeout);
			else if (fill == CTL_FILL_TIMEOUT)
				g_set_error(error, CTL_ERROR, CTL_EXIT_TIMEOUT,
					    "the reply was still incomplete after %g s (%u bytes received)",
					    timeout, conn->in->len);
			else if (conn->in->len == 0)
				g_set_error(error, CTL_ERROR, CTL_EXIT_NO_AGENT,
					    "the agent closed the connection without replying");
			else
				g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
					    "the reply was cut off: the connection closed after %u bytes",
					    conn->in->len);
			return NULL;
		}
		json_tokener_free(tok);
		tok = NULL;
		fed = 0;
		if (r == CTL_PARSE_BAD) {
			g_autofree char *q = ctl_quote(conn->in->data, conn->in->len, CTL_QUOTE_MAX);

			if (conn->in->len > CTL_MAX_REPLY)
				g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
					    "the reply exceeds %u bytes: \"%s\"", CTL_MAX_REPLY, q);
			else
				g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
					    "the reply is not valid JSON: \"%s\"", q);
			return NULL;
		}
		if (!json_object_is_type(obj, json_type_object) ||
		    (!json_object_object_get_ex(obj, "return", NULL) &&
		     !json_object_object_get_ex(obj, "error", NULL))) {
			g_autofree char *q = ctl_quote(conn->in->data, used, CTL_QUOTE_MAX);

			json_object_put(obj);
			g_set_error(error, CTL_ERROR, CTL_EXIT_BAD_REPLY,
				    "the reply is neither {\"return\": ...} nor {\"error\": ...}: \"%s\"", q);
			return NULL;
		}
		g_byte_array_remove_range(conn->in, 0, used);
		if (id && json_object_object_get_ex(obj, "id", &rid) && !json_object_equal(rid, id)) {
			/* A stale reply to somebody else's request. */
			json_object_put(obj);
			continue;
		}
		return obj;
	}
}

/* ------------------------------------------------------------------ output */

static void ctl_print_value(const char *prefix, json_object *v)
{
	if (json_object_is_type(v, json_type_object)) {
		gboolean any = FALSE;

		json_object_object_foreach(v, key, member) {
			g_autofree char *p = g_strdup_printf("%s.%s", prefix, key);

			ctl_print_value(p, member);
			any = TRUE;
		}
		if (!any)
			g_print("%s: (none)\n", prefix);
		return;
	}
	if (json_object_is_type(v, json_type_string)) {
		g_print("%s: %s\n", prefix, json_object_get_string(v));
		return;
	}
	g_print("%s: %s\n", prefix, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* guest-info: the command list, one line, enabled ones only. */
static void ctl_print_commands(json_object *list)
{
	GString *s = g_string_new(NULL);
	size_t i;

	for (i = 0; i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i), *name, *enabled;

		if (!json_object_object_get_ex(c, "name", &name))
			continue;
		if (json_object_object_get_ex(c, "enabled", &enabled) && !json_object_get_boolean(enabled))
			continue;
		g_string_append_printf(s, "%s%s", s->len ? " " : "", json_object_get_string(name));
	}
	g_print("supported_commands: %s\n", s->str);
	g_string_free(s, TRUE);
}

/*
 * Human output: a headline for the state-changing commands, then the
 * returned members in schema order, then any the schema does not know
 * (from a newer agent).
 */
static void ctl_print_human(const CtlCommand *cmd, json_object *ret)
{
	json_object *v;
	size_t i;

	if (!cmd) {
		g_print("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED));
		return;
	}
	if (!json_object_is_type(ret, json_type_object)) {
		g_print("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
		return;
	}
	if (g_str_equal(cmd->name, "ping"))
		g_print("the agent is alive\n");
	else if ((g_str_equal(cmd->name, "enable") || g_str_equal(cmd->name, "disable")) &&
		 json_object_object_get_ex(ret, "enabled", &v))
		g_print("DMA dirtying is %s\n", json_object_get_boolean(v) ? "on" : "off");

	for (i = 0; cmd->members[i]; i++) {
		if (!json_object_object_get_ex(ret, cmd->members[i], &v))
			continue;
		if (g_str_equal(cmd->members[i], "supported_commands") &&
		    json_object_is_type(v, json_type_array))
			ctl_print_commands(v);
		else
			ctl_print_value(cmd->members[i], v);
	}
	json_object_object_foreach(ret, key, member) {
		gboolean known = FALSE;

		for (i = 0; cmd->members[i] && !known; i++)
			known = g_str_equal(cmd->members[i], key);
		if (!known)
			ctl_print_value(key, member);
	}
}

/* ---------------------------------------------------------- command line */

static const CtlCommand *ctl_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(ctl_commands); i++)
		if (g_str_equal(ctl_commands[i].name, name))
			return &ctl_commands[i];
	return NULL;
}

static char *ctl_commands_help(void)
{
	GString *s = g_string_new("Commands:\n");
	size_t i, j;

	for (i = 0; i < G_N_ELEMENTS(ctl_commands); i++) {
		const CtlCommand *c = &ctl_commands[i];
		GString *args = g_string_new(NULL);

		for (j = 0; j < c->n_args; j++)
			g_string_append_printf(args, " [--%s %s]", c->args[j].name,
					       c->args[j].type == CTL_ARG_INT ? "N" :
					       c->args[j].type == CTL_ARG_BOOL ? "true|false" : "TEXT");
		g_string_append_printf(s, "  %s%s\n      sends %s\n", c->name, args->str, c->wire);
		g_string_free(args, TRUE);
	}
	g_string_append(s,
		"  raw JSON\n"
		"      sends JSON, one QGA request object, as it is, and prints the reply\n"
		"\n"
		"\"dmadirtyctl COMMAND --help\" describes a command's options.\n"
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  agent error: the agent answered with an error (its class and desc are printed)\n"
		"  2  bad usage\n"
		"  3  no agent: the socket cannot be connected, or the peer closed it without answering\n"
		"  4  timeout: no complete answer within --connect-timeout or --timeout\n"
		"  5  bad reply: the peer sent garbage, a malformed reply, or cut its reply off\n");
	return g_string_free(s, FALSE);
}

/* Builds the request for @cmd from its options (@values, one per arg). */
static char *ctl_build_request(const CtlCommand *cmd, char **values, gint64 id, GError **error)
{
	g_autoptr(json_object) req = json_object_new_object();
	json_object *args = json_object_new_object();
	size_t i;

	json_object_object_add(req, "execute", json_object_new_string(cmd->wire));
	json_object_object_add(req, "arguments", args);
	json_object_object_add(req, "id", json_object_new_int64(id));
	for (i = 0; i < cmd->n_args; i++) {
		const CtlArg *a = &cmd->args[i];
		const char *v = values[i];
		char *end;
		gint64 n;

		if (!v) {
			if (!a->optional) {
				g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE, "%s needs --%s", cmd->name, a->name);
				return NULL;
			}
			continue;
		}
		switch (a->type) {
		case CTL_ARG_INT:
			errno = 0;
			n = g_ascii_strtoll(v, &end, 10);
			if (!*v || *end || errno) {
				g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE,
					    "--%s wants an integer, not \"%s\"", a->name, v);
				return NULL;
			}
			json_object_object_add(args, a->name, json_object_new_int64(n));
			break;
		case CTL_ARG_BOOL:
			if (!g_str_equal(v, "true") && !g_str_equal(v, "false")) {
				g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE,
					    "--%s wants true or false, not \"%s\"", a->name, v);
				return NULL;
			}
			json_object_object_add(args, a->name, json_object_new_boolean(g_str_equal(v, "true")));
			break;
		case CTL_ARG_STRING:
			json_object_object_add(args, a->name, json_object_new_string(v));
			break;
		}
	}
	return g_strdup_printf("%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
}

/* Checks that @text is exactly one JSON object with a string "execute". */
static json_object *ctl_parse_raw(const char *text, GError **error)
{
	json_tokener *tok = ctl_tokener();
	json_object *obj = json_tokener_parse_ex(tok, text, strlen(text) + 1);
	enum json_tokener_error e = json_tokener_get_error(tok);
	json_object *exec;

	size_t end = json_tokener_get_parse_end(tok);

	json_tokener_free(tok);
	if (e == json_tokener_success) {
		/* One value only: the parse stops after the first. */
		while (text[end] && g_ascii_isspace(text[end]))
			end++;
		if (text[end]) {
			json_object_put(obj);
			g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE,
				    "raw: more than one JSON value (one request at a time)");
			return NULL;
		}
	}
	if (e != json_tokener_success) {
		g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE, "raw: not one JSON value: %s",
			    json_tokener_error_desc(e));
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "execute", &exec) ||
	    !json_object_is_type(exec, json_type_string)) {
		json_object_put(obj);
		g_set_error(error, CTL_ERROR, CTL_EXIT_USAGE,
			    "raw: want a JSON object with a string \"execute\" member");
		return NULL;
	}
	return obj;
}

typedef struct {
	const char *socket;
	double timeout;
	double connect_timeout;
	gboolean json;
	gboolean verbose;
	gboolean version;
} CtlOptions;

static int ctl_fail(GError *error)
{
	g_printerr("dmadirtyctl: %s\n", error->message);
	return error->domain == CTL_ERROR ? error->code : CTL_EXIT_NO_AGENT;
}

static int ctl_run(CtlOptions *opt, const CtlCommand *cmd, const char *request, json_object *id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(json_object) reply = NULL;
	CtlConn conn = { .fd = -1, .in = g_byte_array_new(), .verbose = opt->verbose };
	json_object *ret, *err;
	int status;

	if (!ctl_connect(&conn, opt->socket, opt->connect_timeout, &error) ||
	    !ctl_resync(&conn, opt->timeout, &error) ||
	    !(reply = ctl_call(&conn, request, id, opt->timeout, &error))) {
		ctl_conn_close(&conn);
		return ctl_fail(error);
	}
	ctl_conn_close(&conn);

	if (json_object_object_get_ex(reply, "error", &err)) {
		json_object *cls = NULL, *desc = NULL;

		json_object_object_get_ex(err, "class", &cls);
		json_object_object_get_ex(err, "desc", &desc);
		g_printerr("dmadirtyctl: the agent answered %s: %s\n",
			   cls ? json_object_get_string(cls) : "an error",
			   desc ? json_object_get_string(desc) : json_object_to_json_string(err));
		if (opt->json)
			g_print("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
		return CTL_EXIT_AGENT_ERROR;
	}
	json_object_object_get_ex(reply, "return", &ret);
	status = CTL_EXIT_OK;
	if (opt->json)
		g_print("%s\n", json_object_to_json_string_ext(cmd ? ret : reply, JSON_C_TO_STRING_PLAIN));
	else
		ctl_print_human(cmd, cmd ? ret : reply);
	return status;
}

int main(int argc, char **argv)
{
	CtlOptions opt = { .timeout = 30, .connect_timeout = 5 };
	g_autofree char *socket_path = NULL;
	GOptionEntry entries[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
		  "the host end of the agent's port (default: $DMADIRTYCTL_SOCKET)", "PATH" },
		{ "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &opt.timeout,
		  "seconds to wait for the sync and again for the reply (default 30)", "SECS" },
		{ "connect-timeout", 'T', 0, G_OPTION_ARG_DOUBLE, &opt.connect_timeout,
		  "seconds to wait for the connection (default 5)", "SECS" },
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt.json,
		  "print the returned value (or the error reply) as one line of JSON", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose,
		  "show the bytes sent and received on stderr", NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &opt.version, "print the version and exit", NULL },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("COMMAND [OPTIONS] - talk to dmadirty-agent");
	g_autoptr(GError) error = NULL;
	g_autofree char *help = ctl_commands_help();
	g_autofree char *request = NULL;
	g_autoptr(json_object) id = NULL;
	const CtlCommand *cmd = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_strict_posix(ctx, TRUE);
	g_option_context_set_description(ctx, help);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("dmadirtyctl: %s (try --help)\n", error->message);
		return CTL_EXIT_USAGE;
	}
	if (opt.version) {
		g_print("dmadirtyctl %s\n", PACKAGE_VERSION);
		return CTL_EXIT_OK;
	}
	if (argc < 2) {
		g_printerr("dmadirtyctl: no command (try --help)\n");
		return CTL_EXIT_USAGE;
	}
	if (!(opt.timeout > 0 && isfinite(opt.timeout)) ||
	    !(opt.connect_timeout > 0 && isfinite(opt.connect_timeout))) {
		g_printerr("dmadirtyctl: timeouts must be positive numbers of seconds\n");
		return CTL_EXIT_USAGE;
	}

	if (g_str_equal(argv[1], "raw")) {
		g_autoptr(json_object) obj = NULL;

		if (argc != 3) {
			g_printerr("dmadirtyctl: raw takes exactly one argument, the JSON request\n");
			return CTL_EXIT_USAGE;
		}
		if (!(obj = ctl_parse_raw(argv[2], &error))) {
			g_printerr("dmadirtyctl: %s\n", error->message);
			return CTL_EXIT_USAGE;
		}
		if (json_object_object_get_ex(obj, "id", &id))
			json_object_get(id);
		/* Sent as the user wrote it: raw is also for probing agents. */
		request = g_strdup_printf("%s\n", argv[2]);
	} else {
		g_autoptr(GOptionContext) sub = NULL;
		g_autofree GOptionEntry *sub_entries = NULL;
		g_autofree char **values = NULL;
		g_autofree char *summary = NULL;
		char **sub_argv;
		int sub_argc;
		gint64 n = g_random_int_range(1, G_MAXINT32);
		size_t i;

		cmd = ctl_find_command(argv[1]);
		if (!cmd) {
			g_printerr("dmadirtyctl: unknown command \"%s\" (try --help)\n", argv[1]);
			return CTL_EXIT_USAGE;
		}
		sub = g_option_context_new(cmd->name);
		values = g_new0(char *, cmd->n_args + 1);
		sub_entries = g_new0(GOptionEntry, cmd->n_args + 1);
		for (i = 0; i < cmd->n_args; i++) {
			sub_entries[i].long_name = cmd->args[i].name;
			sub_entries[i].arg = G_OPTION_ARG_STRING;
			sub_entries[i].arg_data = &values[i];
			sub_entries[i].description = cmd->args[i].doc;
			sub_entries[i].arg_description = cmd->args[i].type == CTL_ARG_INT ? "N" :
				cmd->args[i].type == CTL_ARG_BOOL ? "true|false" : "TEXT";
		}
		g_option_context_add_main_entries(sub, sub_entries, NULL);
		/* The global options work after the command too. */
		g_option_context_add_main_entries(sub, entries, NULL);
		summary = g_strdup_printf("Sends %s: %s", cmd->wire, cmd->doc);
		g_option_context_set_summary(sub, summary);
		/* Parse the command's own argv: argv[1] plays the program's name. */
		sub_argc = argc - 1;
		sub_argv = argv + 1;
		if (!g_option_context_parse(sub, &sub_argc, &sub_argv, &error)) {
			g_printerr("dmadirtyctl: %s: %s (try dmadirtyctl %s --help)\n",
				   cmd->name, error->message, cmd->name);
			for (i = 0; i < cmd->n_args; i++)
				g_free(values[i]);
			return CTL_EXIT_USAGE;
		}
		if (sub_argc > 1) {
			g_printerr("dmadirtyctl: %s: unexpected argument \"%s\"\n", cmd->name, sub_argv[1]);
			for (i = 0; i < cmd->n_args; i++)
				g_free(values[i]);
			return CTL_EXIT_USAGE;
		}
		request = ctl_build_request(cmd, values, n, &error);
		for (i = 0; i < cmd->n_args; i++)
			g_free(values[i]);
		if (!request) {
			g_printerr("dmadirtyctl: %s\n", error->message);
			return CTL_EXIT_USAGE;
		}
		id = json_object_new_int64(n);
	}

	opt.socket = socket_path ? socket_path : (char *)g_getenv("DMADIRTYCTL_SOCKET");
	if (!opt.socket || !*opt.socket) {
		g_printerr("dmadirtyctl: no socket: give --socket PATH or set DMADIRTYCTL_SOCKET\n");
		return CTL_EXIT_USAGE;
	}
	return ctl_run(&opt, cmd, request, id);
}
