/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Configuration: defaults < /etc/dmadirty/agent.conf < command line.
 *
 * The command line is parsed first into "unset" markers, so that -c can
 * name the file; the file is read next; command-line values then win.
 */
#define G_LOG_DOMAIN "dmadirty-config"
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-config.h"
#include "dispatch.h"

static const struct {
	const char *name;
	DdMethod method;
} methods[] = {
	{ "virtio-serial", DD_METHOD_VIRTIO_SERIAL },
	{ "unix-listen", DD_METHOD_UNIX_LISTEN },
	{ "vsock-listen", DD_METHOD_VSOCK_LISTEN },
};

static const struct {
	const char *name;
	GLogLevelFlags level;
} levels[] = {
	{ "error", G_LOG_LEVEL_CRITICAL },
	{ "warning", G_LOG_LEVEL_WARNING },
	{ "message", G_LOG_LEVEL_MESSAGE },
	{ "info", G_LOG_LEVEL_INFO },
	{ "debug", G_LOG_LEVEL_DEBUG },
};

const char *
dd_method_name(DdMethod method)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS(methods); i++)
		if (methods[i].method == method)
			return methods[i].name;
	return "?";
}

const char *
dd_log_level_name(GLogLevelFlags level)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS(levels); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "?";
}

static gboolean
parse_method(const char *s, DdMethod *method, GError **error)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS(methods); i++) {
		if (strcmp(s, methods[i].name) == 0) {
			*method = methods[i].method;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "method: '%s' is not one of virtio-serial, unix-listen, vsock-listen", s);
	return FALSE;
}

static gboolean
parse_level(const char *s, GLogLevelFlags *level, GError **error)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS(levels); i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*level = levels[i].level;
			return TRUE;
		}
	}
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "log-level: '%s' is not one of error, warning, message, info, debug", s);
	return FALSE;
}

static gboolean
parse_uint(const char *key, const char *s, guint64 min, guint64 max, guint64 *out,
	   GError **error)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(s, 10, min, max, &v, NULL)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "%s: '%s' is not a number from %" G_GUINT64_FORMAT
			    " to %" G_GUINT64_FORMAT, key, s, min, max);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

/* A comma-separated list, as qemu-ga's -b/-a take. */
static char **
split_list(const char *s)
{
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);
	GPtrArray *out = g_ptr_array_new();
	char **p;

	for (p = parts; *p; p++) {
		g_strstrip(*p);
		if (**p)
			g_ptr_array_add(out, g_strdup(*p));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* Option values as given; NULL / FALSE means "not on the command line". */
typedef struct {
	char *method, *path, *config, *sysctl_path, *device_path, *hooks_dir;
	char *allow, *block, *max_message_size, *max_nesting_depth;
	char *hook_timeout, *reply_timeout, *log_level;
	gboolean verbose, dump_config, version;
} Options;

static void
options_clear(Options *o)
{
	g_free(o->method);
	g_free(o->path);
	g_free(o->config);
	g_free(o->sysctl_path);
	g_free(o->device_path);
	g_free(o->hooks_dir);
	g_free(o->allow);
	g_free(o->block);
	g_free(o->max_message_size);
	g_free(o->max_nesting_depth);
	g_free(o->hook_timeout);
	g_free(o->reply_timeout);
	g_free(o->log_level);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

void
dd_config_free(DdConfig *config)
{
	if (!config)
		return;
	g_free(config->path);
	g_free(config->sysctl_path);
	g_free(config->device_path);
	g_free(config->hooks_dir);
	g_strfreev(config->allow_rpcs);
	g_strfreev(config->block_rpcs);
	g_free(config->config_file);
	g_free(config);
}

/* Applies one setting, from the file or the command line. */
static gboolean
apply(DdConfig *c, const char *key, const char *val, GError **error)
{
	guint64 v;

	if (strcmp(key, "method") == 0)
		return parse_method(val, &c->method, error);
	if (strcmp(key, "log-level") == 0)
		return parse_level(val, &c->log_level, error);
	if (strcmp(key, "path") == 0) {
		g_free(c->path);
		c->path = *val ? g_strdup(val) : NULL;
	} else if (strcmp(key, "sysctl-path") == 0) {
		g_free(c->sysctl_path);
		c->sysctl_path = g_strdup(val);
	} else if (strcmp(key, "device-path") == 0) {
		g_free(c->device_path);
		c->device_path = g_strdup(val);
	} else if (strcmp(key, "hooks-dir") == 0) {
		g_free(c->hooks_dir);
		c->hooks_dir = g_strdup(val);
	} else if (strcmp(key, "allow-rpcs") == 0) {
		g_strfreev(c->allow_rpcs);
		c->allow_rpcs = split_list(val);
	} else if (strcmp(key, "block-rpcs") == 0) {
		g_strfreev(c->block_rpcs);
		c->block_rpcs = split_list(val);
	} else if (strcmp(key, "max-message-size") == 0) {
		/* At least room for a guest-sync; at most what fits in memory sensibly. */
		if (!parse_uint(key, val, 64, 64 * 1024 * 1024, &v, error))
			return FALSE;
		c->max_message_size = v;
	} else if (strcmp(key, "max-nesting-depth") == 0) {
		if (!parse_uint(key, val, 2, 1024, &v, error))
			return FALSE;
		c->max_nesting_depth = (guint)v;
	} else if (strcmp(key, "hook-timeout") == 0) {
		if (!parse_uint(key, val, 1, 3600, &v, error))
			return FALSE;
		c->hook_timeout = (guint)v;
	} else if (strcmp(key, "reply-timeout") == 0) {
		if (!parse_uint(key, val, 1, 3600 * 1000, &v, error))
			return FALSE;
		c->reply_timeout = (guint)v;
	} else if (strcmp(key, "verbose") == 0) {
		if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			c->log_level = G_LOG_LEVEL_DEBUG;
		else if (strcmp(val, "false") != 0 && strcmp(val, "0") != 0) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "verbose: '%s' is not true or false", val);
			return FALSE;
		}
	} else {
		g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
			    "unknown key '%s'", key);
		return FALSE;
	}
	return TRUE;
}

