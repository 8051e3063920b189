/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qemu-guest-agent wire format: see qga.h.
 */
#include "config.h"

#include "qga.h"

json_object *
qga_reply_return(json_object *ret)
{
	json_object *reply = json_object_new_object();

	json_object_object_add(reply, "return", ret);
	return reply;
}

json_object *
qga_reply_error(const char *klass, const char *desc)
{
	json_object *reply = json_object_new_object();
	json_object *err = json_object_new_object();

	json_object_object_add(err, "class", json_object_new_string(klass));
	json_object_object_add(err, "desc", json_object_new_string(desc));
	json_object_object_add(reply, "error", err);
	return reply;
}

QgaReplyKind
qga_reply_kind(json_object *reply)
{
	gboolean ret, err;

	if (!json_object_is_type(reply, json_type_object))
		return QGA_REPLY_INVALID;
	ret = json_object_object_get_ex(reply, "return", NULL);
	err = json_object_object_get_ex(reply, "error", NULL);
	if (ret == err)
		return QGA_REPLY_INVALID;
	return ret ? QGA_REPLY_RETURN : QGA_REPLY_ERROR;
}

static const char *
error_member(json_object *reply, const char *name)
{
	json_object *err, *v;

	if (!json_object_is_type(reply, json_type_object) ||
	    !json_object_object_get_ex(reply, "error", &err) ||
	    !json_object_object_get_ex(err, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *
qga_reply_error_class(json_object *reply)
{
	return error_member(reply, "class");
}

const char *
qga_reply_error_desc(json_object *reply)
{
	return error_member(reply, "desc");
}

char *
qga_quote(const guint8 *data, gsize len, gsize max)
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
