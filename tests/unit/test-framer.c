/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the stream framer (agent/framer.c). */
#include "config.h"

#include <string.h>

#include "framer.h"
#include "test-util.h"

/* Feeds @input in chunks of @chunk bytes; collects frames as strings. */
static GPtrArray *
frames_of(DdFramer *f, const char *input, gsize len, gsize chunk)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	gsize off = 0;

	while (off < len) {
		gsize n = MIN(chunk, len - off);
		gsize used = 0;

		while (used < n) {
			DdFrameKind kind;
			gsize mlen;

			used += dd_framer_feed(f, (const guint8 *)input + off + used, n - used, &kind);
			switch (kind) {
			case DD_FRAME_NONE:
				break;
			case DD_FRAME_MESSAGE: {
				const char *m = dd_framer_message(f, &mlen);

				g_assert_cmpuint(strlen(m), ==, mlen);
				g_ptr_array_add(out, g_strdup(m));
				break;
			}
			case DD_FRAME_TOO_BIG:
				g_ptr_array_add(out, g_strdup("<too big>"));
				break;
			case DD_FRAME_TOO_DEEP:
				g_ptr_array_add(out, g_strdup("<too deep>"));
				break;
			}
		}
		off += n;
	}
	return out;
}

static void
check(const char *input, gsize len, const char *const *expected, gsize max_size, guint depth)
{
	/* Every chunking gives the same frames. */
	static const gsize chunks[] = { 1, 2, 3, 7, 4096 };
	guint c, i;

	for (c = 0; c < G_N_ELEMENTS(chunks); c++) {
		g_autoptr(DdFramer) f = dd_framer_new(max_size, depth);
		g_autoptr(GPtrArray) got = frames_of(f, input, len, chunks[c]);

		for (i = 0; expected[i]; i++) {
			g_assert_cmpuint(i, <, got->len);
			g_assert_cmpstr(g_ptr_array_index(got, i), ==, expected[i]);
		}
		g_assert_cmpuint(got->len, ==, i);
	}
}

#define CHECK(input, ...) \
	check(input, sizeof(input) - 1, (const char *const[]){ __VA_ARGS__, NULL }, 65536, 32)

static void
test_simple(void)
{
	CHECK("{\"execute\":\"guest-ping\"}", "{\"execute\":\"guest-ping\"}");
	/* No delimiter between messages; whitespace between them is dropped. */
	CHECK(" {\"a\":1}{\"b\":[2]}\n\t{}", "{\"a\":1}", "{\"b\":[2]}", "{}");
	CHECK("[1,{\"x\":[]}] ", "[1,{\"x\":[]}]");
}

static void
test_strings(void)
{
	/* Braces and escaped quotes inside strings do not count. */
	CHECK("{\"a\":\"}{[\\\"]\"}{}", "{\"a\":\"}{[\\\"]\"}", "{}");
	CHECK("{\"a\":\"\\\\\"}x", "{\"a\":\"\\\\\"}");
}

static void
test_bare_tokens(void)
{
	/* Scalars and stray closers at top level are frames of their own. */
	CHECK("123 true{}\"s t\"} ", "123", "true", "{}", "\"s t\"", "}");
}

static void
test_reset(void)
{
	/* 0xFF and control characters drop the partial message silently. */
	CHECK("{\"exec\xff{\"a\":1}", "{\"a\":1}");
	CHECK("{\"a\":\x01{}", "{}");
	CHECK("{\"a\":1\x1b{}", "{}");
	CHECK("\xff\xff{}\xff", "{}");
	/* Tab, CR and LF are ordinary whitespace. */
	CHECK("{\t\"a\"\r\n:1}", "{\t\"a\"\r\n:1}");
}

