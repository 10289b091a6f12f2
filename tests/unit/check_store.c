/*
 * check_store.c: the state directory (segd/store.c) as an attacker may
 * leave it: state and export records parsed with range checks (malformed ones of
 * every kind refused), backing files that clients resized or punched put
 * back (store_fit), pool state files that are not what segd made refused,
 * planted symlinks never followed, and directories another user owns or
 * can write refused (store_dir_safe).
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "segd.h"

static char topdir[256];	/* per test case, made and removed by the parent */
static char dir[300];		/* per test: the state directory */
static struct store st;
static uint64_t P;


static void
case_begin(void)
{
	ck_mkdtemp(topdir, sizeof topdir, "check_store");
}

static void
case_end(void)
{
	ck_rm_rf(topdir);
}

static void
setup(void)
{
	struct segerr e;
	static unsigned n;
	int saved = dup(2), null = open("/dev/null", O_WRONLY), r;

	P = (uint64_t)sysconf(_SC_PAGESIZE);
	snprintf(dir, sizeof dir, "%s/state.%d.%u", topdir, (int)getpid(), n++);
	ck_assert(saved >= 0 && null >= 0);
	dup2(null, 2);		/* "not on tmpfs" */
	close(null);
	r = store_open(&st, dir, &e);
	dup2(saved, 2);
	close(saved);
	ck_assert_msg(r == 0, "store_open: %s", e.msg);
}

static void
teardown(void)
{
	store_close(&st);
}

static const struct ck_fix fix = {
	.setup = setup, .teardown = teardown,
	.usetup = case_begin, .uteardown = case_end,
};

static int
parse(const char *text, struct segment *s)
{
	memset(s, 0x5a, sizeof *s);
	return store_meta_parse(text, strlen(text), P, s);
}

/* ---- state records ---- */

START_TEST(meta_good)
{
	struct segment s;
	char text[128];

	ck_assert_int_eq(parse("segd1 1000 2000 640 0 0 0\n", &s), 0);
	ck_assert_uint_eq(s.uid, 1000);
	ck_assert_uint_eq(s.gid, 2000);
	ck_assert_uint_eq(s.mode, 0640);
	ck_assert_int_eq(s.verb, SEG_VERB_NONE);
	ck_assert_uint_eq(s.va, 0);
	ck_assert_uint_eq(s.len, 0);
	snprintf(text, sizeof text, "segd1 0 4294967294 777 3 %llx %llx\n",
	    (unsigned long long)(SEGD_USER_TOP - 2 * P), (unsigned long long)P);
	ck_assert_int_eq(parse(text, &s), 0);
	ck_assert_uint_eq(s.uid, 0);
	ck_assert_uint_eq(s.gid, 4294967294u);
	ck_assert_uint_eq(s.mode, 0777);
	ck_assert_int_eq(s.verb, SEG_VERB_UMSG);
	ck_assert_uint_eq(s.va, SEGD_USER_TOP - 2 * P);
	ck_assert_uint_eq(s.len, P);
	/* the lowest address: the first page above page 0, to the top */
	snprintf(text, sizeof text, "segd1 1 1 0 1 %llx %llx\n",
	    (unsigned long long)P, (unsigned long long)(SEGD_USER_TOP - P));
	ck_assert_int_eq(parse(text, &s), 0);
	ck_assert_uint_eq(s.len, SEGD_USER_TOP - P);
}
END_TEST