static gboolean
load_file(DdConfig *c, const char *file, gboolean must_exist, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) local = NULL;
	g_auto(GStrv) groups = NULL;
	g_auto(GStrv) keys = NULL;
	char **k;

	if (!g_key_file_load_from_file(kf, file, G_KEY_FILE_NONE, &local)) {
		if (!must_exist && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_propagate_prefixed_error(error, g_steal_pointer(&local), "%s: ", file);
		return FALSE;
	}
	groups = g_key_file_get_groups(kf, NULL);
	for (k = groups; *k; k++) {
		if (strcmp(*k, DD_CONFIG_GROUP) != 0) {
			g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
				    "%s: unknown group [%s] (all keys go in [%s])",
				    file, *k, DD_CONFIG_GROUP);
			return FALSE;
		}
	}
	keys = g_key_file_get_keys(kf, DD_CONFIG_GROUP, NULL, NULL);
	for (k = keys; k && *k; k++) {
		g_autofree char *val = g_key_file_get_string(kf, DD_CONFIG_GROUP, *k, &local);

		if (!val || !apply(c, *k, val, &local)) {
			g_propagate_prefixed_error(error, g_steal_pointer(&local), "%s: ", file);
			return FALSE;
		}
	}
	c->config_file = g_strdup(file);
	return TRUE;
}

