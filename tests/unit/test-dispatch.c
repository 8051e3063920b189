/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the dispatcher (agent/dispatch.c) and its generated table. */
#include "config.h"

#include <string.h>

#include "test-util.h"

static json_object *
load_schema(void)
{
	g_autofree char *path = g_build_filename(TOP_SRCDIR, "proto", "rpc-schema.json", NULL);
	json_object *schema = json_object_from_file(path);

	g_assert_nonnull(schema);
	return schema;
}

/* The generated table holds exactly the schema's commands and arguments. */
static void
test_table_matches_schema(void)
{
	json_object *schema = load_schema();
	json_object *cmds = json_object_object_get(schema, "commands");
	size_t i, j;

	g_assert_cmpuint(json_object_array_length(cmds), ==, dd_rpc_n_commands);
	for (i = 0; i < json_object_array_length(cmds); i++) {
		json_object *c = json_object_array_get_idx(cmds, i);
		const char *name = json_object_get_string(json_object_object_get(c, "name"));
		json_object *args = json_object_object_get(c, "args");
		const DdCommand *cmd = dd_rpc_lookup(name);

		g_assert_nonnull(cmd);
		g_assert_cmpuint(cmd->n_args, ==, args ? json_object_array_length(args) : 0);
		for (j = 0; j < cmd->n_args; j++) {
			json_object *a = json_object_array_get_idx(args, j);
			json_object *opt = NULL;
			const char *type = json_object_get_string(json_object_object_get(a, "type"));

			g_assert_cmpstr(cmd->args[j].name, ==,
					json_object_get_string(json_object_object_get(a, "name")));
			g_assert_cmpint(cmd->args[j].type, ==,
					strcmp(type, "int") == 0 ? DD_ARG_INT :
					strcmp(type, "string") == 0 ? DD_ARG_STRING : DD_ARG_BOOL);
			json_object_object_get_ex(a, "optional", &opt);
			g_assert_cmpint(cmd->args[j].optional, ==, opt && json_object_get_boolean(opt));
		}
	}
	g_assert_null(dd_rpc_lookup("guest-exec"));
	json_object_put(schema);
}

static void
test_sync_reply_bytes(void)
{
	TestAgent *t = test_agent_new(NULL);
	json_object *r;
	const char *data;
	gsize len;

	r = test_agent_call(t, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1234567890123}}");
	json_object_put(r);
	data = g_bytes_get_data(t->reply, &len);
	g_assert_cmpmem(data, len, "{\"return\":1234567890123}\n", 25);

	r = test_agent_call(t, "{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":-7}}");
	json_object_put(r);
	data = g_bytes_get_data(t->reply, &len);
	g_assert_cmpmem(data, len, "\xff{\"return\":-7}\n", 15);
	test_agent_free(t);
}

static void
test_id_echo(void)
{
	static const char *const ids[] = { "1", "\"abc\"", "{\"x\":[1,2]}", "null", "2.5" };
	TestAgent *t = test_agent_new(NULL);
	guint i;

	for (i = 0; i < G_N_ELEMENTS(ids); i++) {
		g_autofree char *msg = NULL;
		json_object *r, *want = json_tokener_parse(ids[i]);

		/* Echoed on success and on error alike. */
		msg = g_strdup_printf("{\"execute\":\"guest-ping\",\"id\":%s}", ids[i]);
		r = test_agent_call(t, msg);
		g_assert_true(json_object_equal(json_object_object_get(r, "id"), want));
		json_object_put(r);
		g_free(msg);
		msg = g_strdup_printf("{\"id\":%s,\"execute\":\"nope\"}", ids[i]);
		r = test_agent_call(t, msg);
		g_assert_true(json_object_equal(json_object_object_get(r, "id"), want));
		g_assert_cmpstr(test_error_class(r), ==, "CommandNotFound");
		json_object_put(r);
		json_object_put(want);
	}
	test_agent_free(t);
}

static const struct {
	const char *msg;
	const char *klass;
	const char *desc;	/* a substring of the desc */
} bad_requests[] = {
	{ "{\"execute\":", "GenericError", "JSON parse error" },
	{ "{'execute':'guest-ping'}", "GenericError", "JSON parse error" },
	{ "{\"execute\":\"guest-ping\"}x", "GenericError", "JSON parse error" },
	{ "[\"guest-ping\"]", "GenericError", "must be a JSON object" },
	{ "42", "GenericError", "must be a JSON object" },
	{ "{}", "GenericError", "lacks member 'execute'" },
	{ "{\"execute\":1}", "GenericError", "'execute' must be a string" },
	{ "{\"execute\":\"guest-ping\",\"foo\":1}", "GenericError", "member 'foo' is unexpected" },
	{ "{\"execute\":\"guest-ping\",\"arguments\":[]}", "GenericError", "'arguments' must be an object" },
	{ "{\"execute\":\"guest-pong\"}", "CommandNotFound", "guest-pong has not been found" },
	{ "{\"execute\":\"guest-ping\",\"arguments\":{\"x\":1}}", "GenericError", "'x' is unexpected" },
	{ "{\"execute\":\"guest-sync\"}", "GenericError", "'id' is missing" },
	{ "{\"execute\":\"guest-sync\",\"arguments\":{}}", "GenericError", "'id' is missing" },
	{ "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":\"1\"}}", "GenericError", "'id', expected: integer" },
	{ "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":1.0}}", "GenericError", "'id', expected: integer" },
	{ "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":null}}", "GenericError", "'id', expected: integer" },
	{ "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"tag\":5}}", "GenericError", "'tag', expected: string" },
	{ "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"lease\":true}}", "GenericError", "'lease', expected: integer" },
	{ "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"lease\":-1}}", "GenericError", "lease is negative" },
	{ "{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":{\"lease\":99999999999}}", "GenericError", "exceeds the maximum" },
	{ "{\"execute\":\"guest-dma-dirty-disable\",\"arguments\":{\"lease\":1}}", "GenericError", "'lease' is unexpected" },
};