START_TEST(meta_malformed)
{
	static const char *bad[] = {
		"",
		"segd1",
		"segd1 1000 2000 640 0 0",		/* truncated */
		"segd1 1000 2000 640 0 0 0",		/* no newline */
		"segd1 1000 2000 640 0 0 0\n\n",
		"segd1 1000 2000 640 0 0 0 \n",
		"segd1 1000 2000 640 0 0 0 7\n",	/* extra field */
		"segd2 1000 2000 640 0 0 0\n",
		"SEGD1 1000 2000 640 0 0 0\n",
		" segd1 1000 2000 640 0 0 0\n",
		"segd1  1000 2000 640 0 0 0\n",		/* empty field */
		"segd1 1000\t2000 640 0 0 0\n",
		/* ids: 32 bits, not (uid_t)-1, no sign, decimal */
		"segd1 1000 4294967296 640 0 0 0\n",	/* once gid 0 */
		"segd1 4294967296 2000 640 0 0 0\n",
		"segd1 4294967295 2000 640 0 0 0\n",
		"segd1 1000 4294967295 640 0 0 0\n",
		"segd1 18446744073709551616 2000 640 0 0 0\n",
		"segd1 -1 2000 640 0 0 0\n",
		"segd1 +1000 2000 640 0 0 0\n",
		"segd1 0x10 2000 640 0 0 0\n",
		"segd1 1e3 2000 640 0 0 0\n",
		/* mode: octal, within 0777 */
		"segd1 1000 2000 1777 0 0 0\n",
		"segd1 1000 2000 678 0 0 0\n",
		"segd1 1000 2000 -640 0 0 0\n",
		/* kind */
		"segd1 1000 2000 640 5 1000 1000\n",
		"segd1 1000 2000 640 4294967297 1000 1000\n",
		/* unallocated with an address or length */
		"segd1 1000 2000 640 0 10000 0\n",
		"segd1 1000 2000 640 0 0 1000\n",
		/* allocated: address 0, page 0, unaligned, zero or odd length */
		"segd1 1000 2000 640 1 0 1000\n",
		"segd1 1000 2000 640 2 0 10000\n",
		"segd1 1000 2000 640 1 800 1000\n",
		"segd1 1000 2000 640 1 10000800 1000\n",
		"segd1 1000 2000 640 1 10000000 0\n",
		"segd1 1000 2000 640 1 10000000 1001\n",
		/* past user space, wrapping, more than 64 bits, not hex */
		"segd1 1000 2000 640 1 800000000000 1000\n",
		"segd1 1000 2000 640 1 7ffffffff000 2000\n",
		"segd1 1000 2000 640 1 fffffffffffff000 2000\n",
		"segd1 1000 2000 640 1 10000000 fffffffffffff000\n",
		"segd1 1000 2000 640 1 1000000000000000000 1000\n",
		"segd1 1000 2000 640 1 0x10000000 1000\n",
		"segd1 1000 2000 640 1 10000000 1000g\n",
		"segd1 1000 2000 640 1 1000000A 1000\n",
	};
	struct segment s;
	char text[300];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(parse(bad[i], &s) == -1, "accepted: '%s'", bad[i]);
	/* an embedded NUL, and a record longer than any segd writes */
	ck_assert_int_eq(store_meta_parse("segd1 1000 2000 640 0 0 0\n\0x", 28,
	    P, &s), -1);
	ck_assert_int_eq(store_meta_parse("segd1 1000\0 2000 640 0 0 0\n", 27,
	    P, &s), -1);
	memset(text, '0', sizeof text);
	memcpy(text, "segd1 1000 2000 ", 16);
	text[sizeof text - 1] = '\n';
	ck_assert_int_eq(store_meta_parse(text, sizeof text, P, &s), -1);
	ck_assert_int_eq(store_meta_parse("segd1 1000 2000 640 0 0 0\n", 26, 0,
	    &s), -1);
}
END_TEST

/* What store_save writes, store_meta_parse reads back. */
START_TEST(meta_round_trip)
{
	struct segment s, r;
	struct segerr e;
	char buf[512];
	ssize_t n;
	int fd;

	memset(&s, 0, sizeof s);
	strcpy(s.name, "rt");
	s.uid = 4294967294u;
	s.gid = 7;
	s.mode = 0604;
	s.verb = SEG_VERB_KMSG;
	s.va = 0x100000000000ULL;
	s.len = 16 * P;
	ck_assert_msg(store_save(&st, &s, &e) == 0, "%s", e.msg);
	fd = openat(st.dirfd, "rt.meta", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof buf);
	close(fd);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(store_meta_parse(buf, (size_t)n, P, &r), 0);
	ck_assert_uint_eq(r.uid, s.uid);
	ck_assert_uint_eq(r.gid, s.gid);
	ck_assert_uint_eq(r.mode, s.mode);
	ck_assert_int_eq(r.verb, s.verb);
	ck_assert_uint_eq(r.va, s.va);
	ck_assert_uint_eq(r.len, s.len);
}
END_TEST

