/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared helpers of the unit and integration tests: a temporary agent and
 * its replies, hooks and files.
 */
#ifndef DD_TEST_UTIL_H
#define DD_TEST_UTIL_H

#include <glib.h>
#include <json-c/json.h>

#include "agent.h"

typedef struct {
	char *dir;		/* temporary directory */
	char *sysctl;		/* dir/sysctl, holding "0" */
	char *hooks;		/* dir/hooks.d */
	DdAgent *agent;
	GBytes *reply;		/* the last reply */
	gboolean replied;
} TestAgent;

/*
 * g_test_init(), with warnings logged and recorded rather than fatal: the
 * agent warns on purpose (lease expiry, failing hooks), and the tests check
 * those warnings with test_saw_warning().  Criticals stay fatal.
 */
void test_init(int *argc, char ***argv);

/*
 * TRUE when a warning matching the glob @pattern was logged in the current
 * test; forgets it.
 */
gboolean test_saw_warning(const char *pattern);

/* Fails the current test for every warning it logged and did not check. */
void test_assert_no_warnings(void);

/*
 * g_test_run(), then fails the program for any warning nobody checked.
 * test_agent_free() checks the test's warnings itself.
 */
int test_run(void);

/* Builds an agent in a fresh temporary directory; @extra are more options. */
TestAgent *test_agent_new(const char *const *extra);
void test_agent_free(TestAgent *t);

/*
 * Dispatches @msg and runs the main loop until the reply (aborting the test
 * when none comes within two minutes); returns it parsed.
 */
json_object *test_agent_call(TestAgent *t, const char *msg);

/* Replies to a framer error frame; returns the reply parsed. */
json_object *test_agent_frame_error(TestAgent *t, DdFrameKind kind);

/*
 * Waits until process @pid has exited (gone, or a zombie); FALSE when it
 * still runs after @timeout_s seconds.
 */
gboolean test_wait_dead(int pid, guint timeout_s);

/* Writes an executable hook script. */
void test_write_hook(const char *dir, const char *name, const char *body);

/* Removes @path, a file or a directory tree. */
void test_rm_rf(const char *path);

/* Reads a file into a string with surrounding whitespace removed. */
char *test_read_file(const char *path);

/* The error class of a reply, or NULL; and its desc. */
const char *test_error_class(json_object *reply);
const char *test_error_desc(json_object *reply);

#endif
