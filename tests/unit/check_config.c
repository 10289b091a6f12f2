/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_config.c: segd's configuration file (segd/config.c).
 *
 * `key = value` lines, '#' comments and blank lines; every key once, every
 * value checked as the option's is; the first bad line is an error naming
 * the file and the line, and leaves nothing half parsed.  conf_load bounds
 * what it reads and tells a missing file from a required one.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "segd.h"

static struct conf conf;
static struct segerr err;
static char dir[96];

static void
setup(void)
{
	memset(&conf, 0xa5, sizeof conf);
	memset(&err, 0, sizeof err);
	ck_mkdtemp(dir, sizeof dir, "check_config");
}

static void
teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct ck_fix fix = { .setup = setup, .teardown = teardown };

static int
parse(const char *text)
{
	return conf_parse(&conf, "t.conf", text, strlen(text), &err);
}

/* text is refused with exactly msg, and conf is left empty. */
static void
refused(const char *text, const char *msg)
{
	static const struct conf zero;

	ck_assert_msg(parse(text) == -1, "accepted: %s", text);
	ck_assert_int_eq(err.code, EINVAL);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_msg(memcmp(&conf, &zero, sizeof conf) == 0,
	    "a refused file left values behind: %s", text);
}

START_TEST(every_key)
{
	ck_assert_int_eq(parse(
	    "# segd.conf\n"
	    "socket = /run/segd/segd.sock\n"
	    "statedir=/run/segd/segments\n"
	    "  maxsegs\t=\t1000  \n"
	    "maxbytes = 0x40000000\n"
	    "listen = 10.0.0.1:7451\n"
	    "device = rxe0\n"
	    "node = alpha.1\n"
	    "deadline = 250\n"
	    "mount = /mnt/seg\n"
	    "verbose = yes\n"
	    "foreground = off\n"
	    "ticket = 0\n"
	    "key = /etc/segd/key\n"
	    "heartbeat = 1500\n"), 0);
	ck_assert_uint_eq(conf.set, (1u << CONF_NKEYS) - 1);
	ck_assert_str_eq(conf.str[CONF_KEY], "/etc/segd/key");
	ck_assert_uint_eq(conf.ticket_ms, 0);
	ck_assert_uint_eq(conf.heartbeat_ms, 1500);
	ck_assert_str_eq(conf.str[CONF_SOCKET], "/run/segd/segd.sock");
	ck_assert_str_eq(conf.str[CONF_STATEDIR], "/run/segd/segments");
	ck_assert_uint_eq(conf.maxsegs, 1000);
	ck_assert_uint_eq(conf.maxbytes, 0x40000000);
	ck_assert_str_eq(conf.str[CONF_LISTEN], "10.0.0.1:7451");
	ck_assert_str_eq(conf.str[CONF_DEVICE], "rxe0");
	ck_assert_str_eq(conf.str[CONF_NODE], "alpha.1");
	ck_assert_uint_eq(conf.deadline_ms, 250);
	ck_assert_str_eq(conf.str[CONF_MOUNT], "/mnt/seg");
	ck_assert_int_eq(conf.verbose, 1);
	ck_assert_int_eq(conf.foreground, 0);
}
END_TEST

START_TEST(blank_comments_crlf)
{
	ck_assert_int_eq(parse("\n   \n\t# maxsegs = x\n#\n\r\n"), 0);
	ck_assert_uint_eq(conf.set, 0);
	/* CRLF line ends, and a last line without one */
	ck_assert_int_eq(parse("maxsegs = 7\r\nverbose = 0\r\nmount = /a b"), 0);
	ck_assert_uint_eq(conf.set, (1u << CONF_MAXSEGS) | (1u << CONF_VERBOSE) |
	    (1u << CONF_MOUNT));
	ck_assert_uint_eq(conf.maxsegs, 7);
	ck_assert_int_eq(conf.verbose, 0);
	ck_assert_str_eq(conf.str[CONF_MOUNT], "/a b");	/* inner blanks kept */
	ck_assert_int_eq(parse(""), 0);
	ck_assert_uint_eq(conf.set, 0);
}
END_TEST