/* ---- backing files resized by clients ---- */

static off_t
size_of(int fd)
{
	struct stat sb;

	ck_assert_int_eq(fstat(fd, &sb), 0);
	return sb.st_size;
}

START_TEST(fit_restores)
{
	struct segerr e;
	uint64_t len = 8 * P;
	char c;
	int fd = store_alloc(&st, "b", len, &e);

	ck_assert_msg(fd >= 0, "store_alloc: %s", e.msg);
	ck_assert_int_eq(store_fit(fd, len), 0);	/* as made: intact */
	/* grown (past -M): cut back */
	ck_assert_int_eq(ftruncate(fd, 200 << 20), 0);
	ck_assert_int_eq(store_fit(fd, len), STORE_GROWN);
	ck_assert_int_eq(size_of(fd), (off_t)len);
	ck_assert_int_eq(pwrite(fd, "x", 1, (off_t)(len + 5 * P)), 1);
	ck_assert_int_eq(store_fit(fd, len), STORE_GROWN);
	ck_assert_int_eq(size_of(fd), (off_t)len);
	/* truncated: restored to its length, the lost pages zero */
	ck_assert_int_eq(pwrite(fd, "y", 1, (off_t)(len - 1)), 1);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(store_fit(fd, len), STORE_CUT);
	ck_assert_int_eq(size_of(fd), (off_t)len);
	ck_assert_int_eq(pread(fd, &c, 1, (off_t)(len - 1)), 1);
	ck_assert_int_eq(c, 0);
	ck_assert_int_eq(store_fit(fd, len), 0);
	close(fd);
	ck_assert_int_eq(store_fit(-1, len), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(fit_finds_holes)
{
	struct segerr e;
	uint64_t len = 8 * P;
	struct stat sb;
	int fd = store_alloc(&st, "h", len, &e);

	ck_assert_msg(fd >= 0, "store_alloc: %s", e.msg);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	if ((uint64_t)sb.st_blocks * 512 < len) {
		CK_SKIP("this file system does not allocate with fallocate");
		close(fd);
		return;
	}
	ck_assert_int_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE |
	    FALLOC_FL_KEEP_SIZE, (off_t)(2 * P), (off_t)(2 * P)), 0);
	ck_assert_int_eq(store_fit(fd, len), STORE_CUT);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_uint_ge((uint64_t)sb.st_blocks * 512, len);
	ck_assert_int_eq(store_fit(fd, len), 0);
	close(fd);
}
END_TEST

/* ---- files planted in the state directory ---- */



