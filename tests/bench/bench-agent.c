/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * make bench: dmadirty-agent against qemu-ga (Debian's qemu-guest-agent),
 * both on unix sockets, measured in the same run on the same machine.
 *
 *   guest-sync round trip, p50 and p99, one request at a time
 *   pipelined guest-sync throughput (requests in flight while replies drain)
 *   RSS idle, and after one 1 MiB request (and the peak, VmHWM)
 *   start-up time: exec until the first guest-sync is answered
 *
 * Each figure is printed with its ratio agent/qemu-ga: at most 1.0 means
 * the agent is as fast or as small (for throughput the ratio is of the
 * time per request).  Not a test: nothing here passes or fails on timing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

typedef struct {
	const char *name;
	char **argv;		/* NULL-terminated, the socket path is in it */
	char *sock;
	GPid pid;
} Target;

typedef struct {
	int fd;
	GString *in;
} Conn;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The agents under measurement, killed if the bench dies half-way. */
static GPid running[4];
static char *bench_dir;
static void rm_rf(const char *path);

static void die(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void die(const char *fmt, ...)
{
	va_list ap;

	for (size_t i = 0; i < G_N_ELEMENTS(running); i++)
		if (running[i] > 0)
			kill(running[i], SIGTERM);
	if (bench_dir)
		rm_rf(bench_dir);
	va_start(ap, fmt);
	fputs("bench-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int try_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	close(fd);
	return -1;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send: %s", g_strerror(errno));
		data += n;
		len -= n;
	}
}

/* Reads one reply line (10 s at most); returns it without the newline. */
static char *read_line(Conn *c)
{
	for (;;) {
		char *nl = memchr(c->in->str, '\n', c->in->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		char buf[65536];
		ssize_t n;

		if (nl) {
			char *line = g_strndup(c->in->str, nl - c->in->str);

			g_string_erase(c->in, 0, nl - c->in->str + 1);
			return line;
		}
		if (poll(&p, 1, 10000) <= 0)
			die("no reply within 10 s");
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n <= 0)
			die("the agent closed the connection");
		g_string_append_len(c->in, buf, n);
	}
}

static void sync_once(Conn *c, long id)
{
	char req[128], want[64];
	g_autofree char *line = NULL;

	snprintf(req, sizeof(req), "{\"execute\": \"guest-sync\", \"arguments\": {\"id\": %ld}}\n", id);
	char *hit;
	const char *p;

	snprintf(want, sizeof(want), "\"return\":");
	send_all(c->fd, req, strlen(req));
	line = read_line(c);
	hit = strstr(line, want);
	for (p = hit ? hit + strlen(want) : NULL; p && *p == ' '; p++)
		;
	if (!p || strtol(p, NULL, 10) != id)
		die("unexpected reply to guest-sync %ld: %.200s", id, line);
}

static Conn conn_open(Target *t)
{
	Conn c = { .fd = try_connect(t->sock), .in = g_string_new(NULL) };

	if (c.fd < 0)
		die("%s: cannot connect to %s", t->name, t->sock);
	return c;
}

static void conn_close(Conn *c)
{
	close(c->fd);
	g_string_free(c->in, TRUE);
}

/* Starts @t; returns microseconds from spawn to the first sync reply. */
static double target_start(Target *t)
{
	g_autoptr(GError) error = NULL;
	double t0 = now_us(), t1;
	Conn c = { .in = g_string_new(NULL) };
	int status;

	g_unlink(t->sock);
	if (!g_spawn_async(NULL, t->argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL |
			   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &t->pid, &error))
		die("%s: %s", t->name, error->message);
	for (size_t i = 0; i < G_N_ELEMENTS(running); i++)
		if (running[i] == 0) {
			running[i] = t->pid;
			break;
		}
	/* Nothing announces the listening socket: try every 200 us. */
	while ((c.fd = try_connect(t->sock)) < 0) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid)
			die("%s exited during start-up (try: %s)", t->name, g_strjoinv(" ", t->argv));
		if (now_us() - t0 > 10e6)
			die("%s: no socket after 10 s", t->name);
		g_usleep(200);
	}
	sync_once(&c, 1);
	t1 = now_us();
	conn_close(&c);
	return t1 - t0;
}

