/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_perm.c: segment permissions (segd/perm.c).
 *
 * Unix rules: the owner bits if the caller's uid is the owner's, else the
 * group bits if the caller's primary or any supplementary group is the
 * segment's, else the other bits; root may do anything.  Attaching and
 * opening data ask for read-write, writing ctl for write, reading for read.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "segd.h"

#define OWNER 1000
#define GROUP 2000
#define RD    SEGW_RD
#define WR    SEGW_WR
#define RW    (SEGW_RD | SEGW_WR)

static struct segment seg;
static struct cred who;
static struct segerr err;

static void
setup(void)
{
	memset(&seg, 0, sizeof seg);
	strcpy(seg.name, "example");
	seg.uid = OWNER;
	seg.gid = GROUP;
	seg.mode = 0640;
	seg.fd = -1;
	memset(&who, 0, sizeof who);
	who.pid = 1;
	memset(&err, 0, sizeof err);
}

static const struct ck_fix fix = { .setup = setup };

static void
as(uid_t uid, gid_t gid)
{
	who.uid = uid;
	who.gid = gid;
	who.ngroups = 0;
}

static int
ok(mode_t mode, int want)
{
	return perm_ok(&who, seg.uid, seg.gid, mode, want);
}

/* ---- owner ---- */

START_TEST(owner_bits)
{
	as(OWNER, 9999);
	ck_assert(ok(0600, RD) && ok(0600, WR) && ok(0600, RW));
	ck_assert(ok(0400, RD) && !ok(0400, WR) && !ok(0400, RW));
	ck_assert(!ok(0200, RD) && ok(0200, WR) && !ok(0200, RW));
	ck_assert(!ok(0100, RD) && !ok(0100, WR) && !ok(0100, RW));
	ck_assert(!ok(0000, RD) && !ok(0000, WR) && !ok(0000, RW));
	ck_assert(ok(0700, RW));
}
END_TEST

/* The owner gets the owner bits only, even where group or other allow more. */
START_TEST(owner_not_widened)
{
	as(OWNER, GROUP);
	ck_assert(!ok(0066, RD));
	ck_assert(!ok(0066, WR));
	ck_assert(!ok(0466, RW));
	ck_assert(!ok(0077, RW));
	ck_assert(ok(0477, RD));
}
END_TEST

/* ---- group ---- */

START_TEST(group_primary)
{
	as(3000, GROUP);
	ck_assert(ok(0060, RD) && ok(0060, WR) && ok(0060, RW));
	ck_assert(ok(0040, RD) && !ok(0040, WR) && !ok(0040, RW));
	ck_assert(!ok(0020, RD) && ok(0020, WR) && !ok(0020, RW));
	ck_assert(!ok(0600, RD) && !ok(0600, WR));
}
END_TEST

/* A member of the group gets the group bits, not the other bits. */
START_TEST(group_not_widened)
{
	as(3000, GROUP);
	ck_assert(!ok(0606, RD));
	ck_assert(!ok(0646, RW));
	ck_assert(ok(0646, RD));
}
END_TEST

START_TEST(group_supplementary)
{
	as(3000, 4000);
	ck_assert(!ok(0060, RW));		/* not a member yet */
	who.ngroups = 3;
	who.groups[0] = 10;
	who.groups[1] = GROUP;
	who.groups[2] = 20;
	ck_assert(ok(0060, RW));
	ck_assert(ok(0040, RD) && !ok(0040, WR));
	ck_assert(!ok(0606, RD));		/* group bits, not other */
}
END_TEST

/* The last slot counts; slots past ngroups do not. */
START_TEST(group_list_bounds)
{
	int i;

	as(3000, 4000);
	for (i = 0; i < SEGD_MAXGROUPS; i++)
		who.groups[i] = (gid_t)(5000 + i);
	who.groups[SEGD_MAXGROUPS - 1] = GROUP;
	who.ngroups = SEGD_MAXGROUPS;
	ck_assert(ok(0060, RW));
	who.ngroups = SEGD_MAXGROUPS - 1;
	ck_assert(!ok(0060, RW));
	ck_assert(ok(0066, RW));		/* now other */
	who.ngroups = 0;
	who.groups[0] = GROUP;
	ck_assert(!ok(0060, RD));
}
END_TEST