/* Symlinks at NAME.seg, NAME.meta.tmp and NAME.zio are never followed. */
START_TEST(symlinks_not_followed)
{
	char victim[400], link[400];
	struct segment s;
	struct segerr e;
	struct stat sb;
	int fd, created;

	snprintf(victim, sizeof victim, "%s/victim.%d", topdir, (int)getpid());
	ck_put_file(victim, "precious");
	snprintf(link, sizeof link, "%s/v.seg", dir);
	ck_assert_int_eq(symlink(victim, link), 0);
	snprintf(link, sizeof link, "%s/v.meta.tmp", dir);
	ck_assert_int_eq(symlink(victim, link), 0);
	fd = store_alloc(&st, "v", 4 * P, &e);
	ck_assert_msg(fd >= 0, "store_alloc: %s", e.msg);
	close(fd);
	memset(&s, 0, sizeof s);
	strcpy(s.name, "v");
	s.mode = 0600;
	ck_assert_msg(store_save(&st, &s, &e) == 0, "store_save: %s", e.msg);
	ck_file_is(victim, "precious");
	ck_assert_int_eq(fstatat(st.dirfd, "v.seg", &sb, AT_SYMLINK_NOFOLLOW),
	    0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(sb.st_size, (off_t)(4 * P));
	/* a pool state planted as a link: refused, the victim untouched */
	snprintf(link, sizeof link, "%s/w.zio", dir);
	ck_assert_int_eq(symlink(victim, link), 0);
	ck_assert_int_eq(store_zio_file(&st, "w", 4096, &created, &e), -1);
	ck_file_is(victim, "precious");
	ck_assert_int_eq(lstat(link, &sb), 0);
	ck_assert(S_ISLNK(sb.st_mode));
}
END_TEST

/* A truncated pool state is refused and left, never made anew. */
START_TEST(zio_file_truncated_refused)
{
	char path[400];
	struct segerr e;
	struct stat sb;
	int fd, created;

	fd = store_zio_file(&st, "z", 8192, &created, &e);
	ck_assert_msg(fd >= 0, "store_zio_file: %s", e.msg);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(size_of(fd), 8192);
	ck_assert_int_eq(pwrite(fd, "live", 4, 100), 4);
	close(fd);
	/* found again as it is */
	fd = store_zio_file(&st, "z", 8192, &created, &e);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(created, 0);
	close(fd);
	snprintf(path, sizeof path, "%s/z.zio", dir);
	ck_assert_int_eq(truncate(path, 4096), 0);
	ck_assert_int_eq(store_zio_file(&st, "z", 8192, &created, &e), -1);
	ck_assert_int_eq(e.code, EINVAL);
	ck_assert_msg(strstr(e.msg, "z.zio") != NULL, "%s", e.msg);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 4096);	/* left as it was */
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, path, 4, 100), 4);
	close(fd);
	ck_assert_mem_eq(path, "live", 4);
}
END_TEST

/* ---- directories segd trusts ---- */

START_TEST(dir_safe)
{
	char d[400], sub[450], lnk[450];
	struct segerr e;

	snprintf(d, sizeof d, "%s/dirs.%d", topdir, (int)getpid());
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_msg(store_dir_safe("state directory", d, &e) == 0, "%s",
	    e.msg);
	/* writable by others */
	ck_assert_int_eq(chmod(d, 0777), 0);
	ck_assert_int_eq(store_dir_safe("state directory", d, &e), -1);
	ck_assert_int_eq(e.code, EPERM);
	ck_assert_msg(strstr(e.msg, "bad ownership or modes for directory") !=
	    NULL, "%s", e.msg);
	/* the sticky bit is no excuse for the directory itself */
	ck_assert_int_eq(chmod(d, 01777), 0);
	ck_assert_int_eq(store_dir_safe("state directory", d, &e), -1);
	/* but a root-owned sticky directory above it is /tmp's case */
	snprintf(sub, sizeof sub, "%s/in", d);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	if (geteuid() == 0)
		ck_assert_msg(store_dir_safe("state directory", sub, &e) == 0,
		    "%s", e.msg);
	/* a group-writable directory above, without the sticky bit: no */
	ck_assert_int_eq(chmod(d, 0770), 0);
	ck_assert_int_eq(store_dir_safe("state directory", sub, &e), -1);
	ck_assert_msg(strstr(e.msg, d) != NULL, "%s", e.msg);
	ck_assert_int_eq(chmod(d, 0700), 0);
	ck_assert_msg(store_dir_safe("socket directory", sub, &e) == 0, "%s",
	    e.msg);
	/* a symlink is judged by what it leads to */
	snprintf(lnk, sizeof lnk, "%s/ln", d);
	ck_assert_int_eq(symlink(sub, lnk), 0);
	ck_assert_int_eq(store_dir_safe("state directory", lnk, &e), 0);
	ck_assert_int_eq(chmod(sub, 0722), 0);
	ck_assert_int_eq(store_dir_safe("state directory", lnk, &e), -1);
	ck_assert_int_eq(chmod(sub, 0700), 0);
	/* owned by another user */
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(sub, 65534, 65534), 0);
		ck_assert_int_eq(store_dir_safe("state directory", sub, &e), -1);
		ck_assert_msg(strstr(e.msg, "uid 65534") != NULL, "%s", e.msg);
	}
	/* not a directory, missing */
	snprintf(lnk, sizeof lnk, "%s/file", d);
	ck_put_file(lnk, "x");
	ck_assert_int_eq(store_dir_safe("state directory", lnk, &e), -1);
	ck_assert_int_eq(e.code, ENOTDIR);
	snprintf(lnk, sizeof lnk, "%s/missing", d);
	ck_assert_int_eq(store_dir_safe("state directory", lnk, &e), -1);
	ck_assert_int_eq(e.code, ENOENT);
}
END_TEST

