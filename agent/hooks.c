/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hooks: see hooks.h.
 *
 * One hook at a time: spawn it in its own process group with stdout and
 * stderr on one pipe, log the pipe line by line, and finish on the child's
 * exit.  The timeout kills the whole group, so a hook's own children (a
 * shell's `sleep`) cannot keep it alive.
 */
#define G_LOG_DOMAIN "dmadirty-hooks"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "hooks.h"

#define LINE_MAX_LEN 1024

struct DdHookRun {
	char *dir;
	char *phase;
	char *tag;
	guint32 generation;
	guint timeout_s;
	gboolean keep_going;
	DdHooksDone done;
	gpointer user_data;

	char **hooks;
	guint next;
	GError *first_error;

	/* The running hook. */
	GPid pid;
	int out_fd;
	guint child_watch;
	guint out_watch;
	guint timeout_id;
	guint idle_id;
	gboolean timed_out;
	GString *line;
};

G_DEFINE_QUARK(dmadirty-hooks-error-quark, dd_hooks_error)

static gboolean
is_hook(const char *dir, const char *name)
{
	g_autofree char *path = NULL;
	struct stat st;

	if (name[0] == '.' || g_str_has_suffix(name, "~"))
		return FALSE;
	path = g_build_filename(dir, name, NULL);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
dd_hooks_list(const char *dir, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
	const char *name;

	if (!d) {
		/* No directory, no hooks. */
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			char **none = g_new0(char *, 1);

			return none;
		}
		g_set_error(error, G_FILE_ERROR, local->code,
			    "hooks directory %s: %s", dir, local->message);
		return NULL;
	}
	while ((name = g_dir_read_name(d)))
		if (is_hook(dir, name))
			g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static void run_next(DdHookRun *run);

static void
flush_line(DdHookRun *run)
{
	if (run->line->len) {
		g_message("hook %s: %s", run->hooks[run->next], run->line->str);
		g_string_truncate(run->line, 0);
	}
}

/* Logs whatever the hook has written so far. */
static gboolean
drain_output(DdHookRun *run)
{
	char buf[512];
	ssize_t n, i;

	for (;;) {
		n = read(run->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 && errno == EAGAIN;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				flush_line(run);
			} else if (run->line->len < LINE_MAX_LEN) {
				g_string_append_c(run->line, buf[i]);
			}
		}
	}
}

static gboolean
on_output(int fd, GIOCondition cond, gpointer user_data)
{
	DdHookRun *run = user_data;

	if (drain_output(run))
		return G_SOURCE_CONTINUE;
	/* EOF: wait for the exit status only. */
	run->out_watch = 0;
	return G_SOURCE_REMOVE;
}

static void
stop_hook(DdHookRun *run)
{
	g_clear_handle_id(&run->out_watch, g_source_remove);
	g_clear_handle_id(&run->timeout_id, g_source_remove);
	g_clear_handle_id(&run->child_watch, g_source_remove);
	if (run->out_fd >= 0) {
		close(run->out_fd);
		run->out_fd = -1;
	}
}

static void
free_run(DdHookRun *run)
{
	stop_hook(run);
	g_clear_handle_id(&run->idle_id, g_source_remove);
	g_strfreev(run->hooks);
	g_clear_error(&run->first_error);
	g_string_free(run->line, TRUE);
	g_free(run->dir);
	g_free(run->phase);
	g_free(run->tag);
	g_free(run);
}

static void
finish_run(DdHookRun *run)
{
	DdHooksDone done = run->done;
	gpointer user_data = run->user_data;
	GError *error = g_steal_pointer(&run->first_error);

	free_run(run);
	done(error, user_data);
}

