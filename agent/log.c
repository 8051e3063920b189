/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log lines: see log.h.
 */
#include "config.h"

#include <string.h>

#include "log.h"

#define DD_LOG_PREFIX "dmadirty-"
#define DD_LOG_SELF "dmadirty-agent"

static const char *
level_name(GLogLevelFlags level)
{
	switch (level & G_LOG_LEVEL_MASK) {
	case G_LOG_LEVEL_ERROR:
		return "error";
	case G_LOG_LEVEL_CRITICAL:
		return "critical";
	case G_LOG_LEVEL_WARNING:
		return "warning";
	case G_LOG_LEVEL_MESSAGE:
		return "notice";
	case G_LOG_LEVEL_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* NULL for the agent's own domain (and none), else what names the component. */
static const char *
component(const char *domain)
{
	if (!domain || !*domain || strcmp(domain, DD_LOG_SELF) == 0)
		return NULL;
	/* Only a prefix followed by a name is ours to strip. */
	if (g_str_has_prefix(domain, DD_LOG_PREFIX) && domain[strlen(DD_LOG_PREFIX)])
		return domain + strlen(DD_LOG_PREFIX);
	return domain;
}

char *
dd_log_format(const char *domain, GLogLevelFlags level, const char *message)
{
	const char *c = component(domain);

	return g_strdup_printf(DD_LOG_SELF ": %s: %s%s%s", level_name(level), c ? c : "",
			       c ? ": " : "", message ? message : "");
}