/* ---- export records ---- */

#define XPAGE 0x1000ULL	/* the page size the parse cases assume */

static int
xparse(const char *text, struct exprec *r)
{
	memset(r, 0x5a, sizeof *r);
	return store_export_parse(text, strlen(text), XPAGE, r);
}

START_TEST(export_good)
{
	struct exprec r;

	ck_assert_int_eq(xparse("segx1 1 0 s 0 -\n", &r), 0);
	ck_assert_uint_eq(r.gen, 1);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.bind, "s");
	ck_assert_uint_eq(r.off, 0);
	ck_assert_int_eq(r.nacl, 0);
	ck_assert_int_eq(xparse("segx1 ffffffffffffffff 0 seg.A_b-9 0 "
	    "a:r,b.c-1:rw\n", &r), 0);
	ck_assert_uint_eq(r.gen, UINT64_MAX);
	ck_assert_str_eq(r.bind, "seg.A_b-9");
	ck_assert_int_eq(r.nacl, 2);
	ck_assert_str_eq(r.acl[0].node, "a");
	ck_assert_int_eq(r.acl[0].perm, SEGW_RD);
	ck_assert_str_eq(r.acl[1].node, "b.c-1");
	ck_assert_int_eq(r.acl[1].perm, SEGW_RD | SEGW_WR);
	ck_assert_int_eq(xparse("segx1 2 0 s 0 -:rw\n", &r), 0);	/* node "-" */
	ck_assert_int_eq(r.nacl, 1);
	ck_assert_str_eq(r.acl[0].node, "-");
	/* every flag; a rebound one: another segment, a page-aligned offset */
	ck_assert_int_eq(xparse("segx1 3 7 other 5000 -\n", &r), 0);
	ck_assert_uint_eq(r.flags, SEGW_EXP_REBIND | SEGW_EXP_DONTWAIT |
	    SEGW_EXP_LOCKOPS);
	ck_assert_str_eq(r.bind, "other");
	ck_assert_uint_eq(r.off, 0x5000);
	ck_assert_int_eq(xparse("segx1 3 1 b 7ffffffff000 a:r\n", &r), 0);
	ck_assert_uint_eq(r.flags, SEGW_EXP_REBIND);
	ck_assert_uint_eq(r.off, SEGD_USER_TOP - XPAGE);
	ck_assert_int_eq(xparse("segx1 3 4 b 0 -\n", &r), 0);
	ck_assert_uint_eq(r.flags, SEGW_EXP_LOCKOPS);
	/* the longest name a segment may have */
	ck_assert_int_eq(xparse("segx1 3 2 "
	    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	    " 0 -\n", &r), 0);
	ck_assert_uint_eq(strlen(r.bind), SEG_NAMEMAX);
}
END_TEST