START_TEST(booleans)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	char line[64];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(line, sizeof line, "foreground = %s\n", yes[i]);
		ck_assert_int_eq(parse(line), 0);
		ck_assert_int_eq(conf.foreground, 1);
		snprintf(line, sizeof line, "foreground = %s\n", no[i]);
		ck_assert_int_eq(parse(line), 0);
		ck_assert_int_eq(conf.foreground, 0);
	}
	refused("verbose = maybe\n", "t.conf:1: verbose: 'maybe' is not yes or no");
	refused("verbose = YES\n", "t.conf:1: verbose: 'YES' is not yes or no");
}
END_TEST

START_TEST(number_bounds)
{
	ck_assert_int_eq(parse("maxsegs = 16777216\ndeadline = 10\n"
	    "maxbytes = 18446744073709551615\n"), 0);
	ck_assert_uint_eq(conf.maxsegs, 1u << 24);
	ck_assert_uint_eq(conf.deadline_ms, 10);
	ck_assert_uint_eq(conf.maxbytes, UINT64_MAX);
	refused("maxsegs = 0\n",
	    "t.conf:1: maxsegs: '0' is not a number from 1 to 16777216");
	refused("\nmaxsegs = 16777217\n",
	    "t.conf:2: maxsegs: '16777217' is not a number from 1 to 16777216");
	refused("maxsegs = 12x\n",
	    "t.conf:1: maxsegs: '12x' is not a number from 1 to 16777216");
	refused("maxsegs = -1\n",
	    "t.conf:1: maxsegs: '-1' is not a number from 1 to 16777216");
	refused("maxsegs = 1 2\n",
	    "t.conf:1: maxsegs: '1 2' is not a number from 1 to 16777216");
	refused("maxbytes = 18446744073709551616\n",
	    "t.conf:1: maxbytes: '18446744073709551616' is not a number from 1 "
	    "to 18446744073709551615");
	refused("deadline = 9\n",
	    "t.conf:1: deadline: '9' is not a number from 10 to 3600000");
	refused("deadline = 3600001\n",
	    "t.conf:1: deadline: '3600001' is not a number from 10 to 3600000");
	refused("heartbeat = 600001\n",
	    "t.conf:1: heartbeat: '600001' is not a number from 0 to 600000");
	refused("deadline = 0x\n",
	    "t.conf:1: deadline: '0x' is not a number from 10 to 3600000");
}
END_TEST

START_TEST(malformed_lines)
{
	refused("maxsegs 10\n", "t.conf:1: no '=': lines are key = value");
	refused("# ok\nverbose\n", "t.conf:2: no '=': lines are key = value");
	refused("maxseg = 1\n", "t.conf:1: unknown key 'maxseg'");
	refused("Verbose = yes\n", "t.conf:1: unknown key 'Verbose'");
	refused("= 3\n", "t.conf:1: unknown key ''");
	refused("max segs = 3\n", "t.conf:1: unknown key 'max segs'");
	refused("mount =\n", "t.conf:1: mount: no value");
	refused("mount =   \t\n", "t.conf:1: mount: no value");
	refused("verbose = yes\nmaxsegs = 3\n\nverbose = no\n",
	    "t.conf:4: duplicate key 'verbose' (first on line 1)");
	refused("node = a\001b\n", "t.conf:1: control character (byte 0x1) in "
	    "line");
	refused("node = a\rb\n", "t.conf:1: control character (byte 0xd) in "
	    "line");
}
END_TEST

START_TEST(nul_byte)
{
	static const char text[] = "maxsegs = 1\nnode = a\0b\n";

	ck_assert_int_eq(conf_parse(&conf, "t.conf", text, sizeof text - 1,
	    &err), -1);
	ck_assert_str_eq(err.msg, "t.conf:2: control character (byte 0) in line");
	ck_assert_uint_eq(conf.set, 0);
}
END_TEST

START_TEST(overlong_line)
{
	char *text = malloc(4 * CONF_LINEMAX);
	size_t n;

	ck_assert_ptr_nonnull(text);
	/* 1023 bytes and a newline: the longest line there may be */
	n = (size_t)snprintf(text, 64, "mount = /");
	memset(text + n, 'a', CONF_LINEMAX - 1 - n);
	text[CONF_LINEMAX - 1] = '\n';
	text[CONF_LINEMAX] = '\0';
	ck_assert_int_eq(parse(text), 0);
	ck_assert_uint_eq(strlen(conf.str[CONF_MOUNT]), CONF_LINEMAX - 1 - 8);
	/* one byte more, on the second line */
	n = (size_t)snprintf(text, 64, "\nmount = /");
	memset(text + n, 'a', CONF_LINEMAX + 1 - n);
	text[CONF_LINEMAX + 1] = '\n';
	text[CONF_LINEMAX + 2] = '\0';
	ck_assert_uint_eq(strlen(text), CONF_LINEMAX + 2);
	refused(text, "t.conf:2: line longer than 1023 bytes");
	free(text);
}
END_TEST

