/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the dirtying state machine (agent/dirty.c): generations,
 * leases, hooks, sysctl errors and host-state changes, against a
 * temporary sysctl file.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dmadirty_vendor.h"
#include "test-util.h"

static json_object *
ret_of(json_object *r, const char *member)
{
	json_object *ret = json_object_object_get(r, "return");

	g_assert_nonnull(ret);
	return json_object_object_get(ret, member);
}

static json_object *
enable(TestAgent *t, const char *args)
{
	g_autofree char *msg = g_strdup_printf(
		"{\"execute\":\"guest-dma-dirty-enable\",\"arguments\":%s}", args ? args : "{}");

	return test_agent_call(t, msg);
}

static json_object *
disable(TestAgent *t)
{
	return test_agent_call(t, "{\"execute\":\"guest-dma-dirty-disable\"}");
}

static json_object *
status(TestAgent *t)
{
	return test_agent_call(t, "{\"execute\":\"guest-dma-dirty-status\"}");
}

static void
assert_sysctl(TestAgent *t, const char *want)
{
	g_autofree char *v = test_read_file(t->sysctl);

	g_assert_cmpstr(v, ==, want);
}

static void
test_generation(void)
{
	TestAgent *t = test_agent_new(NULL);
	json_object *r;

	r = enable(t, "{\"tag\":\"m1\"}");
	g_assert_true(json_object_get_boolean(ret_of(r, "enabled")));
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 1);
	g_assert_cmpstr(json_object_get_string(ret_of(r, "ack")), ==, "none");
	g_assert_cmpstr(json_object_get_string(ret_of(r, "source")), ==, "kernel");
	json_object_put(r);
	assert_sysctl(t, "1");

	/* Idempotent: a second enable keeps the generation. */
	r = enable(t, NULL);
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 1);
	json_object_put(r);

	r = disable(t);
	g_assert_false(json_object_get_boolean(ret_of(r, "enabled")));
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 2);
	g_assert_null(ret_of(r, "source"));
	json_object_put(r);
	assert_sysctl(t, "0");

	r = disable(t);
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 2);
	json_object_put(r);

	r = status(t);
	g_assert_false(json_object_get_boolean(ret_of(r, "enabled")));
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 2);
	g_assert_cmpint(json_object_get_int(ret_of(r, "lease-remaining")), ==, 0);
	g_assert_false(json_object_get_boolean(json_object_object_get(ret_of(r, "bridge"), "present")));
	g_assert_cmpint(json_object_object_length(ret_of(r, "counters")), ==, 0);
	json_object_put(r);
	test_agent_free(t);
}

static void
wait_until_off(TestAgent *t, gint64 max_us)
{
	gint64 end = g_get_monotonic_time() + max_us;

	for (;;) {
		g_autofree char *v = test_read_file(t->sysctl);

		if (strcmp(v, "0") == 0 && !dd_dirty_busy(t->agent->dirty))
			return;
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_main_context_iteration(NULL, TRUE);
	}
}

static gboolean
quit_after(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

static void
run_for(guint ms)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);

	g_timeout_add(ms, quit_after, loop);
	g_main_loop_run(loop);
}

static void
test_lease_expires(void)
{
	TestAgent *t = test_agent_new(NULL);
	gint64 start = g_get_monotonic_time();
	json_object *r;

	r = enable(t, "{\"lease\":1}");
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 1);
	json_object_put(r);
	r = status(t);
	g_assert_cmpint(json_object_get_int(ret_of(r, "lease-remaining")), ==, 1);
	json_object_put(r);

	/* Off on its own, not before the lease ran out, and not much after. */
	wait_until_off(t, 5 * G_USEC_PER_SEC);
	g_assert_cmpint(g_get_monotonic_time() - start, >=, G_USEC_PER_SEC);
	g_assert_true(test_saw_warning("lease of 1 s expired without renewal*"));
	r = status(t);
	g_assert_false(json_object_get_boolean(ret_of(r, "enabled")));
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 2);
	g_assert_cmpint(json_object_get_int(ret_of(r, "lease-remaining")), ==, 0);
	json_object_put(r);
	test_agent_free(t);
}