START_TEST(export_malformed)
{
	static const char *bad[] = {
		"",
		"segx1",
		"segx1 1 0",			/* truncated */
		"segx1 1 0 s",
		"segx1 1 0 s 0",
		"segx1 1 0 s 0 -",		/* no newline */
		"segx1 1 0 -\n",		/* missing fields: the binding */
		"segx1 1 0 s -\n",
		"segx1 1 0 0 -\n",
		"segx1 1 0 s 0 -\n\n",		/* trailing garbage */
		"segx1 1 0 s 0 - \n",
		"segx1 1 0 s 0 -x\n",
		"segx1 1 0 s 0 a:r x\n",
		"segx1 1 0 s 0 -\nx",
		"segx1 1 0 s 0 \n",		/* no list: "-" */
		"segx1 1 0 s 0 --\n",
		"segx2 1 0 s 0 -\n",
		"SEGX1 1 0 s 0 -\n",
		" segx1 1 0 s 0 -\n",
		"segx1  1 0 s 0 -\n",		/* empty fields */
		"segx1 1 0  0 -\n",
		"segx1 1 0 s  -\n",
		"segx1 1\t0 s 0 -\n",
		/* generation: nonzero, hex, at most 64 bits */
		"segx1 0 0 s 0 -\n",
		"segx1 10000000000000000 0 s 0 -\n",
		"segx1 0x1 0 s 0 -\n",
		"segx1 -1 0 s 0 -\n",
		"segx1 1A 0 s 0 -\n",
		/* flags: only known ones, at most 32 bits */
		"segx1 1 8 s 0 -\n",
		"segx1 1 f s 0 -\n",
		"segx1 1 80000000 s 0 -\n",
		"segx1 1 100000000 s 0 -\n",
		"segx1 1 -0 s 0 -\n",
		"segx1 1 0x1 s 0 -\n",
		/* the bound segment's name: one a segment may have */
		"segx1 1 1 . 0 -\n",
		"segx1 1 1 .. 0 -\n",
		"segx1 1 1 a/b 0 -\n",
		"segx1 1 1 a:b 0 -\n",
		"segx1 1 1 a\tb 0 -\n",
		"segx1 1 1 "
		    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		    " 0 -\n",			/* 65 bytes */
		/* the offset: hex, page-aligned, below the top of user space */
		"segx1 1 1 s 1 -\n",
		"segx1 1 1 s fff -\n",
		"segx1 1 1 s 1001 -\n",
		"segx1 1 1 s 800000000000 -\n",
		"segx1 1 1 s fffffffffffff000 -\n",
		"segx1 1 1 s 10000000000000000 -\n",
		"segx1 1 1 s 0x1000 -\n",
		"segx1 1 1 s -1000 -\n",
		"segx1 1 1 s 1000A -\n",
		/* access lists acl_parse refuses */
		"segx1 1 0 s 0 a\n",
		"segx1 1 0 s 0 a:x\n",
		"segx1 1 0 s 0 a:rw,\n",
		"segx1 1 0 s 0 :r\n",
		"segx1 1 0 s 0 a b:r\n",
		"segx1 1 0 s 0 a:r\nb:r\n",
		"segx1 1 0 s 0 a/b:r\n",
	};
	struct exprec r;
	char text[5000];
	size_t i;
	int n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(xparse(bad[i], &r) == -1, "accepted: '%s'", bad[i]);
	/* an embedded NUL; more entries than an export may have; too long */
	ck_assert_int_eq(store_export_parse("segx1 1 0 s 0 -\n\0", 17, XPAGE,
	    &r), -1);
	ck_assert_int_eq(store_export_parse("segx1 1\0 0 s 0 -\n", 17, XPAGE,
	    &r), -1);
	ck_assert_int_eq(store_export_parse("segx1 1 0 s\0 0 -\n", 17, XPAGE,
	    &r), -1);
	n = snprintf(text, sizeof text, "segx1 1 0 s 0 ");
	for (i = 0; i <= ACL_MAX; i++)
		n += snprintf(text + n, sizeof text - (size_t)n, "%sn%zu:r",
		    i ? "," : "", i);
	snprintf(text + n, sizeof text - (size_t)n, "\n");
	ck_assert_int_eq(xparse(text, &r), -1);
	memset(text, 'a', sizeof text);
	memcpy(text, "segx1 1 0 s 0 ", 14);
	memcpy(text + sizeof text - 3, ":r\n", 3);
	ck_assert_int_eq(store_export_parse(text, sizeof text, XPAGE, &r), -1);
	/* aligned to 4 KiB, not to a 64 KiB page */
	ck_assert_int_eq(store_export_parse("segx1 1 1 s 1000 -\n", 19, 0x10000,
	    &r), -1);
}
END_TEST