START_TEST(bad_values)
{
	char sock[160];

	refused("statedir = run/segd\n",
	    "t.conf:1: statedir: 'run/segd' is not an absolute path");
	refused("mount = ./m\n", "t.conf:1: mount: './m' is not an absolute path");
	refused("key = segd.key\n",
	    "t.conf:1: key: 'segd.key' is not an absolute path");
	refused("socket = s.sock\n",
	    "t.conf:1: socket: 's.sock' is not an absolute path");
	snprintf(sock, sizeof sock, "socket = /%0108d\n", 0);
	refused(sock, "t.conf:1: socket: path longer than 107 bytes");
	refused("node = a/b\n", "t.conf:1: node: bad node name 'a/b': use 1 to "
	    "64 of [A-Za-z0-9._-]");
	refused("node = ..\n", "t.conf:1: node: bad node name '..': use 1 to "
	    "64 of [A-Za-z0-9._-]");
	refused("listen = 10.0.0.1:0\n", "t.conf:1: listen: '10.0.0.1:0': bad port");
	refused("listen = 10.0.0.1:99999\n",
	    "t.conf:1: listen: '10.0.0.1:99999': bad port");
	refused("listen = [::1\n", "t.conf:1: listen: '[::1': bad address");
	refused("device = rxe 0\n", "t.conf:1: device: 'rxe 0' is not a device "
	    "name");
}
END_TEST

START_TEST(first_error_wins)
{
	refused("maxsegs = 1\nbogus = 2\nmaxsegs = 3\n",
	    "t.conf:2: unknown key 'bogus'");
}
END_TEST

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

START_TEST(load_files)
{
	char path[160], want[320];

	/* missing: fine unless required (segd -c) */
	snprintf(path, sizeof path, "%s/none.conf", dir);
	ck_assert_int_eq(conf_load(&conf, path, 0, &err), 0);
	ck_assert_uint_eq(conf.set, 0);
	ck_assert_int_eq(conf_load(&conf, path, 1, &err), -1);
	ck_assert_int_eq(err.code, ENOENT);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	ck_assert_str_eq(err.msg, want);
	/* a directory is not a configuration file */
	ck_assert_int_eq(conf_load(&conf, dir, 0, &err), -1);
	snprintf(want, sizeof want, "%s: not a regular file", dir);
	ck_assert_str_eq(err.msg, want);
	/* a good one, and a bad one named by its path */
	snprintf(path, sizeof path, "%s/segd.conf", dir);
	write_file(path, "maxsegs = 9\n", 12);
	ck_assert_int_eq(conf_load(&conf, path, 1, &err), 0);
	ck_assert_uint_eq(conf.maxsegs, 9);
	write_file(path, "maxsegs = 9\nmaxsegs 9\n", 22);
	ck_assert_int_eq(conf_load(&conf, path, 0, &err), -1);
	snprintf(want, sizeof want, "%s:2: no '=': lines are key = value", path);
	ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(load_too_big)
{
	char path[160], want[320], *big = malloc(CONF_FILEMAX + 1);

	ck_assert_ptr_nonnull(big);
	snprintf(path, sizeof path, "%s/big.conf", dir);
	memset(big, '\n', CONF_FILEMAX + 1);
	write_file(path, big, CONF_FILEMAX);		/* the largest allowed */
	ck_assert_int_eq(conf_load(&conf, path, 1, &err), 0);
	write_file(path, big, CONF_FILEMAX + 1);
	ck_assert_int_eq(conf_load(&conf, path, 1, &err), -1);
	ck_assert_int_eq(err.code, EFBIG);
	snprintf(want, sizeof want, "%s: larger than 65536 bytes", path);
	ck_assert_str_eq(err.msg, want);
	free(big);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "parse", &fix, 0, every_key, blank_comments_crlf, booleans,
	    number_bounds, malformed_lines, nul_byte, overlong_line, bad_values,
	    first_error_wins, NULL);
	ck_tcase(s, "load", &fix, 0, load_files, load_too_big, NULL);
}
