/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef DD_AGENT_CONFIG_H
#define DD_AGENT_CONFIG_H

#include <glib.h>

#define DD_DEFAULT_CONFIG_FILE	"/etc/dmadirty/agent.conf"
#define DD_DEFAULT_PORT_NAME	"org.dmadirty.agent.0"
#define DD_DEFAULT_SYSCTL_PATH	"/proc/sys/vm/dma_mark_dirty"
#define DD_DEFAULT_DEVICE_PATH	"/dev/dmadirty"
#define DD_DEFAULT_HOOKS_DIR	"/etc/dmadirty/hooks.d"

/* Request limits (max-message-size, max-nesting-depth); literals for the help text. */
#define DD_DEFAULT_MAX_MESSAGE_SIZE	65536
#define DD_DEFAULT_MAX_NESTING_DEPTH	32

/* The group of agent.conf that holds every key. */
#define DD_CONFIG_GROUP		"general"

typedef enum {
	DD_METHOD_VIRTIO_SERIAL,
	DD_METHOD_UNIX_LISTEN,
	DD_METHOD_VSOCK_LISTEN,
} DdMethod;

/*
 * The effective configuration: built-in defaults, overridden by the
 * config file, overridden by the command line.  Keys of agent.conf carry
 * the long option names (method, path, sysctl-path, ...).
 */
typedef struct {
	DdMethod method;
	char *path;		/* device, socket path or CID:PORT; NULL: default */
	char *sysctl_path;
	char *device_path;
	char *hooks_dir;
	char **allow_rpcs;	/* NULL: every command */
	char **block_rpcs;	/* NULL: none */
	guint64 max_message_size;
	guint max_nesting_depth;
	guint hook_timeout;	/* seconds per hook */
	guint reply_timeout;	/* milliseconds a reply may wait for POLLOUT */
	GLogLevelFlags log_level;	/* most verbose level printed */
	char *config_file;	/* the file that was read, NULL if none */

	/* Actions rather than settings. */
	gboolean dump_config;
	gboolean version;
} DdConfig;

/**
 * dd_config_load:
 * Parses @argv (consuming the options) and the config file it names, or
 * the default one when it exists.  Returns NULL with @error set on a bad
 * option, a bad value, or an unreadable explicit config file.
 */
DdConfig *dd_config_load(int *argc, char ***argv, GError **error);

void dd_config_free(DdConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DdConfig, dd_config_free)

/** dd_config_to_data: the effective config as GKeyFile text. */
char *dd_config_to_data(const DdConfig *config);

const char *dd_method_name(DdMethod method);
const char *dd_log_level_name(GLogLevelFlags level);

#endif /* DD_AGENT_CONFIG_H */