static void
on_child_exit(GPid pid, gint status, gpointer user_data)
{
	DdHookRun *run = user_data;
	const char *name = run->hooks[run->next];
	GError *error = NULL;

	run->child_watch = 0;
	g_spawn_close_pid(pid);
	/* Whatever is still in the pipe belongs to this hook. */
	if (run->out_fd >= 0)
		drain_output(run);
	flush_line(run);
	stop_hook(run);

	if (run->timed_out)
		g_set_error(&error, DD_HOOKS_ERROR, DD_HOOKS_ERROR_TIMED_OUT,
			    "hook %s %s timed out after %u s and was killed",
			    name, run->phase, run->timeout_s);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		g_set_error(&error, DD_HOOKS_ERROR, DD_HOOKS_ERROR_FAILED,
			    "hook %s %s failed with exit status %d",
			    name, run->phase, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		g_set_error(&error, DD_HOOKS_ERROR, DD_HOOKS_ERROR_SIGNALED,
			    "hook %s %s was killed by signal %d",
			    name, run->phase, WTERMSIG(status));

	if (error) {
		g_warning("%s", error->message);
		if (!run->first_error)
			run->first_error = error;
		else
			g_error_free(error);
	} else {
		g_info("hook %s %s succeeded", name, run->phase);
	}
	run->next++;
	if (run->first_error && !run->keep_going) {
		finish_run(run);
		return;
	}
	run_next(run);
}

static gboolean
on_timeout(gpointer user_data)
{
	DdHookRun *run = user_data;

	run->timeout_id = 0;
	run->timed_out = TRUE;
	g_warning("hook %s %s still running after %u s: killing it",
		  run->hooks[run->next], run->phase, run->timeout_s);
	kill(-run->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static void
child_setup(gpointer user_data)
{
	/* Own process group, so the timeout kills the hook's children too. */
	setpgid(0, 0);
}

static gboolean
on_idle_finish(gpointer user_data)
{
	DdHookRun *run = user_data;

	run->idle_id = 0;
	finish_run(run);
	return G_SOURCE_REMOVE;
}

static void
run_next(DdHookRun *run)
{
	g_autofree char *path = NULL;
	g_autofree char *gen = NULL;
	g_auto(GStrv) envp = NULL;
	g_autoptr(GError) error = NULL;
	const char *argv[3];
	int pipefd[2];

	if (!run->hooks[run->next]) {
		/* Finish from the main loop, never from within dd_hooks_run(). */
		run->idle_id = g_idle_add(on_idle_finish, run);
		return;
	}

	path = g_build_filename(run->dir, run->hooks[run->next], NULL);
	gen = g_strdup_printf("%u", run->generation);
	envp = g_get_environ();
	envp = g_environ_setenv(envp, "DMADIRTY_TAG", run->tag ? run->tag : "", TRUE);
	envp = g_environ_setenv(envp, "DMADIRTY_GENERATION", gen, TRUE);
	argv[0] = path;
	argv[1] = run->phase;
	argv[2] = NULL;

	if (!g_unix_open_pipe(pipefd, FD_CLOEXEC, &error)) {
		g_clear_error(&run->first_error);
		g_set_error(&run->first_error, DD_HOOKS_ERROR, DD_HOOKS_ERROR_START,
			    "hook %s %s: %s", run->hooks[run->next], run->phase, error->message);
		run->idle_id = g_idle_add(on_idle_finish, run);
		return;
	}
	run->timed_out = FALSE;
	g_info("running hook %s %s", run->hooks[run->next], run->phase);
	if (!g_spawn_async_with_pipes_and_fds(run->dir, argv, (const char *const *)envp,
					      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
					      child_setup, NULL, -1, pipefd[1], pipefd[1],
					      NULL, NULL, 0, &run->pid, NULL, NULL, NULL, &error)) {
		close(pipefd[0]);
		close(pipefd[1]);
		g_warning("hook %s %s: %s", run->hooks[run->next], run->phase, error->message);
		if (!run->first_error)
			g_set_error(&run->first_error, DD_HOOKS_ERROR, DD_HOOKS_ERROR_START,
				    "hook %s %s could not start: %s", run->hooks[run->next],
				    run->phase, error->message);
		run->next++;
		if (!run->keep_going) {
			run->idle_id = g_idle_add(on_idle_finish, run);
			return;
		}
		run_next(run);
		return;
	}
	close(pipefd[1]);
	run->out_fd = pipefd[0];
	g_unix_set_fd_nonblocking(run->out_fd, TRUE, NULL);
	run->out_watch = g_unix_fd_add(run->out_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_output, run);
	run->child_watch = g_child_watch_add(run->pid, on_child_exit, run);
	run->timeout_id = g_timeout_add_seconds(run->timeout_s, on_timeout, run);
}

DdHookRun *
dd_hooks_run(const char *dir, const char *phase, const char *tag, guint32 generation,
	     guint timeout_s, gboolean keep_going, DdHooksDone done, gpointer user_data)
{
	DdHookRun *run = g_new0(DdHookRun, 1);

	run->dir = g_strdup(dir);
	run->phase = g_strdup(phase);
	run->tag = g_strdup(tag);
	run->generation = generation;
	run->timeout_s = timeout_s ? timeout_s : 1;
	run->keep_going = keep_going;
	run->done = done;
	run->user_data = user_data;
	run->out_fd = -1;
	run->line = g_string_new(NULL);
	run->hooks = dd_hooks_list(dir, &run->first_error);
	if (!run->hooks)
		run->hooks = g_new0(char *, 1);
	run_next(run);
	return run;
}

void
dd_hooks_cancel(DdHookRun *run)
{
	if (!run)
		return;
	if (run->child_watch) {
		/* Kill and reap, so that no zombie outlives the agent's state. */
		kill(-run->pid, SIGKILL);
		waitpid(run->pid, NULL, 0);
		g_spawn_close_pid(run->pid);
	}
	free_run(run);
}