/* ---- other ---- */

START_TEST(other_bits)
{
	as(3000, 4000);
	ck_assert(ok(0006, RD) && ok(0006, WR) && ok(0006, RW));
	ck_assert(ok(0004, RD) && !ok(0004, WR) && !ok(0004, RW));
	ck_assert(!ok(0002, RD) && ok(0002, WR) && !ok(0002, RW));
	ck_assert(!ok(0660, RD) && !ok(0660, WR) && !ok(0660, RW));
	ck_assert(!ok(0001, RD));
	ck_assert(ok(0777, RW));
}
END_TEST

/* ---- root ---- */

START_TEST(root_may_do_anything)
{
	as(0, 0);
	ck_assert(ok(0000, RD) && ok(0000, WR) && ok(0000, RW));
	as(0, 4000);
	ck_assert(ok(0000, RW));
}
END_TEST

/* gid 0 alone is no privilege. */
START_TEST(group_root_is_not_root)
{
	as(3000, 0);
	ck_assert(!ok(0660, RD));
	ck_assert(!ok(0000, RW));
	who.ngroups = 1;
	who.groups[0] = 0;
	ck_assert(!ok(0660, RD));
}
END_TEST

/* A root-owned segment is not open to everyone. */
START_TEST(root_owned_segment)
{
	ck_assert(!perm_ok(&(struct cred){ .uid = 3000, .gid = 4000 }, 0, 0,
	    0600, RD));
	ck_assert(perm_ok(&(struct cred){ .uid = 3000, .gid = 0 }, 0, 0,
	    0640, RD));
}
END_TEST

/*
 * Every mode, every class of caller, every request, against the rule
 * written with <sys/stat.h>'s constants.
 */
START_TEST(exhaustive)
{
	static const struct { uid_t uid; gid_t gid; int sup; } callers[] = {
		{ OWNER, GROUP, 0 },	/* owner, also in group */
		{ OWNER, 9, 0 },	/* owner */
		{ 3000, GROUP, 0 },	/* group, primary */
		{ 3000, 9, 1 },		/* group, supplementary */
		{ 3000, 9, 0 },		/* other */
		{ 0, 9, 0 },		/* root */
	};
	static const int wants[] = { RD, WR, RW };
	mode_t mode;
	size_t c, w;

	for (c = 0; c < sizeof callers / sizeof callers[0]; c++) {
		as(callers[c].uid, callers[c].gid);
		if (callers[c].sup) {
			who.ngroups = 2;
			who.groups[0] = 7;
			who.groups[1] = GROUP;
		}
		for (mode = 0; mode <= 0777; mode++)
			for (w = 0; w < 3; w++) {
				int want = wants[w], r, wr;
				mode_t rb, wb;

				if (callers[c].uid == 0) {
					ck_assert(ok(mode, want));
					continue;
				}
				if (callers[c].uid == OWNER)
					rb = S_IRUSR, wb = S_IWUSR;
				else if (callers[c].gid == GROUP || callers[c].sup)
					rb = S_IRGRP, wb = S_IWGRP;
				else
					rb = S_IROTH, wb = S_IWOTH;
				r = !(want & RD) || (mode & rb);
				wr = !(want & WR) || (mode & wb);
				ck_assert_msg(ok(mode, want) == (r && wr),
				    "caller %zu mode %04o want %d", c, (unsigned)mode,
				    want);
			}
	}
}
END_TEST

/* ---- perm_check: the refusal ---- */

START_TEST(check_allows_silently)
{
	as(OWNER, GROUP);
	seg.mode = 0600;
	ck_assert_int_eq(perm_check(&who, &seg, RW, &err), 0);
	ck_assert_int_eq(err.code, 0);
	ck_assert_str_eq(err.msg, "");
}
END_TEST