static void
test_bad_requests(void)
{
	TestAgent *t = test_agent_new(NULL);
	g_autofree char *before = test_read_file(t->sysctl);
	guint i;

	for (i = 0; i < G_N_ELEMENTS(bad_requests); i++) {
		json_object *r = test_agent_call(t, bad_requests[i].msg);

		g_test_message("%s -> %s", bad_requests[i].msg, json_object_to_json_string(r));
		g_assert_cmpstr(test_error_class(r), ==, bad_requests[i].klass);
		g_assert_nonnull(strstr(test_error_desc(r), bad_requests[i].desc));
		json_object_put(r);
	}
	/* Nothing rejected reached the sysctl. */
	g_autofree char *after = test_read_file(t->sysctl);
	g_assert_cmpstr(before, ==, after);
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 0);
	test_agent_free(t);
}

static gboolean
info_enabled(json_object *info, const char *name)
{
	json_object *cmds = json_object_object_get(json_object_object_get(info, "return"),
						   "supported_commands");
	size_t i;

	for (i = 0; i < json_object_array_length(cmds); i++) {
		json_object *c = json_object_array_get_idx(cmds, i);

		if (strcmp(json_object_get_string(json_object_object_get(c, "name")), name) == 0) {
			g_assert_true(json_object_get_boolean(json_object_object_get(c, "success-response")));
			return json_object_get_boolean(json_object_object_get(c, "enabled"));
		}
	}
	g_assert_not_reached();
}

static void
test_block_list(void)
{
	static const char *const opts[] = { "-b", "guest-dma-dirty-enable,guest-ping", NULL };
	TestAgent *t = test_agent_new(opts);
	json_object *r;

	r = test_agent_call(t, "{\"execute\":\"guest-dma-dirty-enable\"}");
	g_assert_cmpstr(test_error_class(r), ==, "CommandNotFound");
	g_assert_nonnull(strstr(test_error_desc(r), "disabled"));
	json_object_put(r);
	r = test_agent_call(t, "{\"execute\":\"guest-info\"}");
	g_assert_false(info_enabled(r, "guest-dma-dirty-enable"));
	g_assert_false(info_enabled(r, "guest-ping"));
	g_assert_true(info_enabled(r, "guest-sync"));
	json_object_put(r);
	test_agent_free(t);
}

static void
test_allow_list(void)
{
	static const char *const opts[] = { "-a", "guest-sync, guest-info", "-b", "guest-info", NULL };
	TestAgent *t = test_agent_new(opts);
	json_object *r;

	r = test_agent_call(t, "{\"execute\":\"guest-ping\"}");
	g_assert_cmpstr(test_error_class(r), ==, "CommandNotFound");
	json_object_put(r);
	/* The block list wins over the allow list. */
	r = test_agent_call(t, "{\"execute\":\"guest-info\"}");
	g_assert_cmpstr(test_error_class(r), ==, "CommandNotFound");
	json_object_put(r);
	r = test_agent_call(t, "{\"execute\":\"guest-sync\",\"arguments\":{\"id\":3}}");
	g_assert_cmpint(json_object_get_int(json_object_object_get(r, "return")), ==, 3);
	json_object_put(r);
	test_agent_free(t);
}

static void
test_unknown_in_list(void)
{
	g_autoptr(GError) error = NULL;
	const char *const bad[] = { "guest-sync", "guest-exec", NULL };

	g_assert_null(dd_dispatcher_new(NULL, bad, NULL, &error));
	g_assert_nonnull(strstr(error->message, "unknown command 'guest-exec'"));
	g_clear_error(&error);
	g_assert_null(dd_dispatcher_new(NULL, NULL, bad, &error));
	g_assert_nonnull(strstr(error->message, "block-rpcs"));
}

static void
test_frame_errors(void)
{
	static const char *const opts[] = { "--max-message-size=100", "--max-nesting-depth=5", NULL };
	TestAgent *t = test_agent_new(opts);
	json_object *r;

	r = test_agent_frame_error(t, DD_FRAME_TOO_BIG);
	g_assert_cmpstr(test_error_class(r), ==, "GenericError");
	g_assert_nonnull(strstr(test_error_desc(r), "size limit of 100 bytes"));
	json_object_put(r);
	r = test_agent_frame_error(t, DD_FRAME_TOO_DEEP);
	g_assert_nonnull(strstr(test_error_desc(r), "nesting limit of 5"));
	json_object_put(r);
	test_agent_free(t);
}

int
main(int argc, char **argv)
{
	test_init(&argc, &argv);
	g_test_add_func("/dispatch/table-matches-schema", test_table_matches_schema);
	g_test_add_func("/dispatch/sync-reply-bytes", test_sync_reply_bytes);
	g_test_add_func("/dispatch/id-echo", test_id_echo);
	g_test_add_func("/dispatch/bad-requests", test_bad_requests);
	g_test_add_func("/dispatch/block-list", test_block_list);
	g_test_add_func("/dispatch/allow-list", test_allow_list);
	g_test_add_func("/dispatch/unknown-in-list", test_unknown_in_list);
	g_test_add_func("/dispatch/frame-errors", test_frame_errors);
	return test_run();
}