static void
test_lease_renewed(void)
{
	TestAgent *t = test_agent_new(NULL);
	json_object *r;

	/* Margins of a second on each side, for slow (valgrind) runs. */
	json_object_put(enable(t, "{\"lease\":2}"));
	run_for(1000);
	r = enable(t, "{\"lease\":3}");
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 1);
	json_object_put(r);
	/* Past the first lease: still on. */
	run_for(2000);
	assert_sysctl(t, "1");
	r = status(t);
	g_assert_cmpint(json_object_get_int(ret_of(r, "lease-remaining")), >=, 1);
	json_object_put(r);

	/* An enable without a lease drops it: no expiry any more. */
	json_object_put(enable(t, NULL));
	run_for(2000);
	assert_sysctl(t, "1");
	r = status(t);
	g_assert_cmpint(json_object_get_int(ret_of(r, "lease-remaining")), ==, 0);
	g_assert_cmpint(json_object_get_int(ret_of(r, "generation")), ==, 1);
	json_object_put(r);
	test_agent_free(t);
}

#define HOOK_LOG "echo \"$(basename \"$0\") $1 tag=$DMADIRTY_TAG gen=$DMADIRTY_GENERATION\" >> ../hooks.log"

static void
test_hooks_order_and_env(void)
{
	TestAgent *t = test_agent_new(NULL);
	g_autofree char *log_path = g_build_filename(t->dir, "hooks.log", NULL);
	g_autofree char *log = NULL;
	g_autofree char *noexec = g_build_filename(t->hooks, "15-not-executable", NULL);

	test_write_hook(t->hooks, "20-second", HOOK_LOG "; echo some output");
	test_write_hook(t->hooks, "10-first", HOOK_LOG);
	test_write_hook(t->hooks, ".hidden", HOOK_LOG);
	test_write_hook(t->hooks, "30-backup~", HOOK_LOG);
	g_assert_true(g_file_set_contents(noexec, "#!/bin/sh\nexit 1\n", -1, NULL));

	json_object_put(enable(t, "{\"tag\":\"mig-7\"}"));
	json_object_put(disable(t));
	log = test_read_file(log_path);
	g_assert_cmpstr(log, ==,
			"10-first pre-enable tag=mig-7 gen=1\n"
			"20-second pre-enable tag=mig-7 gen=1\n"
			"10-first post-disable tag= gen=2\n"
			"20-second post-disable tag= gen=2");
	test_agent_free(t);
}

static void
test_hook_fails(void)
{
	TestAgent *t = test_agent_new(NULL);
	g_autofree char *log_path = g_build_filename(t->dir, "hooks.log", NULL);
	json_object *r;

	test_write_hook(t->hooks, "10-quiesce", "echo cannot quiesce >&2; exit 3");
	test_write_hook(t->hooks, "20-later", HOOK_LOG);
	r = enable(t, NULL);
	g_assert_cmpstr(test_error_class(r), ==, "GenericError");
	g_assert_nonnull(strstr(test_error_desc(r), "hook 10-quiesce pre-enable failed with exit status 3"));
	json_object_put(r);
	g_assert_true(test_saw_warning("hook 10-quiesce pre-enable failed*"));
	/* Nothing after the failing hook ran, and dirtying stayed off. */
	g_assert_false(g_file_test(log_path, G_FILE_TEST_EXISTS));
	assert_sysctl(t, "0");
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 0);
	test_agent_free(t);
}