START_TEST(check_refusal_read_write)
{
	as(3001, 4000);
	seg.mode = 0644;
	ck_assert_int_eq(perm_check(&who, &seg, RW, &err), -1);
	ck_assert_int_eq(err.code, EACCES);
	ck_assert_msg(strncmp(err.msg, "permission denied", 17) == 0, "%s",
	    err.msg);
	ck_assert_ptr_nonnull(strstr(err.msg, "read-write"));
	ck_assert_ptr_nonnull(strstr(err.msg, "'example'"));
	ck_assert_ptr_nonnull(strstr(err.msg, "0644"));
	ck_assert_ptr_nonnull(strstr(err.msg, "1000:2000"));
	ck_assert_ptr_nonnull(strstr(err.msg, "uid 3001"));
}
END_TEST

/* One access allowed, the other refused: EACCES, and a message saying so. */
static void
only_allowed(int allowed, int refused, const char *says)
{
	ck_assert_int_eq(perm_check(&who, &seg, allowed, &err), 0);
	ck_assert_int_eq(perm_check(&who, &seg, refused, &err), -1);
	ck_assert_int_eq(err.code, EACCES);
	ck_assert_ptr_nonnull(strstr(err.msg, says));
}

START_TEST(check_refusal_write)
{
	as(3001, GROUP);
	seg.mode = 0640;
	only_allowed(RD, WR, "permission denied: write access");
}
END_TEST

START_TEST(check_refusal_read)
{
	as(3001, 4000);
	seg.mode = 0602;
	only_allowed(WR, RD, "permission denied: read access");
	ck_assert_ptr_nonnull(strstr(err.msg, "0602"));
}
END_TEST

/* A long name still gives a whole, terminated message. */
START_TEST(check_refusal_long_name)
{
	as(3001, 4000);
	memset(seg.name, 'n', SEG_NAMEMAX);
	seg.name[SEG_NAMEMAX] = '\0';
	seg.mode = 0;
	ck_assert_int_eq(perm_check(&who, &seg, RW, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, seg.name));
	ck_assert_ptr_nonnull(strstr(err.msg, "uid 3001"));
}
END_TEST

START_TEST(check_root)
{
	as(0, 0);
	seg.mode = 0;
	ck_assert_int_eq(perm_check(&who, &seg, RW, &err), 0);
}
END_TEST

/* ---- cred_from_socket ---- */

START_TEST(cred_of_peer)
{
	int sv[2], n, i, j;
	gid_t groups[SEGD_MAXGROUPS];
	struct cred c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	memset(&c, 0xff, sizeof c);
	ck_assert_int_eq(cred_from_socket(sv[0], &c), 0);
	ck_assert_int_eq(c.pid, getpid());
	ck_assert_uint_eq(c.uid, getuid());
	ck_assert_uint_eq(c.gid, getgid());
	n = getgroups(SEGD_MAXGROUPS, groups);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(c.ngroups, n);
	for (i = 0; i < n; i++) {
		for (j = 0; j < c.ngroups; j++)
			if (c.groups[j] == groups[i])
				break;
		ck_assert_msg(j < c.ngroups, "group %u missing", (unsigned)groups[i]);
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(cred_not_a_socket)
{
	struct cred c;
	int fd[2];

	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(cred_from_socket(fd[0], &c), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(fd[0]);
	close(fd[1]);
	ck_assert_int_eq(cred_from_socket(-1, &c), -1);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "perm_ok", &fix, 0, owner_bits, owner_not_widened,
	    group_primary, group_not_widened, group_supplementary,
	    group_list_bounds, other_bits, root_may_do_anything,
	    group_root_is_not_root, root_owned_segment, exhaustive, NULL);
	ck_tcase(s, "perm_check", &fix, 0, check_allows_silently,
	    check_refusal_read_write, check_refusal_write, check_refusal_read,
	    check_refusal_long_name, check_root, NULL);
	ck_tcase(s, "cred", NULL, 0, cred_of_peer, cred_not_a_socket, NULL);
}