static void target_stop(Target *t)
{
	for (size_t i = 0; i < G_N_ELEMENTS(running); i++)
		if (running[i] == t->pid)
			running[i] = 0;
	kill(t->pid, SIGTERM);
	waitpid(t->pid, NULL, 0);
	g_spawn_close_pid(t->pid);
	g_unlink(t->sock);
}

/* VmRSS or VmHWM of @pid in KiB. */
static long proc_kib(GPid pid, const char *field)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
	g_autofree char *text = NULL;
	char *p;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		die("cannot read %s", path);
	p = strstr(text, field);
	if (!p)
		die("%s lacks %s", path, field);
	return strtol(p + strlen(field) + 1, NULL, 10);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[MIN(n - 1, (size_t)(p * n))];
}

typedef struct {
	double p50, p99;	/* us */
	double pipelined;	/* us per request */
	long rss_idle, rss_big, hwm_big;	/* KiB */
	double startup;		/* us, median */
	char *big_reply;
} Figures;

/* @rounds round trips on one connection, appended to @v. */
static void measure_latency(Target *t, int rounds, GArray *v)
{
	Conn c = conn_open(t);
	int i;

	for (i = 0; i < 50; i++)
		sync_once(&c, i + 2);
	for (i = 0; i < rounds; i++) {
		double t0 = now_us(), dt;

		sync_once(&c, i + 1000);
		dt = now_us() - t0;
		g_array_append_val(v, dt);
	}
	conn_close(&c);
}

/*
 * Writes @n requests as fast as the socket takes them while reading the
 * replies; adds the time taken to *@us.
 */
static void measure_pipelined(Target *t, int n, double *us)
{
	Conn c = conn_open(t);
	GString *out = g_string_new(NULL);
	size_t sent = 0;
	int replies = 0, i;
	double t0;

	for (i = 0; i < n; i++)
		g_string_append_printf(out, "{\"execute\": \"guest-sync\", \"arguments\": {\"id\": %d}}\n", i);
	fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
	t0 = now_us();
	while (replies < n) {
		struct pollfd p = { .fd = c.fd, .events = POLLIN | (sent < out->len ? POLLOUT : 0) };
		char buf[65536];
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			die("%s: pipelined run stalled after %d replies", t->name, replies);
		if ((p.revents & POLLOUT) && sent < out->len) {
			r = send(c.fd, out->str + sent, MIN(out->len - sent, 4096), MSG_NOSIGNAL);
			if (r > 0)
				sent += r;
			else if (errno != EAGAIN)
				die("%s: send: %s", t->name, g_strerror(errno));
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			r = recv(c.fd, buf, sizeof(buf), 0);
			if (r == 0)
				die("%s: closed during the pipelined run", t->name);
			for (i = 0; i < r; i++)
				replies += buf[i] == '\n';
		}
	}
	*us += now_us() - t0;
	g_string_free(out, TRUE);
	conn_close(&c);
}