/* What store_export_save writes, store_export_load reads back; unlinked. */
START_TEST(export_round_trip)
{
	struct exprec x, r;
	struct segerr e;
	int i;

	memset(&x, 0, sizeof x);
	ck_assert_int_eq(store_export_load(&st, "rt", &r), 0);	/* none */
	x.gen = 0x123456789abcdefULL;
	x.flags = SEGW_EXP_ALL;
	memset(x.bind, 'b', SEG_NAMEMAX);	/* the longest name */
	x.off = SEGD_USER_TOP - (uint64_t)sysconf(_SC_PAGESIZE);
	x.nacl = ACL_MAX;
	for (i = 0; i < ACL_MAX; i++) {
		memset(x.acl[i].node, 'n', SEGP_NODEMAX);
		x.acl[i].node[SEGP_NODEMAX - 3] = (char)('a' + i % 26);
		x.acl[i].node[SEGP_NODEMAX - 2] = (char)('a' + i / 26);
		x.acl[i].node[SEGP_NODEMAX] = '\0';
		x.acl[i].perm = i % 2 ? SEGW_RD : SEGW_RD | SEGW_WR;
	}
	ck_assert_msg(store_export_save(&st, "rt", &x, &e) == 0, "%s", e.msg);
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(store_export_load(&st, "rt", &r), 1);
	ck_assert_uint_eq(r.gen, x.gen);
	ck_assert_uint_eq(r.flags, SEGW_EXP_ALL);
	ck_assert_str_eq(r.bind, x.bind);
	ck_assert_uint_eq(r.off, x.off);
	ck_assert_int_eq(r.nacl, ACL_MAX);
	for (i = 0; i < ACL_MAX; i++) {
		ck_assert_str_eq(r.acl[i].node, x.acl[i].node);
		ck_assert_int_eq(r.acl[i].perm, x.acl[i].perm);
	}
	x.nacl = 0;	/* replaced: the empty list, bound to itself */
	x.gen = 2;
	x.flags = 0;
	strcpy(x.bind, "rt");
	x.off = 0;
	ck_assert_msg(store_export_save(&st, "rt", &x, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(store_export_load(&st, "rt", &r), 1);
	ck_assert_uint_eq(r.gen, 2);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_str_eq(r.bind, "rt");
	ck_assert_uint_eq(r.off, 0);
	ck_assert_int_eq(r.nacl, 0);
	store_export_unlink(&st, "rt");
	ck_assert_int_eq(store_export_load(&st, "rt", &r), 0);
}
END_TEST

/* A planted record: malformed, a symlink, a FIFO: refused, never hangs. */
START_TEST(export_planted)
{
	char path[400];
	struct exprec r;
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	ck_assert(saved >= 0 && null >= 0);
	dup2(null, 2);		/* the warnings */
	close(null);
	snprintf(path, sizeof path, "%s/bad.export", dir);
	ck_put_file(path, "segx1 0 0 bad 0 -\n");
	ck_assert_int_eq(store_export_load(&st, "bad", &r), -1);
	snprintf(path, sizeof path, "%s/good.export", dir);
	ck_put_file(path, "segx1 5 0 good 0 -\n");
	snprintf(path, sizeof path, "%s/lnk.export", dir);
	ck_assert_int_eq(symlink("good.export", path), 0);
	ck_assert_int_eq(store_export_load(&st, "lnk", &r), -1);
	snprintf(path, sizeof path, "%s/fifo.export", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(store_export_load(&st, "fifo", &r), -1);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(store_export_load(&st, "good", &r), 1);
	ck_assert_uint_eq(r.gen, 5);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "records", &fix, 0, meta_good, meta_malformed,
	    meta_round_trip, NULL);
	ck_tcase(s, "exports", &fix, 0, export_good, export_malformed,
	    export_round_trip, export_planted, NULL);
	ck_tcase(s, "backing", &fix, 0, fit_restores, fit_finds_holes, NULL);
	ck_tcase(s, "planted", &fix, 0, symlinks_not_followed,
	    zio_file_truncated_refused, NULL);
	ck_tcase(s, "dirs", &fix, 0, dir_safe, NULL);
}
