/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_fs.c: the segment file system (segd -m MOUNTPOINT) against a real
 * segd: the spec's example verbatim, every file operation's error path,
 * permissions for another uid, remove semantics, the free file, one memory
 * seen through FUSE and through attach, large requests, the mount going
 * away with segd, and a segd killed with the mount alive.
 *
 * Needs FUSE: /dev/fuse, and root (the mount is allow_other so that the
 * other-uid tests reach it).  Without them every test fails with the reason.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "seg.h"

#define UNALLOC "segment not yet allocated"

/*
 * The mount point is h_dir/mnt (other users reach it).  A test that fails
 * leaves its segd killed and its mount stale: the harness unmounts what is
 * left under the test's and the run's folders.
 */
/* ---- fixture: segd with -m ---- */

static int
is_mounted(const char *path)
{
	char line[4096], mp[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    strcmp(mp, path) == 0)
			found = 1;
	fclose(f);
	return found;
}

/* ---- helpers ---- */

/* write a whole string to a file of the mount: 0, or -1 with errno */
static int
put(const char *rel, const char *s)
{
	int fd = open(h_mnt_path(rel), O_WRONLY | O_TRUNC), err;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static void
become_nobody(void)
{
	uid_t u = h_nobody_uid();

	H_CCHECK(setgroups(0, NULL) == 0 && setgid((gid_t)u) == 0 &&
	    setuid(u) == 0, "cannot become uid %u: %s", (unsigned)u,
	    strerror(errno));
}

/* ---- the spec's example, verbatim ---- */

START_TEST(spec_example)
{
	char script[4 * H_PATHMAX + 256], buf[256];
	struct h_run r;
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	char *va;

	/* the shell lines of segment(3)'s EXAMPLE, with this test's mount */
	snprintf(script, sizeof script,
	    "mkdir %s/example\n"
	    "echo 'va 0x10000000 0x100000' > %s/example/ctl\n"
	    "echo -n hi mom > %s/example/data\n", h_mnt, h_mnt, h_mnt);
	ck_assert_msg(h_runv(&r, NULL, 0, argv) == 0, "the example failed: %s",
	    r.err);
	h_run_free(&r);

	/* a libseg program attaches it and finds "hi mom" at 0x10000000 */
	va = seg_attach(0, "example", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	ck_assert_ptr_eq(va, (void *)0x10000000);
	ck_assert_int_eq(memcmp(va, "hi mom", 6), 0);
	ck_assert_int_eq(va[6], 0);
	ck_assert_int_eq(seg_detach(va), 0);

	/* cat ctl: the actual address and length */
	snprintf(script, sizeof script, "cat %s/example/ctl", h_mnt);
	ck_assert_int_eq(h_runv(&r, NULL, 0, argv), 0);
	ck_assert_str_eq(r.out, "va 0x10000000 0x100000\n");
	h_run_free(&r);

	/* the file system is a view: libseg sees the same segment */
	ck_assert_int_eq(seg_ctl_read("example", buf, sizeof buf) > 0, 1);
	ck_assert_str_eq(buf, "va 0x10000000 0x100000\n");
}
END_TEST

/* ---- the tree ---- */

static int
dir_has(const char *path, const char *name)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int found = 0;

	ck_assert_msg(d != NULL, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, name) == 0)
			found = 1;
	closedir(d);
	return found;
}