static void
test_hook_hangs(void)
{
	static const char *const opts[] = { "--hook-timeout=1", NULL };
	TestAgent *t = test_agent_new(opts);
	g_autofree char *pid_path = g_build_filename(t->dir, "sleep.pid", NULL);
	g_autofree char *pid_s = NULL;
	gint64 start = g_get_monotonic_time();
	json_object *r;
	int pid;

	/* The hook's child, not only the hook, must die. */
	test_write_hook(t->hooks, "10-stuck", "sleep 60 & echo $! > ../sleep.pid; wait");
	r = enable(t, NULL);
	g_assert_nonnull(strstr(test_error_desc(r), "hook 10-stuck pre-enable timed out after 1 s"));
	json_object_put(r);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 20 * G_USEC_PER_SEC);
	g_assert_true(test_saw_warning("hook 10-stuck pre-enable still running after 1 s: killing it"));
	g_assert_true(test_saw_warning("hook 10-stuck pre-enable timed out after 1 s and was killed"));
	assert_sysctl(t, "0");
	pid_s = test_read_file(pid_path);
	pid = atoi(pid_s);
	g_assert_cmpint(pid, >, 0);
	/* Killed: gone, or a zombie until init reaps it (its parent, the hook, was killed too). */
	g_assert_true(test_wait_dead(pid, 10));
	test_agent_free(t);
}

static void
test_post_disable_hook_fails(void)
{
	TestAgent *t = test_agent_new(NULL);
	json_object *r;

	test_write_hook(t->hooks, "10-resume", "[ \"$1\" = post-disable ] && exit 1; exit 0");
	json_object_put(enable(t, NULL));
	r = disable(t);
	g_assert_nonnull(strstr(test_error_desc(r), "hook 10-resume post-disable failed"));
	json_object_put(r);
	g_assert_true(test_saw_warning("hook 10-resume post-disable failed*"));
	/* Dirtying is off all the same. */
	assert_sysctl(t, "0");
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 2);
	test_agent_free(t);
}

static void
test_no_sysctl(void)
{
	TestAgent *t = test_agent_new(NULL);
	json_object *r;

	g_unlink(t->sysctl);
	r = enable(t, NULL);
	g_assert_nonnull(strstr(test_error_desc(r), "no sysctl"));
	g_assert_nonnull(strstr(test_error_desc(r), "module is not loaded"));
	json_object_put(r);
	r = disable(t);
	g_assert_nonnull(strstr(test_error_desc(r), "no sysctl"));
	json_object_put(r);
	/* A missing sysctl is not created by the write. */
	g_assert_false(g_file_test(t->sysctl, G_FILE_TEST_EXISTS));
	r = status(t);
	g_assert_cmpstr(json_object_get_string(ret_of(r, "source")), ==, "none");
	g_assert_false(json_object_get_boolean(ret_of(r, "enabled")));
	json_object_put(r);
	test_agent_free(t);
}

static void
test_permission_denied(void)
{
	/* A read-only sysctl refuses writes even to root. */
	static const char *const opts[] = { "--sysctl-path=/proc/sys/kernel/osrelease", NULL };
	TestAgent *t = test_agent_new(opts);
	json_object *r;

	r = enable(t, NULL);
	g_assert_nonnull(strstr(test_error_desc(r), "permission denied writing /proc/sys/kernel/osrelease"));
	json_object_put(r);
	test_agent_free(t);
}

static void
test_read_back_wrong(void)
{
	/* Writes vanish, reads return nothing. */
	static const char *const opts[] = { "--sysctl-path=/dev/null", NULL };
	TestAgent *t = test_agent_new(opts);
	json_object *r;

	r = enable(t, NULL);
	g_assert_nonnull(strstr(test_error_desc(r), "/dev/null read back '' after writing 1"));
	json_object_put(r);
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 0);
	test_agent_free(t);
}

/*
 * Where the device is missing, only the kernel can have the sysctl; where it
 * exists but cannot be used, who has it is unknown, and status says why.
 */