DdConfig *
dd_config_load(int *argc, char ***argv, GError **error)
{
	g_auto(Options) o = { 0 };
	GOptionEntry entries[] = {
		{ "method", 'm', 0, G_OPTION_ARG_STRING, &o.method,
		  "transport: virtio-serial (default), unix-listen or vsock-listen", "METHOD" },
		{ "path", 'p', 0, G_OPTION_ARG_STRING, &o.path,
		  "virtio-serial: device node (default: the port named " DD_DEFAULT_PORT_NAME
		  ", found through udev); unix-listen: socket path; vsock-listen: [CID:]PORT",
		  "PATH" },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config,
		  "config file (default " DD_DEFAULT_CONFIG_FILE ")", "FILE" },
		{ "dump-config", 'D', 0, G_OPTION_ARG_NONE, &o.dump_config,
		  "print the effective configuration as a key file and exit", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose,
		  "log debug messages (log-level=debug)", NULL },
		{ "block-rpcs", 'b', 0, G_OPTION_ARG_STRING, &o.block,
		  "comma-separated commands to disable", "LIST" },
		{ "allow-rpcs", 'a', 0, G_OPTION_ARG_STRING, &o.allow,
		  "comma-separated commands to enable; all others are disabled", "LIST" },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &o.version,
		  "print the version and exit", NULL },
		{ "sysctl-path", 0, 0, G_OPTION_ARG_FILENAME, &o.sysctl_path,
		  "the dirtying switch (default " DD_DEFAULT_SYSCTL_PATH ")", "PATH" },
		{ "device-path", 0, 0, G_OPTION_ARG_FILENAME, &o.device_path,
		  "the module's control device (default " DD_DEFAULT_DEVICE_PATH ")", "PATH" },
		{ "hooks-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.hooks_dir,
		  "directory of pre-enable/post-disable hooks (default " DD_DEFAULT_HOOKS_DIR ")",
		  "DIR" },
		{ "max-message-size", 0, 0, G_OPTION_ARG_STRING, &o.max_message_size,
		  "largest request in bytes (default " G_STRINGIFY(DD_DEFAULT_MAX_MESSAGE_SIZE) ")",
		  "BYTES" },
		{ "max-nesting-depth", 0, 0, G_OPTION_ARG_STRING, &o.max_nesting_depth,
		  "deepest request nesting (default " G_STRINGIFY(DD_DEFAULT_MAX_NESTING_DEPTH) ")",
		  "N" },
		{ "hook-timeout", 0, 0, G_OPTION_ARG_STRING, &o.hook_timeout,
		  "seconds a hook may run before it is killed (default 30)", "SECONDS" },
		{ "reply-timeout", 0, 0, G_OPTION_ARG_STRING, &o.reply_timeout,
		  "milliseconds a reply waits for the host to read before it and the client are "
		  "dropped (default 5000)", "MS" },
		{ "log-level", 'l', 0, G_OPTION_ARG_STRING, &o.log_level,
		  "error, warning, message (default), info or debug", "LEVEL" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- dmadirty guest agent");
	g_autoptr(DdConfig) c = g_new0(DdConfig, 1);
	static const char *const override_keys[] = {
		"method", "path", "sysctl-path", "device-path", "hooks-dir", "allow-rpcs",
		"block-rpcs", "max-message-size", "max-nesting-depth", "hook-timeout",
		"reply-timeout", "log-level",
	};
	/* Same order as override_keys; read after parsing. */
	char **const override_vals[] = {
		&o.method, &o.path, &o.sysctl_path, &o.device_path, &o.hooks_dir, &o.allow,
		&o.block, &o.max_message_size, &o.max_nesting_depth, &o.hook_timeout,
		&o.reply_timeout, &o.log_level,
	};
	guint i;

	G_STATIC_ASSERT(G_N_ELEMENTS(override_keys) == G_N_ELEMENTS(override_vals));

	g_option_context_set_summary(ctx,
		"Switches DMA page dirtying on and off in this guest at the hypervisor's\n"
		"request, so that pages written by pass-through devices survive live\n"
		"migration.  Speaks the qemu-guest-agent protocol over a virtio-serial port,\n"
		"a unix socket or vsock.");
	g_option_context_set_description(ctx,
		"Every long option is also a key in the [" DD_CONFIG_GROUP "] group of the config\n"
		"file, without the leading dashes (sysctl-path=/path); the command line wins.\n"
		"Hooks: every executable in the hooks directory runs, in name order, with\n"
		"the argument pre-enable before dirtying is switched on and post-disable after\n"
		"it is switched off, with DMADIRTY_TAG and DMADIRTY_GENERATION set.\n"
		"Logs go to standard error.  Readiness is signalled through NOTIFY_SOCKET.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, error))
		return NULL;
	if (*argc > 1) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    "unexpected argument '%s'", (*argv)[1]);
		return NULL;
	}

	c->method = DD_METHOD_VIRTIO_SERIAL;
	c->sysctl_path = g_strdup(DD_DEFAULT_SYSCTL_PATH);
	c->device_path = g_strdup(DD_DEFAULT_DEVICE_PATH);
	c->hooks_dir = g_strdup(DD_DEFAULT_HOOKS_DIR);
	c->max_message_size = DD_DEFAULT_MAX_MESSAGE_SIZE;
	c->max_nesting_depth = DD_DEFAULT_MAX_NESTING_DEPTH;
	c->hook_timeout = 30;
	c->reply_timeout = 5000;
	c->log_level = G_LOG_LEVEL_MESSAGE;

	if (!load_file(c, o.config ? o.config : DD_DEFAULT_CONFIG_FILE, o.config != NULL, error))
		return NULL;

	for (i = 0; i < G_N_ELEMENTS(override_keys); i++) {
		if (*override_vals[i] && !apply(c, override_keys[i], *override_vals[i], error)) {
			g_prefix_error(error, "--");
			return NULL;
		}
	}
	if (o.verbose)
		c->log_level = G_LOG_LEVEL_DEBUG;
	c->dump_config = o.dump_config;
	c->version = o.version;

	if ((c->method == DD_METHOD_UNIX_LISTEN || c->method == DD_METHOD_VSOCK_LISTEN) &&
	    !c->path && !c->dump_config && !c->version) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "method %s needs --path", dd_method_name(c->method));
		return NULL;
	}
	return g_steal_pointer(&c);
}

char *
dd_config_to_data(const DdConfig *c)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	const char *g = DD_CONFIG_GROUP;

	g_key_file_set_string(kf, g, "method", dd_method_name(c->method));
	g_key_file_set_string(kf, g, "path", c->path ? c->path : "");
	g_key_file_set_string(kf, g, "sysctl-path", c->sysctl_path);
	g_key_file_set_string(kf, g, "device-path", c->device_path);
	g_key_file_set_string(kf, g, "hooks-dir", c->hooks_dir);
	if (c->allow_rpcs) {
		g_autofree char *s = g_strjoinv(",", c->allow_rpcs);

		g_key_file_set_string(kf, g, "allow-rpcs", s);
	}
	if (c->block_rpcs) {
		g_autofree char *s = g_strjoinv(",", c->block_rpcs);

		g_key_file_set_string(kf, g, "block-rpcs", s);
	}
	g_key_file_set_uint64(kf, g, "max-message-size", c->max_message_size);
	g_key_file_set_uint64(kf, g, "max-nesting-depth", c->max_nesting_depth);
	g_key_file_set_uint64(kf, g, "hook-timeout", c->hook_timeout);
	g_key_file_set_uint64(kf, g, "reply-timeout", c->reply_timeout);
	g_key_file_set_string(kf, g, "log-level", dd_log_level_name(c->log_level));
	return g_key_file_to_data(kf, NULL, NULL);
}