START_TEST(tree_is_a_view)
{
	struct seg_info si;
	struct stat st;

	/* made by libseg: seen in the tree, with its three files */
	ck_assert_int_eq(seg_create("bylib", 0640), 0);
	ck_assert(dir_has(h_mnt, "bylib"));
	ck_assert(dir_has(h_mnt_path("bylib"), "ctl"));
	ck_assert(dir_has(h_mnt_path("bylib"), "data"));
	ck_assert(dir_has(h_mnt_path("bylib"), "free"));
	ck_assert_int_eq(stat(h_mnt_path("bylib"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(stat(h_mnt_path("bylib/data"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(st.st_size, 0);	/* no length before ctl */
	ck_assert_int_eq(seg_ctl("bylib", "addr 0 0x3000"), 0);
	ck_assert_int_eq(stat(h_mnt_path("bylib/data"), &st), 0);
	ck_assert_int_eq(st.st_size, 0x3000);	/* data's size: the length */

	/* made by mkdir: seen by libseg with mkdir's mode and our uid */
	ck_assert_int_eq(mkdir(h_mnt_path("bymkdir"), 0604), 0);
	ck_assert_int_eq(seg_stat("bymkdir", &si), 0);
	ck_assert_uint_eq(si.mode, 0604);
	ck_assert_uint_eq(si.uid, getuid());
	ck_assert_uint_eq(si.gid, getgid());
	ck_assert_int_eq(mkdir(h_mnt_path("bymkdir"), 0600), -1);
	ck_assert_int_eq(errno, EEXIST);

	/* removed by libseg: gone from the tree at once */
	ck_assert_int_eq(seg_remove("bylib"), 0);
	ck_assert(!dir_has(h_mnt, "bylib"));
	ck_assert_int_eq(stat(h_mnt_path("bylib"), &st), -1);
	ck_assert_int_eq(errno, ENOENT);

	/* no other files or directories can be made */
	ck_assert_int_eq(open(h_mnt_path("bymkdir/other"), O_WRONLY | O_CREAT, 0600), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(mkdir(h_mnt_path("bymkdir/sub"), 0700), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(rename(h_mnt_path("bymkdir"), h_mnt_path("other")), -1);
	ck_assert_int_eq(errno, EPERM);
	/* a bad segment name */
	ck_assert_int_eq(mkdir(h_mnt_path("bad name"), 0600), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- error paths ---- */

START_TEST(ctl_twice)
{
	char buf[128];

	h_fs_mkseg("twice", 0600, "va 0x12000000 0x2000");
	ck_assert_int_eq(put("twice/ctl", "va 0x13000000 0x1000\n"), -1);
	ck_assert_int_eq(errno, EBUSY);
	H_LOG_HAS("already allocated");
	/* unchanged */
	ck_assert_int_eq(h_read_file(h_mnt_path("twice/ctl"), buf, sizeof buf), 21);
	ck_assert_str_eq(buf, "va 0x12000000 0x2000\n");
	/* the same message again is no exception */
	ck_assert_int_eq(put("twice/ctl", "va 0x12000000 0x2000\n"), -1);
	ck_assert_int_eq(errno, EBUSY);
}
END_TEST

START_TEST(data_unallocated)
{
	char buf[64];

	ck_assert_int_eq(mkdir(h_mnt_path("un"), 0600), 0);
	ck_assert_int_eq(open(h_mnt_path("un/data"), O_RDONLY), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_int_eq(open(h_mnt_path("un/data"), O_WRONLY), -1);
	ck_assert_int_eq(errno, ENXIO);
	H_LOG_HAS("open un/data: " UNALLOC);
	/* reading ctl before the address is set: the same error */
	ck_assert_int_eq(h_read_file(h_mnt_path("un/ctl"), buf, sizeof buf), -1);
	ck_assert_int_eq(errno, ENXIO);
	H_LOG_HAS("read un/ctl: " UNALLOC);
	/* and with an address, both work */
	ck_assert_int_eq(put("un/ctl", "addr 0 1"), 0);
	ck_assert_int_eq(h_read_file(h_mnt_path("un/data"), buf, sizeof buf), 63);
}
END_TEST

START_TEST(bad_ctl)
{
	static const char *bad[] = {
		"va 0x10000000",		/* missing field */
		"va 0x10000000 0x1000 7",	/* extra field */
		"vaa 0x10000000 0x1000",	/* unknown verb */
		"va zzz 0x1000",		/* not a number */
		"va 0x10000000 0",		/* zero length */
		"va 0xfffffffffffff000 0x2000",	/* wraps */
		"",				/* nothing */
	};
	struct seg_info si;
	size_t i;

	ck_assert_int_eq(mkdir(h_mnt_path("bad"), 0600), 0);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int fd = open(h_mnt_path("bad/ctl"), O_WRONLY);
		ssize_t n;
		ck_assert_int_ge(fd, 0);
		n = write(fd, bad[i], strlen(bad[i]) ? strlen(bad[i]) : 1);
		ck_assert_msg(n == -1 && errno == EINVAL, "'%s': write gave %zd "
		    "(%s), not EINVAL", bad[i], n, strerror(errno));
		close(fd);
	}
	H_LOG_HAS("bad ctl message");
	/* nothing was set */
	ck_assert_int_eq(seg_stat("bad", &si), 0);
	ck_assert_str_eq(si.verb, "-");
}
END_TEST

START_TEST(data_bounds)
{
	char buf[64];
	int fd;

	h_fs_mkseg("b", 0600, "addr 0 0x1000");
	fd = open(h_mnt_path("b/data"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	/* a write past the end is cut at the end */
	ck_assert_int_eq(pwrite(fd, "abcdef", 6, 0x1000 - 3), 3);
	ck_assert_int_eq(pread(fd, buf, sizeof buf, 0x1000 - 3), 3);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	/* one that starts at or past the end fails */
	ck_assert_int_eq(pwrite(fd, "x", 1, 0x1000), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_int_eq(pwrite(fd, "x", 1, 0x5000), -1);
	ck_assert_int_eq(errno, EFBIG);
	H_LOG_HAS("starts at or past the end of segment 'b'");
	/* reads stop at the end */
	ck_assert_int_eq(pread(fd, buf, sizeof buf, 0x1000), 0);
	ck_assert_int_eq(pread(fd, buf, sizeof buf, 0x9000), 0);
	/* any offset */
	ck_assert_int_eq(pwrite(fd, "mid", 3, 0x801), 3);
	ck_assert_int_eq(seg_pread("b", buf, 3, 0x801), 3);
	ck_assert_int_eq(memcmp(buf, "mid", 3), 0);
	/* O_TRUNC and ftruncate leave the segment as it is */
	close(fd);
	fd = open(h_mnt_path("b/data"), O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 10), 0);
	close(fd);
	ck_assert_int_eq(seg_pread("b", buf, 3, 0x801), 3);
	ck_assert_int_eq(memcmp(buf, "mid", 3), 0);
	ck_assert_int_eq(h_read_file(h_mnt_path("b/data"), buf, 2), 1);	/* still 0x1000 long */
}
END_TEST

START_TEST(rmdir_missing)
{
	ck_assert_int_eq(rmdir(h_mnt_path("nosuch")), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(open(h_mnt_path("nosuch/ctl"), O_RDONLY), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* a segment's files cannot go on their own, nor can other names */
	ck_assert_int_eq(mkdir(h_mnt_path("keep"), 0600), 0);
	ck_assert_int_eq(unlink(h_mnt_path("keep/other")), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- permissions ---- */

static void
denied_as_nobody(void *arg)
{
	int fd;

	(void)arg;
	become_nobody();
	fd = open(h_mnt_path("priv/data"), O_RDONLY);
	H_CCHECK(fd == -1 && errno == EACCES, "open data: %d (%s), not EACCES",
	    fd, strerror(errno));
	fd = open(h_mnt_path("priv/ctl"), O_WRONLY);
	H_CCHECK(fd == -1 && errno == EACCES, "open ctl for writing: %d (%s), "
	    "not EACCES", fd, strerror(errno));
	fd = open(h_mnt_path("priv/ctl"), O_RDONLY);
	H_CCHECK(fd == -1 && errno == EACCES, "open ctl: %d (%s), not EACCES",
	    fd, strerror(errno));
	H_CCHECK(access(h_mnt_path("priv/data"), R_OK) == -1 && errno == EACCES,
	    "access(data, R_OK) allowed");
	H_CCHECK(rmdir(h_mnt_path("priv")) == -1 && errno == EPERM, "rmdir of "
	    "another's segment: %s, not EPERM", strerror(errno));
	/* readable to others: reading works, writing does not */
	fd = open(h_mnt_path("pub/data"), O_RDONLY);
	H_CCHECK(fd >= 0, "open pub/data: %s", strerror(errno));
	close(fd);
	fd = open(h_mnt_path("pub/data"), O_RDWR);
	H_CCHECK(fd == -1 && errno == EACCES, "open pub/data O_RDWR: %d (%s)",
	    fd, strerror(errno));
	/* a segment of one's own: made with our uid, and ours to remove */
	H_CCHECK(mkdir(h_mnt_path("mine"), 0600) == 0, "mkdir mine: %s",
	    strerror(errno));
	fd = open(h_mnt_path("mine/ctl"), O_WRONLY);
	H_CCHECK(fd >= 0 && write(fd, "addr 0 1", 8) == 8, "ctl mine: %s",
	    strerror(errno));
	close(fd);
	H_CCHECK(rmdir(h_mnt_path("mine")) == 0, "rmdir mine: %s", strerror(errno));
}

START_TEST(permission_other_uid)
{
	struct seg_info si;

	h_fs_mkseg("priv", 0600, "addr 0 0x1000");
	h_fs_mkseg("pub", 0644, "addr 0 0x1000");
	CK_CHILD(denied_as_nobody, NULL);
	H_LOG_HAS("permission denied");
	ck_assert_int_eq(seg_stat("priv", &si), 0);	/* still there */
	ck_assert_int_eq(seg_stat("mine", &si), -1);
}
END_TEST

/* nobody, with group 0 among its supplementary groups or not */
static void
as_group_member(void *arg)
{
	int member = *(int *)arg, fd;
	uid_t u = h_nobody_uid();
	gid_t g0 = 0;

	H_CCHECK(setgroups(member ? 1 : 0, &g0) == 0 && setgid((gid_t)u) == 0 &&
	    setuid(u) == 0, "cannot become uid %u: %s", (unsigned)u,
	    strerror(errno));
	fd = open(h_mnt_path("grp/data"), O_RDWR);
	if (member)
		H_CCHECK(fd >= 0, "a member of the segment's group (as a "
		    "supplementary group) was refused: %s", strerror(errno));
	else
		H_CCHECK(fd == -1 && errno == EACCES, "a non-member was let in: "
		    "%d (%s)", fd, strerror(errno));
	if (fd >= 0)
		close(fd);
}

START_TEST(permission_group)
{
	int yes = 1, no = 0;
	struct stat st;

	umask(0);
	h_fs_mkseg("grp", 0660, "addr 0 0x1000");	/* root's group: 0 */
	ck_assert_int_eq(stat(h_mnt_path("grp/data"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	ck_assert_uint_eq(st.st_gid, 0);
	CK_CHILD(as_group_member, &yes);
	CK_CHILD(as_group_member, &no);
}
END_TEST

static void
mkdir_as_nobody(void *arg)
{
	(void)arg;
	become_nobody();
	umask(022);
	H_CCHECK(mkdir(h_mnt_path("nob"), 0777) == 0, "mkdir: %s", strerror(errno));
}

static void
chmod_not_mine(void *arg)
{
	(void)arg;
	become_nobody();
	H_CCHECK(chmod(h_mnt_path("priv2"), 0666) == -1 && errno == EPERM, "chmod of "
	    "another's segment: %s", strerror(errno));
}

START_TEST(mkdir_owner_and_mode)
{
	struct seg_info si;
	struct stat st;

	CK_CHILD(mkdir_as_nobody, NULL);
	ck_assert_int_eq(mkdir(h_mnt_path("priv2"), 0600), 0);
	ck_assert_int_eq(seg_stat("nob", &si), 0);
	ck_assert_uint_eq(si.uid, h_nobody_uid());
	ck_assert_uint_eq(si.mode, 0755);	/* mkdir's mode, under the umask */
	ck_assert_int_eq(stat(h_mnt_path("nob/ctl"), &st), 0);
	ck_assert_uint_eq(st.st_uid, h_nobody_uid());
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	/* chmod: the owner's (or root's) to change; the segment's mode */
	ck_assert_int_eq(chmod(h_mnt_path("nob/data"), 0600), 0);
	ck_assert_int_eq(seg_stat("nob", &si), 0);
	ck_assert_uint_eq(si.mode, 0600);
	ck_assert_int_eq(stat(h_mnt_path("nob"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(chown(h_mnt_path("nob/data"), 0, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	CK_CHILD(chmod_not_mine, NULL);
	/* root may remove anyone's */
	ck_assert_int_eq(rmdir(h_mnt_path("nob")), 0);
}
END_TEST

/* ---- remove ---- */

static int
ctl_ok(void *rel)
{
	return put(rel, "va 0x14000000 0x1000") == 0;
}

START_TEST(remove_keeps_memory)
{
	char script[H_PATHMAX + 64], buf[16];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct seg_info si;
	struct h_run r;
	char *va;
	int fd;

	h_fs_mkseg("gone", 0600, "va 0x14000000 0x2000");
	ck_assert_int_eq(put("gone/data", "still here"), 0);
	va = seg_attach(0, "gone", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	fd = open(h_mnt_path("gone/data"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	snprintf(script, sizeof script, "rmdir %s/gone", h_mnt);
	ck_assert_msg(h_runv(&r, NULL, 0, argv) == 0, "rmdir: %s", r.err);
	h_run_free(&r);
	/* the name is gone at once */
	ck_assert_int_eq(seg_stat("gone", &si), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!dir_has(h_mnt, "gone"));
	ck_assert_int_eq(access(h_mnt_path("gone/data"), F_OK), -1);
	/* attached memory and the open file keep working, and agree */
	ck_assert_int_eq(memcmp(va, "still here", 10), 0);
	memcpy(va + 100, "via memory", 10);
	ck_assert_int_eq(pread(fd, buf, 10, 100), 10);
	ck_assert_int_eq(memcmp(buf, "via memory", 10), 0);
	ck_assert_int_eq(pwrite(fd, "via fuse", 8, 200), 8);
	ck_assert_int_eq(memcmp(va + 200, "via fuse", 8), 0);
	/* a new segment of that name is a new one */
	ck_assert_int_eq(mkdir(h_mnt_path("gone"), 0600), 0);
	ck_assert_int_eq(put("gone/ctl", "va 0x14000000 0x1000"), -1);
	ck_assert_int_eq(errno, EADDRINUSE);	/* the old one still holds it */
	close(fd);
	ck_assert_int_eq(seg_detach(va), 0);
	/* the close's release reaches segd in the background: allow it */
	ck_assert_msg(h_until(ctl_ok, "gone/ctl", 5000), "ctl after the last "
	    "detach and close: %s", strerror(errno));
	ck_assert_int_eq(h_read_file(h_mnt_path("gone/data"), buf, 2), 1);
	ck_assert_int_eq(buf[0], 0);
}
END_TEST

/* ---- one memory: FUSE and attach ---- */

#define CONC_PAGES 64
#define PG 4096

static void
writer_fuse(void *arg)
{
	char page[PG];
	int fd = open(h_mnt_path("conc/data"), O_WRONLY), i, round;

	(void)arg;
	H_CCHECK(fd >= 0, "open: %s", strerror(errno));
	for (round = 0; round < 20; round++)
		for (i = 0; i < CONC_PAGES; i += 2) {
			memset(page, 'F' + (round & 1), PG);
			H_CCHECK(pwrite(fd, page, PG, (off_t)i * PG) == PG,
			    "pwrite: %s", strerror(errno));
		}
	close(fd);
}

/* through the attachment it inherited (segattach(2): fork keeps it) */
static void
writer_attach(void *arg)
{
	char *va = arg;
	int i, round;

	for (round = 0; round < 20; round++)
		for (i = 1; i < CONC_PAGES; i += 2)
			memset(va + (size_t)i * PG, 'M' + (round & 1), PG);
}

START_TEST(fuse_and_attach_one_memory)
{
	static char viafs[CONC_PAGES * PG];
	struct h_kid a, b;
	char *va;
	int fd, i;

	h_fs_mkseg("conc", 0600, "addr 0 0x40000");
	va = seg_attach(0, "conc", 0, 0);
	ck_assert_msg(va != NULL, "attach: %s", seg_errstr());
	fd = open(h_mnt_path("conc/data"), O_RDWR);
	ck_assert_int_ge(fd, 0);

	/* each write is seen at once the other way */
	for (i = 0; i < 300; i++) {
		char c = (char)i, got;
		va[7] = c;
		ck_assert_int_eq(pread(fd, &got, 1, 7), 1);
		ck_assert_int_eq(got, c);
		ck_assert_int_eq(pwrite(fd, &c, 1, 9), 1);
		ck_assert_int_eq(va[9], c);
	}

	/* two writers at once, one through the mount, one through memory */
	h_start(&a, writer_fuse, NULL);
	h_start(&b, writer_attach, va);
	h_finish_ok(&a, "FUSE writer");
	h_finish_ok(&b, "attach writer");
	ck_assert_int_eq(pread(fd, viafs, sizeof viafs, 0), (ssize_t)sizeof viafs);
	ck_assert_int_eq(memcmp(viafs, va, sizeof viafs), 0);
	for (i = 0; i < CONC_PAGES; i++)
		ck_assert_int_eq(va[(size_t)i * PG + 100], i % 2 ? 'N' : 'G');
	close(fd);
}
END_TEST

/* ---- large requests ---- */

static size_t
largest(const char *what)
{
	char *buf = h_log_read(), *p, key[64];
	size_t v = 0;

	snprintf(key, sizeof key, "%s, largest ", what);
	if ((p = strstr(buf, key)) != NULL)
		v = strtoul(p + strlen(key), NULL, 10);
	free(buf);
	return v;
}

START_TEST(large_requests)
{
	size_t len = 8u << 20;
	char *a = malloc(len), *b = malloc(len);
	size_t i;
	int fd;

	ck_assert(a != NULL && b != NULL);
	for (i = 0; i < len; i++)
		a[i] = (char)(i * 7 + i / 4096);
	h_fs_mkseg("big", 0600, "addr 0 0x800000");
	fd = open(h_mnt_path("big/data"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, a, len, 0), (ssize_t)len);
	ck_assert_int_eq(pread(fd, b, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(a, b, len), 0);
	ck_assert_int_eq(seg_pread("big", b, len, 0), (ssize_t)len);
	ck_assert_int_eq(memcmp(a, b, len), 0);
	close(fd);
	free(a);
	free(b);
	/* segd says at its stop how large the kernel's requests were */
	h_segd_stop();
	ck_assert_uint_eq(largest("writes"), 1u << 20);
	ck_assert_uint_eq(largest("reads"), 1u << 20);
	h_segd_start();
}
END_TEST

/* ---- the mount's life ---- */

static int
open_free(const char *name, int flags)
{
	char rel[128];

	snprintf(rel, sizeof rel, "%s/free", name);
	return open(h_mnt_path(rel), flags);
}

/* In a child: open NAME/free, say so, and read: it blocks (no address). */
static void
read_free_fails(void *arg)
{
	char buf[64];
	int fd = open_free(arg, O_RDONLY);

	H_CCHECK(fd >= 0, "open free: %s", strerror(errno));
	h_ready();
	H_CCHECK(read(fd, buf, sizeof buf) < 0, "read of free returned data");
}

START_TEST(unmounted_at_stop)
{
	struct h_kid k;

	ck_assert(is_mounted(h_mnt));
	ck_assert_int_eq(mkdir(h_mnt_path("stays"), 0600), 0);
	/* a read of free blocked when segd stops: answered, not left hanging */
	h_fs_mkseg("zq", 0600, "umsg 0 0x10000");
	h_start(&k, read_free_fails, "zq");
	ck_assert_msg(h_blocked_in_read(&k, -1, h_peer_ms()), "the reader of "
	    "free did not block in read");
	h_segd_stop();		/* segd exits 0, so frees all it held */
	ck_assert(!is_mounted(h_mnt));
	h_finish_ok(&k, "the blocked reader of free, at segd's stop");
	h_segd_start();		/* the segment is found again, and the tree */
	ck_assert(is_mounted(h_mnt));
	ck_assert(dir_has(h_mnt, "stays"));
}
END_TEST

START_TEST(live_mount_not_stolen)
{
	char sock[H_PATHMAX + 16], state[H_PATHMAX + 16];
	char *argv[] = { (char *)h_path("segd"), "-f", "-s", sock, "-d", state,
	    "-m", h_mnt, NULL };
	struct h_run r;

	snprintf(sock, sizeof sock, "%s/sock2", h_dir);
	snprintf(state, sizeof state, "%s/state2", h_dir);
	ck_assert_int_ne(h_runv(&r, NULL, 0, argv), 0);
	ck_assert_msg(strstr(r.err, "already mounted") != NULL, "stderr: %s",
	    r.err);
	h_run_free(&r);
	ck_assert_int_eq(mkdir(h_mnt_path("ok"), 0600), 0);	/* ours still serves */
}
END_TEST

static void
dead_mount_fails(void *arg)
{
	struct stat st;

	(void)arg;
	H_CCHECK(stat(h_mnt_path("k/data"), &st) == -1 && (errno == ENOTCONN ||
	    errno == ECONNABORTED), "stat on the dead mount: %s",
	    strerror(errno));
}

START_TEST(killed_segd_recovers)
{
	char buf[64];
	int st;

	h_fs_mkseg("k", 0600, "va 0x15000000 0x1000");
	ck_assert_int_eq(put("k/data", "alive"), 0);
	ck_assert_int_eq(kill(h_segd, SIGKILL), 0);
	ck_assert_int_eq(waitpid(h_segd, &st, 0), h_segd);
	h_segd = 0;
	/* the mount stays, dead: it fails at once rather than hang */
	CK_CHILD(dead_mount_fails, NULL);
	/* a new segd finds the stale mount, replaces it, and serves again */
	h_segd_start();
	H_LOG_HAS("stale mount");
	ck_assert_int_eq(h_read_file(h_mnt_path("k/ctl"), buf, sizeof buf), 21);
	ck_assert_str_eq(buf, "va 0x15000000 0x1000\n");
	ck_assert_int_eq(h_read_file(h_mnt_path("k/data"), buf, 6), 5);
	ck_assert_str_eq(buf, "alive");
}
END_TEST

/* ---- free ---- */

static void
free_reader(void *arg)
{
	uint64_t want = *(uint64_t *)arg;
	char buf[64], expect[32];
	int fd = open_free("zu", O_RDONLY);
	ssize_t n;

	H_CCHECK(fd >= 0, "open free: %s", strerror(errno));
	h_ready();
	n = read(fd, buf, sizeof buf - 1);	/* blocks until an address comes */
	H_CCHECK(n > 0, "read free: %s", strerror(errno));
	buf[n] = '\0';
	snprintf(expect, sizeof expect, "0x%llx\n", (unsigned long long)want);
	H_CCHECK(strcmp(buf, expect) == 0, "read '%s', not '%s'", buf, expect);
}

static void
on_alarm(int sig)
{
	(void)sig;
}

static void
free_interrupted(void *arg)
{
	struct sigaction sa;
	char buf[64];
	int fd;
	ssize_t n;

	(void)arg;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;	/* no SA_RESTART: read gives EINTR */
	sigaction(SIGALRM, &sa, NULL);
	fd = open_free("zu", O_RDONLY);
	H_CCHECK(fd >= 0, "open free: %s", strerror(errno));
	h_ready();			/* the parent signals once we block */
	n = read(fd, buf, sizeof buf);
	H_CCHECK(n == -1 && errno == EINTR, "read gave %zd (%s), not EINTR", n,
	    strerror(errno));
}

/*
 * The free file beside a read ring: each returned address is read once.
 * This process reads three through its ring (it asks for three, so segd
 * puts no more in it); the file's read has the other seven, in order.
 */
START_TEST(free_file_beside_ring)
{
	char buf[512], want[512];
	uint64_t a[10], got[3];
	size_t len = 0;
	int i, fd;

	h_fs_mkseg("zr", 0600, "umsg 0 0x100000");
	for (i = 0; i < 10; i++)
		a[i] = h_zalloc64("zr");
	for (i = 0; i < 10; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "0x%llx\n",
		    (unsigned long long)a[i]);
	ck_assert_int_eq(put("zr/free", buf), 0);
	ck_assert_int_eq(seg_free_read("zr", got, 3), 3);
	for (i = 0, len = 0; i < 3; i++)
		ck_assert_uint_eq(got[i], a[i]);
	for (i = 3; i < 10; i++)
		len += (size_t)snprintf(want + len, sizeof want - len,
		    "0x%llx\n", (unsigned long long)a[i]);
	fd = open_free("zr", O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof buf - 1), (ssize_t)len);
	buf[len] = 0;
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(read(fd, buf, sizeof buf), -1);	/* none twice */
	ck_assert_int_eq(errno, EAGAIN);
	close(fd);
}
END_TEST

START_TEST(free_file)
{
	char buf[256], line[64];
	uint64_t a1, a2;
	void *p1, *p2, *kb;
	struct h_kid k;
	int fd;
	ssize_t n;

	/* umsg: this process holds the pool and allocates */
	h_fs_mkseg("zu", 0600, "umsg 0 0x100000");
	p1 = seg_zalloc("zu", 4096);
	p2 = seg_zalloc("zu", 4096);
	ck_assert_msg(p1 != NULL && p2 != NULL, "zalloc: %s", seg_errstr());
	a1 = (uint64_t)(uintptr_t)p1;
	a2 = (uint64_t)(uintptr_t)p2;

	/* nothing returned yet: a non-blocking read says so */
	fd = open_free("zu", O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof buf), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(fd);
	fd = open_free("zu", O_RDONLY);		/* made non-blocking later */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(read(fd, buf, sizeof buf), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(fd);

	/* write returns buffers; read yields them in order, one a line */
	snprintf(line, sizeof line, "0x%llx\n0x%llx\n", (unsigned long long)a1,
	    (unsigned long long)a2);
	ck_assert_int_eq(put("zu/free", line), 0);
	fd = open_free("zu", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof buf - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, line);
	close(fd);

	/* a double free, a foreign address, garbage: refused, nothing changes */
	snprintf(line, sizeof line, "0x%llx", (unsigned long long)a1);
	ck_assert_int_eq(put("zu/free", line), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(put("zu/free", "0x10"), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(put("zu/free", "not-an-address"), -1);
	ck_assert_int_eq(errno, EINVAL);
	H_LOG_HAS("not the start of a live buffer");

	/* a blocked reader wakes when a buffer comes back */
	p1 = seg_zalloc("zu", 4096);
	ck_assert_ptr_nonnull(p1);
	a1 = (uint64_t)(uintptr_t)p1;
	h_start(&k, free_reader, &a1);
	ck_assert_msg(h_blocked_in_read(&k, -1, h_peer_ms()), "the reader of "
	    "free did not block in read");
	snprintf(line, sizeof line, "0x%llx\n", (unsigned long long)a1);
	ck_assert_int_eq(put("zu/free", line), 0);
	h_finish_ok(&k, "the blocked reader of free");

	/* a blocked read can be interrupted */
	h_start(&k, free_interrupted, NULL);
	ck_assert_msg(h_blocked_in_read(&k, -1, h_peer_ms()), "the reader of "
	    "free did not block in read");
	ck_assert_int_eq(kill(k.pid, SIGALRM), 0);
	h_finish_ok(&k, "the interrupted reader of free");

	/* kmsg: segd reclaims; free of a non-zero-copy segment: refused */
	h_fs_mkseg("zk", 0600, "kmsg 0 0x100000");
	kb = seg_zalloc("zk", 4096);
	ck_assert_msg(kb != NULL, "zalloc kmsg: %s", seg_errstr());
	snprintf(line, sizeof line, "0x%llx", (unsigned long long)(uintptr_t)kb);
	ck_assert_int_eq(put("zk/free", line), 0);
	ck_assert_int_eq(put("zk/free", line), -1);	/* reclaimed already */
	ck_assert_int_eq(errno, EINVAL);
	h_fs_mkseg("plain", 0600, "addr 0 0x1000");
	ck_assert_int_eq(h_read_file(h_mnt_path("plain/free"), buf, sizeof buf), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "example", &h_fs_fix, H_TIMEOUT_S, spec_example,
	    tree_is_a_view, NULL);
	ck_tcase(s, "errors", &h_fs_fix, H_TIMEOUT_S, ctl_twice, data_unallocated,
	    bad_ctl, data_bounds, rmdir_missing, NULL);
	ck_tcase(s, "permissions", &h_fs_fix, H_TIMEOUT_S, permission_other_uid,
	    permission_group, mkdir_owner_and_mode, NULL);
	ck_tcase(s, "memory", &h_fs_fix, H_TIMEOUT_S, remove_keeps_memory,
	    fuse_and_attach_one_memory, large_requests, NULL);
	ck_tcase(s, "free", &h_fs_fix, H_TIMEOUT_S, free_file, NULL);
	ck_tcase(s, "free ring", &h_fs_fix, H_TIMEOUT_S, free_file_beside_ring,
	    NULL);
	ck_tcase(s, "mount", &h_fs_fix, H_TIMEOUT_S, unmounted_at_stop,
	    live_mount_not_stolen, killed_segd_recovers, NULL);
}