static void
test_device_state(void)
{
	static const char *const opts[] = { "--device-path=/", NULL };
	TestAgent *t;
	json_object *r;

	/* A device node that open() refuses (EISDIR here, EBUSY in a guest). */
	t = test_agent_new(opts);
	g_assert_true(test_saw_warning("cannot open /: *"));
	r = enable(t, NULL);
	g_assert_cmpstr(json_object_get_string(ret_of(r, "source")), ==, "unknown");
	json_object_put(r);
	r = status(t);
	g_assert_cmpstr(json_object_get_string(ret_of(r, "source")), ==, "unknown");
	g_assert_cmpstr(json_object_get_string(ret_of(r, "device")), ==, "failed");
	g_assert_cmpstr(json_object_get_string(ret_of(r, "device-error")), ==,
			"/: open failed: Is a directory");
	json_object_put(r);
	test_agent_free(t);

	t = test_agent_new(NULL);
	r = status(t);
	g_assert_cmpstr(json_object_get_string(ret_of(r, "source")), ==, "kernel");
	g_assert_cmpstr(json_object_get_string(ret_of(r, "device")), ==, "absent");
	g_assert_nonnull(strstr(json_object_get_string(ret_of(r, "device-error")),
				"the dmadirty module is not loaded"));
	json_object_put(r);
	test_agent_free(t);
}

static void
test_host_change(void)
{
	TestAgent *t = test_agent_new(NULL);
	g_autofree char *log_path = g_build_filename(t->dir, "hooks.log", NULL);
	g_autofree char *log = NULL;

	test_write_hook(t->hooks, "10-log", HOOK_LOG);
	/* An idle host seen first is no change: a boot-time enable stays. */
	g_assert_true(g_file_set_contents(t->sysctl, "1\n", -1, NULL));
	dd_dirty_host_changed(DMADIRTY_HOST_IDLE, 4, t->agent->dirty);
	g_assert_false(dd_dirty_busy(t->agent->dirty));
	assert_sysctl(t, "1");
	g_assert_true(g_file_set_contents(t->sysctl, "0\n", -1, NULL));
	dd_dirty_host_changed(DMADIRTY_HOST_PRECOPY, 5, t->agent->dirty);
	while (dd_dirty_busy(t->agent->dirty))
		g_main_context_iteration(NULL, TRUE);
	assert_sysctl(t, "1");
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 1);
	/* The same change seen twice (device and uevent) acts once. */
	dd_dirty_host_changed(DMADIRTY_HOST_IDLE, 5, t->agent->dirty);
	g_assert_false(dd_dirty_busy(t->agent->dirty));
	dd_dirty_host_changed(DMADIRTY_HOST_IDLE, 6, t->agent->dirty);
	wait_until_off(t, 10 * G_USEC_PER_SEC);
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 2);
	log = test_read_file(log_path);
	g_assert_cmpstr(log, ==, "10-log pre-enable tag=host gen=1\n10-log post-disable tag=host gen=2");
	test_agent_free(t);
}

static void
test_host_precopy_first(void)
{
	TestAgent *t = test_agent_new(NULL);

	/* An agent (re)started during pre-copy switches dirtying on. */
	dd_dirty_host_changed(DMADIRTY_HOST_PRECOPY, 9, t->agent->dirty);
	while (dd_dirty_busy(t->agent->dirty))
		g_main_context_iteration(NULL, TRUE);
	assert_sysctl(t, "1");
	g_assert_cmpuint(dd_dirty_generation(t->agent->dirty), ==, 1);
	test_agent_free(t);
}

int
main(int argc, char **argv)
{
	test_init(&argc, &argv);
	g_test_add_func("/lease/generation", test_generation);
	g_test_add_func("/lease/expires", test_lease_expires);
	g_test_add_func("/lease/renewed", test_lease_renewed);
	g_test_add_func("/hooks/order-and-env", test_hooks_order_and_env);
	g_test_add_func("/hooks/fails", test_hook_fails);
	g_test_add_func("/hooks/hangs", test_hook_hangs);
	g_test_add_func("/hooks/post-disable-fails", test_post_disable_hook_fails);
	g_test_add_func("/sysctl/missing", test_no_sysctl);
	g_test_add_func("/sysctl/permission-denied", test_permission_denied);
	g_test_add_func("/sysctl/read-back-wrong", test_read_back_wrong);
	g_test_add_func("/device/state", test_device_state);
	g_test_add_func("/host/change", test_host_change);
	g_test_add_func("/host/precopy-first", test_host_precopy_first);
	return test_run();
}