static void
test_partial_then_reset(void)
{
	g_autoptr(DdFramer) f = dd_framer_new(100, 8);
	DdFrameKind kind;
	const char *part = "{\"execute\":\"gue";

	g_assert_cmpuint(dd_framer_feed(f, (const guint8 *)part, strlen(part), &kind), ==, strlen(part));
	g_assert_cmpint(kind, ==, DD_FRAME_NONE);
	g_assert_false(dd_framer_idle(f));
	dd_framer_reset(f);
	g_assert_true(dd_framer_idle(f));
	g_assert_cmpuint(dd_framer_feed(f, (const guint8 *)"{}", 2, &kind), ==, 2);
	g_assert_cmpint(kind, ==, DD_FRAME_MESSAGE);
	g_assert_cmpstr(dd_framer_message(f, NULL), ==, "{}");
}

static void
test_too_big(void)
{
	g_autofree char *big = NULL;
	g_autoptr(GString) s = g_string_new("{\"a\":\"");
	g_autoptr(DdFramer) f = dd_framer_new(16, 32);
	g_autoptr(GPtrArray) got = NULL;
	guint i;

	/* Exactly at the limit passes, one byte more does not. */
	check("{\"a\":\"123456789\"}", 17, (const char *const[]){ "<too big>", NULL }, 16, 32);
	check("{\"a\":\"12345678\"}", 16, (const char *const[]){ "{\"a\":\"12345678\"}", NULL }, 16, 32);

	/* One error, the rest skipped (braces in its strings too), then normal. */
	for (i = 0; i < 1000; i++)
		g_string_append(s, "}{x");
	g_string_append(s, "\",\"b\":{}}{\"c\":1}");
	got = frames_of(f, s->str, s->len, 5);
	g_assert_cmpuint(got->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(got, 0), ==, "<too big>");
	g_assert_cmpstr(g_ptr_array_index(got, 1), ==, "{\"c\":1}");

	/* A huge message does not grow the framer past its limit. */
	big = g_strnfill(1 << 20, 'x');
	big[0] = '"';
	g_clear_pointer(&got, g_ptr_array_unref);
	got = frames_of(f, big, 1 << 20, 4096);
	g_assert_cmpuint(got->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(got, 0), ==, "<too big>");
	g_assert_false(dd_framer_idle(f));
	g_clear_pointer(&got, g_ptr_array_unref);
	got = frames_of(f, "\" {}", 4, 4);
	g_assert_cmpuint(got->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(got, 0), ==, "{}");
}

static void
test_too_deep(void)
{
	check("[[[]]]{}", 8, (const char *const[]){ "[[[]]]", "{}", NULL }, 100, 3);
	check("[[[[\"]\"]]]]{}", 13, (const char *const[]){ "<too deep>", "{}", NULL }, 100, 3);
	/* Resync inside a skipped message. */
	check("[[[[[\xff{}", 8, (const char *const[]){ "<too deep>", "{}", NULL }, 100, 3);
}

/* Asking for a message when none is complete is a programming error. */
static void
test_message_without_frame(void)
{
	if (g_test_subprocess()) {
		g_autoptr(DdFramer) f = dd_framer_new(100, 8);
		DdFrameKind kind;

		dd_framer_feed(f, (const guint8 *)"{", 1, &kind);
		dd_framer_message(f, NULL);
		return;
	}
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_failed();
	g_test_trap_assert_stderr("*have_msg*");
}

int
main(int argc, char **argv)
{
	test_init(&argc, &argv);
	g_test_add_func("/framer/simple", test_simple);
	g_test_add_func("/framer/strings", test_strings);
	g_test_add_func("/framer/bare-tokens", test_bare_tokens);
	g_test_add_func("/framer/reset", test_reset);
	g_test_add_func("/framer/partial-then-reset", test_partial_then_reset);
	g_test_add_func("/framer/too-big", test_too_big);
	g_test_add_func("/framer/too-deep", test_too_deep);
	g_test_add_func("/framer/message-without-frame", test_message_without_frame);
	return test_run();
}