/* One request of 1 MiB (a guest-sync with a huge string member), then RSS. */
static void measure_big(Target *t, Figures *f)
{
	Conn c = conn_open(t);
	GString *req = g_string_new("{\"execute\": \"guest-sync\", \"arguments\": {\"id\": 5, \"pad\": \"");
	char *line;

	while (req->len < (1u << 20) - 8)
		g_string_append(req, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	g_string_truncate(req, (1u << 20) - 4);
	g_string_append(req, "\"}}\n");
	send_all(c.fd, req->str, req->len);
	line = read_line(&c);
	f->big_reply = g_strndup(line, 120);
	g_free(line);
	/* Still answering, and the 1 MiB is gone from the socket. */
	sync_once(&c, 77);
	g_usleep(200000);
	f->rss_big = proc_kib(t->pid, "VmRSS:");
	f->hwm_big = proc_kib(t->pid, "VmHWM:");
	g_string_free(req, TRUE);
	conn_close(&c);
}

/*
 * Both targets are measured in alternating blocks, so that load from
 * elsewhere on the machine falls on both alike.
 */
static void measure_pair(Target **t, int rounds, int pipelined, int starts, Figures *f)
{
	enum { BLOCKS = 10 };
	double *up[2] = { g_new(double, starts), g_new(double, starts) };
	GArray *lat[2] = { g_array_new(FALSE, FALSE, sizeof(double)),
			   g_array_new(FALSE, FALSE, sizeof(double)) };
	double pipe_us[2] = { 0, 0 };
	int i, k, b;

	for (i = 0; i < starts; i++) {
		for (k = 0; k < 2; k++) {
			up[k][i] = target_start(t[k]);
			if (i < starts - 1)
				target_stop(t[k]);
		}
	}
	for (k = 0; k < 2; k++) {
		f[k].startup = percentile(up[k], starts, 0.5);
		g_free(up[k]);
	}
	/* The last instances stay up for the rest. */
	g_usleep(200000);
	for (k = 0; k < 2; k++)
		f[k].rss_idle = proc_kib(t[k]->pid, "VmRSS:");
	for (b = 0; b < BLOCKS; b++)
		for (k = 0; k < 2; k++)
			measure_latency(t[k], rounds / BLOCKS, lat[k]);
	for (b = 0; b < BLOCKS; b++)
		for (k = 0; k < 2; k++)
			measure_pipelined(t[k], pipelined / BLOCKS, &pipe_us[k]);
	for (k = 0; k < 2; k++) {
		f[k].p50 = percentile((double *)lat[k]->data, lat[k]->len, 0.50);
		f[k].p99 = percentile((double *)lat[k]->data, lat[k]->len, 0.99);
		f[k].pipelined = pipe_us[k] / (pipelined / BLOCKS * BLOCKS);
		g_array_free(lat[k], TRUE);
		measure_big(t[k], &f[k]);
		target_stop(t[k]);
	}
}

static void rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(path, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			rm_rf(p);
		else
			g_unlink(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(path);
}

static void row(const char *what, double agent, double qga, const char *unit, const char *note)
{
	printf("%-36s %12.1f %12.1f %8.2f  %s%s%s\n", what, agent, qga, qga > 0 ? agent / qga : 0.0,
	       unit, note ? "  " : "", note ? note : "");
}

int main(int argc, char **argv)
{
	const char *agent = NULL, *qga = NULL;
	int rounds = 5000, pipelined = 20000, starts = 15;
	GOptionEntry entries[] = {
		{ "agent", 0, 0, G_OPTION_ARG_FILENAME, &agent, "dmadirty-agent binary", "PATH" },
		{ "qemu-ga", 0, 0, G_OPTION_ARG_FILENAME, &qga, "qemu-ga binary", "PATH" },
		{ "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "round trips for p50/p99 (5000)", "N" },
		{ "pipelined", 0, 0, G_OPTION_ARG_INT, &pipelined, "requests in the pipelined run (20000)", "N" },
		{ "starts", 0, 0, G_OPTION_ARG_INT, &starts, "start-ups to take the median of (15)", "N" },
		{ NULL }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- dmadirty-agent against qemu-ga");
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = NULL, *conf = NULL, *sysctl = NULL, *hooks = NULL, *nodev = NULL;
	g_autofree char *asock = NULL, *qsock = NULL, *bsock = NULL;
	Figures fa = { 0 }, fq = { 0 }, fb = { 0 };
	Target ta, tq, tb;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error))
		die("%s", error->message);
	if (!agent || !qga)
		die("give --agent PATH and --qemu-ga PATH");
	if (rounds < 100 || pipelined < 100 || starts < 1)
		die("--rounds and --pipelined want at least 100, --starts at least 1");

	dir = g_dir_make_tmp("bench-agent-XXXXXX", &error);
	if (!dir)
		die("%s", error->message);
	bench_dir = dir;
	conf = g_build_filename(dir, "agent.conf", NULL);
	sysctl = g_build_filename(dir, "dma_mark_dirty", NULL);
	hooks = g_build_filename(dir, "hooks.d", NULL);
	nodev = g_build_filename(dir, "no-device", NULL);
	asock = g_build_filename(dir, "agent.sock", NULL);
	bsock = g_build_filename(dir, "agent-big.sock", NULL);
	qsock = g_build_filename(dir, "qga.sock", NULL);
	g_file_set_contents(conf, "", 0, NULL);
	g_file_set_contents(sysctl, "0\n", -1, NULL);
	g_mkdir(hooks, 0700);

	ta = (Target){ "dmadirty-agent", (char *[]){ (char *)agent, "-c", conf, "-m", "unix-listen",
			"-p", asock, "--sysctl-path", sysctl, "--device-path", nodev, "--hooks-dir", hooks,
			NULL }, asock, 0 };
	/* The same agent with a limit that lets the 1 MiB request through. */
	tb = (Target){ "dmadirty-agent (2 MiB limit)", (char *[]){ (char *)agent, "-c", conf, "-m",
			"unix-listen", "-p", bsock, "--sysctl-path", sysctl, "--device-path", nodev,
			"--hooks-dir", hooks, "--max-message-size", "2097152", NULL }, bsock, 0 };
	tq = (Target){ "qemu-ga", (char *[]){ (char *)qga, "-m", "unix-listen", "-p", qsock, "-t", dir,
			NULL }, qsock, 0 };

	fprintf(stderr, "bench-agent: measuring %s and %s\n", agent, qga);
	{
		Target *pair[2] = { &ta, &tq };
		Figures f[2] = { { 0 } };

		measure_pair(pair, rounds, pipelined, starts, f);
		fa = f[0];
		fq = f[1];
	}
	fprintf(stderr, "bench-agent: measuring %s --max-message-size 2097152\n", agent);
	target_start(&tb);
	measure_big(&tb, &fb);
	target_stop(&tb);
	printf("\n%-36s %12s %12s %8s\n", "figure", "agent", "qemu-ga", "ratio");
	row("guest-sync round trip p50", fa.p50, fq.p50, "us", NULL);
	row("guest-sync round trip p99", fa.p99, fq.p99, "us", NULL);
	row("pipelined guest-sync, per request", fa.pipelined, fq.pipelined, "us",
	    g_strdup_printf("(%.0f vs %.0f requests/s)", 1e6 / fa.pipelined, 1e6 / fq.pipelined));
	row("RSS idle", fa.rss_idle, fq.rss_idle, "KiB", NULL);
	row("RSS after a 1 MiB request", fa.rss_big, fq.rss_big, "KiB",
	    "(agent: default 64 KiB limit, rejects it)");
	row("peak RSS (VmHWM) after it", fa.hwm_big, fq.hwm_big, "KiB", NULL);
	row("RSS after it, agent limit 2 MiB", fb.rss_big, fq.rss_big, "KiB", "(agent parses it too)");
	row("peak RSS after it, agent limit 2 MiB", fb.hwm_big, fq.hwm_big, "KiB", NULL);
	row("start-up, exec to first reply (median)", fa.startup / 1000, fq.startup / 1000, "ms", NULL);
	printf("\nratio = agent / qemu-ga; at most 1.0 is as fast or as small.\n");
	printf("%d round trips, %d pipelined requests, %d start-ups each.\n", rounds, pipelined, starts);
	printf("replies to the 1 MiB request:\n  agent:            %s\n  agent (2 MiB):    %s\n"
	       "  qemu-ga:          %s\n", fa.big_reply, fb.big_reply, fq.big_reply);

	rm_rf(dir);
	return 0;
}
