/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dmadirtyctl: human output.
 */
#include "config.h"

#include "ctl.h"

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
 * Human output of @command's (the sub-command's) return value @ret: a
 * headline for the state-changing commands, then the returned @members in
 * schema order, then any the schema does not know (from a newer agent).
 * Without @command (raw), the whole reply, pretty-printed.
 */
void ctl_print_human(const char *command, const char *const *members, json_object *ret)
{
	json_object *v;
	size_t i;

	if (!command) {
		g_print("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_SPACED));
		return;
	}
	if (!json_object_is_type(ret, json_type_object)) {
		g_print("%s\n", json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN));
		return;
	}
	if (g_str_equal(command, "ping"))
		g_print("the agent is alive\n");
	else if ((g_str_equal(command, "enable") || g_str_equal(command, "disable")) &&
		 json_object_object_get_ex(ret, "enabled", &v))
		g_print("DMA dirtying is %s\n", json_object_get_boolean(v) ? "on" : "off");

	for (i = 0; members[i]; i++) {
		if (!json_object_object_get_ex(ret, members[i], &v))
			continue;
		if (g_str_equal(members[i], "supported_commands") &&
		    json_object_is_type(v, json_type_array))
			ctl_print_commands(v);
		else
			ctl_print_value(members[i], v);
	}
	json_object_object_foreach(ret, key, member) {
		gboolean known = FALSE;

		for (i = 0; members[i] && !known; i++)
			known = g_str_equal(members[i], key);
		if (!known)
			ctl_print_value(key, member);
	}
}

