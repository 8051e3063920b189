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
 * proto/rpc-schema.json (dmadirtyctl-commands.h).  This file is the
 * command line; ctl.h lists the other parts.
 */
#define G_LOG_DOMAIN "dmadirtyctl"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "ctl.h"
#include "dmadirtyctl-commands.h"

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
	    !ctl_resync(&conn, CTL_WIRE_SYNC_DELIMITED, opt->timeout, &error) ||
	    !(reply = ctl_call(&conn, request, id, opt->timeout, &error))) {
		ctl_conn_close(&conn);
		return ctl_fail(error);
	}
	ctl_conn_close(&conn);

	if (json_object_object_get_ex(reply, "error", &err)) {
		const char *cls = qga_reply_error_class(reply);
		const char *desc = qga_reply_error_desc(reply);

		g_printerr("dmadirtyctl: the agent answered %s: %s\n", cls ? cls : "an error",
			   desc ? desc : json_object_to_json_string(err));
		if (opt->json)
			g_print("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
		return CTL_EXIT_AGENT_ERROR;
	}
	json_object_object_get_ex(reply, "return", &ret);
	status = CTL_EXIT_OK;
	if (opt->json)
		g_print("%s\n", json_object_to_json_string_ext(cmd ? ret : reply, JSON_C_TO_STRING_PLAIN));
	else
		ctl_print_human(cmd ? cmd->name : NULL, cmd ? cmd->members : NULL, cmd ? ret : reply);
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
