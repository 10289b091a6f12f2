/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_namespace.c: segment(3)'s rules in segd's namespace
 * (segd/namespace.c), over a real store (segd/store.c) in a temporary
 * state directory.
 *
 * ns_setaddr maps every segment at its address in the test process, as
 * segd does in itself, so fixed addresses are chosen from ranges found
 * free here at run time.  Each test runs in its own process (CK_FORK).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "segd.h"

#define OWNER_UID 1000
#define OWNER_GID 2000

static char topdir[256];	/* per test case, made and removed by the parent */
static char dir[300];		/* per test: the state directory */
static struct store st;
static struct ns ns;
static struct ns_limits lim;
static struct cred owner, other, root;
static struct segerr err;
static uint64_t P;		/* page size */
static uint64_t base;		/* 64 MiB free in this process */

/* ---- helpers ---- */


/* A range of len bytes that nothing in this process occupies. */
static uint64_t
free_range(uint64_t len)
{
	static const uint64_t cand[] = { 0x10000000, 0x20000000, 0x30000000,
	    0x40000000, 0x50000000, 0x200000000, 0x300000000, 0x400000000 };
	size_t i;

	for (i = 0; i < sizeof cand / sizeof cand[0]; i++) {
		void *p = mmap((void *)(uintptr_t)cand[i], len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		munmap(p, len);
		if (p == (void *)(uintptr_t)cand[i])
			return cand[i];
	}
	ck_abort_msg("no free 64 MiB range for the test segments");
	return 0;
}

static void
case_setup(void)
{
	ck_mkdtemp(topdir, sizeof topdir, "check_namespace");
}

static void
case_teardown(void)
{
	ck_rm_rf(topdir);
}

/* Run fn with stderr sent to /dev/null: segd's warnings, one a file. */
static int
quietly(int (*fn)(void))
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY), n;

	ck_assert(saved >= 0 && null >= 0);
	dup2(null, 2);
	close(null);
	n = fn();
	dup2(saved, 2);
	close(saved);
	return n;
}

/* (its "not on tmpfs" warning is expected when TMPDIR is on disk) */
static int
store_open_quiet(void)
{
	return store_open(&st, dir, &err);
}

static void
open_ns(const struct ns_limits *l)
{
	memset(&err, 0, sizeof err);
	ck_assert_msg(quietly(store_open_quiet) == 0, "store_open: %s", err.msg);
	ck_assert_int_eq(ns_init(&ns, l, &st), 0);
}

static void
setup(void)
{
	static unsigned n;

	snprintf(dir, sizeof dir, "%s/state.%d.%u", topdir, (int)getpid(), n++);
	lim.maxsegs = SEGD_DEF_MAXSEGS;
	lim.maxbytes = 1ULL << 40;
	open_ns(&lim);
	P = ns.pagesize;
	ck_assert_uint_eq(P, (uint64_t)sysconf(_SC_PAGESIZE));
	base = free_range(64ULL << 20);
	owner = (struct cred){ .pid = getpid(), .uid = OWNER_UID,
	    .gid = OWNER_GID };
	other = (struct cred){ .pid = getpid(), .uid = 3000, .gid = 3000 };
	root = (struct cred){ .pid = getpid(), .uid = 0, .gid = 0 };
}

static void
teardown(void)
{
	ns_shutdown(&ns);
	store_close(&st);
	ck_rm_rf(dir);
}

static const struct ck_fix fix = {
	.setup = setup, .teardown = teardown,
	.usetup = case_setup, .uteardown = case_teardown,
};

/* Replace the namespace with one of other limits. */
static void
reopen_ns(const struct ns_limits *l)
{
	ns_shutdown(&ns);
	store_close(&st);
	open_ns(l);
}

static struct segment *
mk(const char *name, mode_t mode)
{
	struct segment *s;

	memset(&err, 0, sizeof err);
	s = ns_create(&ns, name, mode, &owner, &err);
	ck_assert_msg(s != NULL, "create %s: %s", name, err.msg);
	return s;
}

/* n segments, s0 to s(n-1), mode 0600. */
static void
mk_n(int n)
{
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "s%d", i);
		mk(name, 0600);
	}
}

static int
setaddr(struct segment *s, enum seg_verb verb, uint64_t va, uint64_t len)
{
	struct ctlmsg m = { .verb = verb, .va = va, .len = len };

	memset(&err, 0, sizeof err);
	return ns_setaddr(&ns, s, &m, &err);
}

static void
must_setaddr(struct segment *s, enum seg_verb verb, uint64_t va,
    uint64_t len)
{
	ck_assert_msg(setaddr(s, verb, va, len) == 0, "ctl %s 0x%llx 0x%llx: %s",
	    s->name, (unsigned long long)va, (unsigned long long)len, err.msg);
}

static void
must_contain(const char *msg, const char *part)
{
	ck_assert_msg(strstr(msg, part) != NULL, "'%s' lacks '%s'", msg, part);
}

/* Does NAME+suffix exist in the state directory? */
static int
has_file(const char *name, const char *suffix)
{
	char f[256];
	struct stat sb;

	snprintf(f, sizeof f, "%s%s", name, suffix);
	return fstatat(st.dirfd, f, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

static off_t
file_size(const char *name, const char *suffix)
{
	char f[256];
	struct stat sb;

	snprintf(f, sizeof f, "%s%s", name, suffix);
	ck_assert_int_eq(fstatat(st.dirfd, f, &sb, 0), 0);
	return sb.st_size;
}

static int
count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
count_fds(void)
{
	return count_entries("/proc/self/fd") - 1;	/* opendir's own */
}

static void
put_file(const char *name, const void *data, size_t n)
{
	int fd = openat(st.dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void
put_text(const char *name, const char *text)
{
	put_file(name, text, strlen(text));
}

static void
put_seg(const char *name, uint64_t size)
{
	char f[256];
	int fd;

	snprintf(f, sizeof f, "%s.seg", name);
	fd = openat(st.dirfd, f, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void
put_meta(const char *name, unsigned verb, uint64_t va, uint64_t len)
{
	char f[256], text[128];

	snprintf(f, sizeof f, "%s.meta", name);
	snprintf(text, sizeof text, "segd1 %u %u 640 %u %llx %llx\n", OWNER_UID,
	    OWNER_GID, verb, (unsigned long long)va, (unsigned long long)len);
	put_text(f, text);
}

/* Is [va, va+len) free of mappings in this process? */
static int
range_free(uint64_t va, uint64_t len)
{
	void *p = mmap((void *)(uintptr_t)va, len, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return 0;
	munmap(p, len);
	return p == (void *)(uintptr_t)va;
}

/* Shut segd's namespace down and bring it up again from the state dir. */
static int
restart(void)
{
	ns_shutdown(&ns);
	store_close(&st);
	open_ns(&lim);
	return ns_load(&ns);
}

/* ---- names and creation ---- */

START_TEST(name_validity)
{
	static const char *bad[] = { "", ".", "..", "a/b", "../x", "a b", "a\n",
	    "a*", "ä", "a:b", "x.meta/", "/abs" };
	char name[SEG_NAMEMAX + 2];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&err, 0, sizeof err);
		ck_assert_msg(ns_create(&ns, bad[i], 0640, &owner, &err) == NULL,
		    "'%s' accepted", bad[i]);
		ck_assert_int_eq(err.code, EINVAL);
		must_contain(err.msg, "bad segment name");
	}
	memset(name, 'n', SEG_NAMEMAX + 1);
	name[SEG_NAMEMAX + 1] = '\0';
	ck_assert_ptr_null(ns_create(&ns, name, 0640, &owner, &err));
	must_contain(err.msg, "bad segment name");
	ck_assert_uint_eq(ns.nsegs, 0);
	ck_assert_int_eq(count_entries(dir), 0);	/* nothing was written */
	/* the limits themselves */
	name[SEG_NAMEMAX] = '\0';
	mk(name, 0640);
	mk("a", 0640);
	mk("A-Za-z0-9._-", 0640);
	mk("...", 0640);
	ck_assert_uint_eq(ns.nsegs, 4);
	ck_assert_ptr_nonnull(ns_lookup(&ns, name));
}
END_TEST

START_TEST(create_records_owner_and_mode)
{
	struct segment *s = mk("example", 0640), *t;
	struct segw_info i;

	ck_assert_str_eq(s->name, "example");
	ck_assert_uint_eq(s->uid, OWNER_UID);
	ck_assert_uint_eq(s->gid, OWNER_GID);
	ck_assert_uint_eq(s->mode, 0640);
	ck_assert_int_eq(s->verb, SEG_VERB_NONE);
	ck_assert_uint_eq(s->va, 0);
	ck_assert_uint_eq(s->len, 0);
	ck_assert_int_eq(s->named, 1);
	ck_assert_uint_eq(s->refs, 1);
	ck_assert_uint_eq(s->nattach, 0);
	ck_assert_ptr_eq(ns_lookup(&ns, "example"), s);
	ck_assert_ptr_null(ns_lookup(&ns, "Example"));
	ck_assert_ptr_null(ns_lookup(&ns, "exampl"));
	ck_assert(has_file("example", ".meta"));
	ck_assert(!has_file("example", ".seg"));	/* no memory yet */
	ck_assert_uint_eq(ns.nsegs, 1);
	ck_assert_uint_eq(ns.bytes, 0);
	/* only permission bits are kept */
	t = mk("suid", 04777);
	ck_assert_uint_eq(t->mode, 0777);
	seg_to_info(s, &i);
	ck_assert_str_eq(i.name, "example");
	ck_assert_uint_eq(i.uid, OWNER_UID);
	ck_assert_uint_eq(i.gid, OWNER_GID);
	ck_assert_uint_eq(i.mode, 0640);
	ck_assert_uint_eq(i.verb, SEG_VERB_NONE);
	ck_assert_uint_eq(i.flags, 0);
}
END_TEST

START_TEST(create_duplicate)
{
	struct segment *s = mk("example", 0640);

	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(ns_create(&ns, "example", 0666, &other, &err));
	ck_assert_int_eq(err.code, EEXIST);
	must_contain(err.msg, "'example' already exists");
	ck_assert_ptr_eq(ns_lookup(&ns, "example"), s);
	ck_assert_uint_eq(s->mode, 0640);	/* untouched */
	ck_assert_uint_eq(s->uid, OWNER_UID);
	ck_assert_uint_eq(ns.nsegs, 1);
	/* names are case-sensitive */
	mk("EXAMPLE", 0640);
	ck_assert_uint_eq(ns.nsegs, 2);
}
END_TEST

/* Many names in the hash table: each found, none confused. */
START_TEST(many_names)
{
	char name[32];
	int i;

	mk_n(1000);
	for (i = 0; i < 1000; i++) {
		struct segment *s;
		snprintf(name, sizeof name, "s%d", i);
		s = ns_lookup(&ns, name);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s->name, name);
	}
	ck_assert_ptr_null(ns_lookup(&ns, "s1000"));
	ck_assert_uint_eq(ns.nsegs, 1000);
}
END_TEST

/* ---- ctl: setting the address ---- */

START_TEST(setaddr_maps_memory)
{
	struct segment *s = mk("example", 0640);
	char buf[8];
	int fd;

	must_setaddr(s, SEG_VERB_VA, base, 4 * P);
	ck_assert_int_eq(s->verb, SEG_VERB_VA);
	ck_assert_uint_eq(s->va, base);
	ck_assert_uint_eq(s->len, 4 * P);
	ck_assert_ptr_eq(s->map, (void *)(uintptr_t)base);
	ck_assert_uint_eq(ns.bytes, 4 * P);
	ck_assert(has_file("example", ".seg"));
	ck_assert_int_eq(file_size("example", ".seg"), (off_t)(4 * P));
	/* the memory is the backing file's */
	memcpy((char *)(uintptr_t)base + P, "hi mom", 6);
	fd = store_open_data(&st, "example", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, 6, (off_t)P), 6);
	ck_assert_mem_eq(buf, "hi mom", 6);
	close(fd);
	ck_assert_ptr_eq(ns_find_range(&ns, base, 4 * P), s);
}
END_TEST

/*
 * SEG_DONTWAIT's check.  A backing file's memory is allocated when it is
 * made (store.c), so a hole punched in it stands for pages not yet there.
 */
START_TEST(resident_after_write)
{
	struct segment *s = mk("fresh", 0640);
	int fd;

	must_setaddr(s, SEG_VERB_VA, base, 4 * P);
	fd = store_open_data(&st, "fresh", O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE |
	    FALLOC_FL_KEEP_SIZE, (off_t)P, (off_t)(2 * P)), 0);
	close(fd);
	ck_assert_int_eq(seg_resident(s, 0, 4 * P, P), 0);
	ck_assert_int_eq(seg_resident(s, P, P, P), 0);
	/* (the fault may bring in its neighbours too: fault-around) */
	memset((char *)(uintptr_t)base + P, 1, P);
	ck_assert_int_eq(seg_resident(s, P, P, P), 1);
	memset((char *)(uintptr_t)base + 2 * P, 2, P);
	ck_assert_int_eq(seg_resident(s, 0, 4 * P, P), 1);
}
END_TEST

START_TEST(second_ctl_refused)
{
	struct segment *s = mk("example", 0640);

	must_setaddr(s, SEG_VERB_VA, base, 2 * P);
	ck_assert_int_eq(setaddr(s, SEG_VERB_VA, base + 8 * P, P), -1);
	ck_assert_int_eq(err.code, EBUSY);
	must_contain(err.msg, "already allocated");
	/* also the same range, and ADDR 0 */
	ck_assert_int_eq(setaddr(s, SEG_VERB_ADDR, base, 2 * P), -1);
	must_contain(err.msg, "already allocated");
	ck_assert_int_eq(setaddr(s, SEG_VERB_UMSG, 0, P), -1);
	must_contain(err.msg, "already allocated");
	ck_assert_int_eq(s->verb, SEG_VERB_VA);
	ck_assert_uint_eq(s->va, base);
	ck_assert_uint_eq(s->len, 2 * P);
	ck_assert_uint_eq(ns.bytes, 2 * P);
	ck_assert(range_free(base + 8 * P, P));		/* nothing mapped */
}
END_TEST

START_TEST(overlap_refused)
{
	struct segment *a = mk("a", 0640), *b = mk("b", 0640);
	const uint64_t lo = base + 8 * P;
	const struct { uint64_t va, len; } over[] = {
		{ lo - 2 * P, 4 * P },		/* over the start */
		{ lo + 2 * P, 4 * P },		/* over the end */
		{ lo + P, P },			/* inside */
		{ lo, 4 * P },			/* the same */
		{ base, 16 * P },		/* around */
		{ lo + 3 * P, P },		/* the last page */
		{ lo - P, 2 * P },		/* the first page */
	};
	size_t i;

	must_setaddr(a, SEG_VERB_VA, lo, 4 * P);
	for (i = 0; i < sizeof over / sizeof over[0]; i++) {
		ck_assert_msg(setaddr(b, SEG_VERB_VA, over[i].va, over[i].len) == -1,
		    "range %zu accepted", i);
		ck_assert_int_eq(err.code, EADDRINUSE);
		must_contain(err.msg, "overlaps segment 'a'");
		ck_assert_int_eq(b->verb, SEG_VERB_NONE);
		ck_assert(!has_file("b", ".seg"));
		ck_assert_uint_eq(ns.bytes, 4 * P);
	}
	/* touching is not overlapping */
	must_setaddr(b, SEG_VERB_VA, lo - 4 * P, 4 * P);
	must_setaddr(mk("c", 0640), SEG_VERB_VA, lo + 4 * P, P);
	ck_assert_uint_eq(ns.bytes, 9 * P);
}
END_TEST

/* The range is in use in segd's own address space (not by a segment). */
START_TEST(range_busy_in_process)
{
	struct segment *s = mk("example", 0640);
	char *p = mmap((void *)(uintptr_t)(base + P), P, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	ck_assert_ptr_eq(p, (void *)(uintptr_t)(base + P));
	strcpy(p, "mine");
	ck_assert_int_eq(setaddr(s, SEG_VERB_VA, base, 4 * P), -1);
	ck_assert_int_eq(err.code, EADDRINUSE);
	must_contain(err.msg, "in use");
	ck_assert_str_eq(p, "mine");		/* never clobbered */
	ck_assert_int_eq(s->verb, SEG_VERB_NONE);
	ck_assert(!has_file("example", ".seg"));
	ck_assert_uint_eq(ns.bytes, 0);
	ck_assert_ptr_null(ns_find_range(&ns, base, P));
	/* and a free range next to it still works */
	must_setaddr(s, SEG_VERB_VA, base + 2 * P, P);
	munmap(p, P);
}
END_TEST

static int
disjoint(const struct segment *a, const struct segment *b)
{
	return a->va + a->len <= b->va || b->va + b->len <= a->va;
}

START_TEST(addr_zero_unique)
{
	static const uint64_t pages[] = { 1, 3, 16, 1, 256, 2 };
	struct segment *s[8];
	char name[16];
	size_t i, j, n = sizeof pages / sizeof pages[0];

	/* a fixed segment first, which the picks must avoid */
	s[n] = mk("fixed", 0640);
	must_setaddr(s[n], SEG_VERB_VA, base, 8 * P);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "auto%zu", i);
		s[i] = mk(name, 0640);
		must_setaddr(s[i], i % 2 ? SEG_VERB_ADDR : SEG_VERB_KMSG, 0,
		    pages[i] * P);
		ck_assert_uint_ne(s[i]->va, 0);
		ck_assert_uint_eq(s[i]->va % P, 0);
		ck_assert_uint_eq(s[i]->len, pages[i] * P);
		ck_assert(s[i]->va + s[i]->len <= SEGD_USER_TOP);
		ck_assert_ptr_eq(s[i]->map, (void *)(uintptr_t)s[i]->va);
		ck_assert_ptr_eq(ns_find_range(&ns, s[i]->va, s[i]->len), s[i]);
		/* really this segment's memory */
		memset((void *)(uintptr_t)s[i]->va, 'a' + (int)i, s[i]->len);
	}
	for (i = 0; i <= n; i++)
		for (j = 0; j < i; j++)
			ck_assert_msg(disjoint(s[i], s[j]), "%s and %s overlap",
			    s[i]->name, s[j]->name);
	for (i = 0; i < n; i++) {
		const char *p = (const char *)(uintptr_t)s[i]->va;
		ck_assert_int_eq(p[0], 'a' + (int)i);
		ck_assert_int_eq(p[s[i]->len - 1], 'a' + (int)i);
	}
}
END_TEST

/* A pick never clobbers what the process already has mapped there. */
START_TEST(addr_zero_avoids_busy_range)
{
	struct segment *s = mk("auto", 0640);
	uint64_t at = SEGD_AUTO_BASE;
	char *p = mmap((void *)(uintptr_t)at, 4 * P, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int mine = p == (char *)(uintptr_t)at;

	/* the range must be busy, or this tests nothing: ours, or already
	 * someone else's (AddressSanitizer's shadow lies there) */
	ck_assert_msg(mine || (p == MAP_FAILED && errno == EEXIST), "mmap at "
	    "0x%llx: %s", (unsigned long long)at, p == MAP_FAILED ?
	    strerror(errno) : "placed elsewhere");
	if (mine)
		strcpy(p, "mine");
	must_setaddr(s, SEG_VERB_ADDR, 0, 2 * P);
	ck_assert_uint_ne(s->va, 0);
	ck_assert(s->va >= at + 4 * P || s->va + s->len <= at);
	if (mine) {
		ck_assert_str_eq(p, "mine");
		munmap(p, 4 * P);
	}
}
END_TEST

/* A segment placed where the picker starts pushes the pick past it. */
START_TEST(addr_zero_after_fixed_at_auto_base)
{
	struct segment *f = mk("fixed", 0640), *a = mk("auto", 0640);

	if (!range_free(SEGD_AUTO_BASE, 4 * P))
		return;		/* occupied here (a sanitizer's shadow): moot */
	must_setaddr(f, SEG_VERB_VA, SEGD_AUTO_BASE, 4 * P);
	must_setaddr(a, SEG_VERB_ADDR, 0, P);
	ck_assert(disjoint(f, a));
	ck_assert_uint_ge(a->va, SEGD_AUTO_BASE);
}
END_TEST

/* ---- limits ---- */

/* -U and -B: one owner's quota, counted on the owner; root exempt. */
START_TEST(quota_per_owner)
{
	struct ns_limits l = { .maxsegs = 10, .maxbytes = 1ULL << 30,
	    .uid_segs = 2, .uid_bytes = 4 * P };
	struct segment *a, *b, *r;

	reopen_ns(&l);
	a = mk("a", 0640);
	b = mk("b", 0640);
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(ns_create(&ns, "c", 0640, &owner, &err));
	ck_assert_int_eq(err.code, ENOSPC);
	ck_assert_str_eq(err.msg, "too many segments of uid 1000 (quota 2)");
	/* others and root are not held by it */
	ck_assert_ptr_nonnull(ns_create(&ns, "o", 0640, &other, &err));
	r = ns_create(&ns, "r1", 0600, &root, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(ns_create(&ns, "r2", 0600, &root, &err));
	ck_assert_ptr_nonnull(ns_create(&ns, "r3", 0600, &root, &err));
	/* bytes: 4 pages for the owner, whoever writes the ctl */
	must_setaddr(a, SEG_VERB_VA, base, 3 * P);
	ck_assert_int_eq(setaddr(b, SEG_VERB_VA, base + 8 * P, 2 * P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	must_contain(err.msg, "segment memory quota of uid 1000 reached: ");
	must_contain(err.msg, " of 16384 bytes in use");
	must_setaddr(b, SEG_VERB_VA, base + 8 * P, P);
	must_setaddr(r, SEG_VERB_VA, base + 16 * P, 8 * P);
	/* removed and released, the quota is free again */
	ck_assert_int_eq(ns_remove(&ns, a, &owner, &err), 0);
	a = mk("c", 0640);
	must_setaddr(a, SEG_VERB_VA, base + 32 * P, 3 * P);
}
END_TEST

/* Removed but held: still counted against -N, -M and the owner's quota. */
START_TEST(removed_held_counted)
{
	struct ns_limits l = { .maxsegs = 2, .maxbytes = 8 * P,
	    .uid_segs = 2, .uid_bytes = 8 * P };
	struct segment *a;

	reopen_ns(&l);
	a = mk("a", 0640);
	mk("b", 0640);
	must_setaddr(a, SEG_VERB_VA, base, 8 * P);
	seg_hold(a);			/* an attachment */
	ck_assert_int_eq(ns_remove(&ns, a, &owner, &err), 0);
	ck_assert_uint_eq(ns.nsegs, 1);
	ck_assert_uint_eq(ns.nheld, 2);
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(ns_create(&ns, "c", 0640, &root, &err));
	ck_assert_str_eq(err.msg, "too many segments (limit 2)");
	ck_assert_int_eq(setaddr(ns_lookup(&ns, "b"), SEG_VERB_VA, base +
	    16 * P, P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	seg_put(&ns, a);		/* detached: gone, and its room */
	ck_assert_uint_eq(ns.nheld, 1);
	ck_assert_uint_eq(ns.bytes, 0);
	mk("c", 0640);
	must_setaddr(ns_lookup(&ns, "b"), SEG_VERB_VA, base + 16 * P, 8 * P);
}
END_TEST

/* The descriptors segments hold: one each, four for a zero-copy pool. */
START_TEST(descriptor_limit)
{
	struct ns_limits l = { .maxsegs = 10, .maxbytes = 1ULL << 30,
	    .maxfds = 5 };
	struct segment *a = NULL, *s;
	char name[8];
	int i;

	reopen_ns(&l);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "p%d", i);
		s = mk(name, 0640);
		must_setaddr(s, SEG_VERB_VA, base + (uint64_t)i * 2 * P, P);
		if (i == 0)
			a = s;
	}
	ck_assert_uint_eq(ns.nfds, 5);
	s = mk("more", 0640);	/* no address, no descriptor */
	ck_assert_int_eq(setaddr(s, SEG_VERB_VA, base + 20 * P, P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	must_contain(err.msg, "descriptor limit reached");
	ck_assert_int_eq(ns_remove(&ns, a, &owner, &err), 0);
	ck_assert_uint_eq(ns.nfds, 4);
	ck_assert_int_eq(setaddr(s, SEG_VERB_UMSG, base + 20 * P, P), -1);
	must_contain(err.msg, "descriptor limit reached");
	must_setaddr(s, SEG_VERB_VA, base + 20 * P, P);
}
END_TEST

START_TEST(limit_segments)
{
	struct ns_limits l = { .maxsegs = 3, .maxbytes = 1ULL << 30 };
	struct segment *a;

	reopen_ns(&l);
	a = mk("a", 0640);
	mk("b", 0640);
	mk("c", 0640);
	memset(&err, 0, sizeof err);
	ck_assert_ptr_null(ns_create(&ns, "d", 0640, &owner, &err));
	ck_assert_int_eq(err.code, ENOSPC);
	must_contain(err.msg, "too many segments (limit 3)");
	ck_assert_uint_eq(ns.nsegs, 3);
	ck_assert_ptr_null(ns_lookup(&ns, "d"));
	ck_assert(!has_file("d", ".meta"));
	/* a removed name frees its slot */
	ck_assert_int_eq(ns_remove(&ns, a, &owner, &err), 0);
	mk("d", 0640);
	ck_assert_uint_eq(ns.nsegs, 3);
}
END_TEST

START_TEST(limit_bytes)
{
	struct ns_limits l = { .maxsegs = 100, .maxbytes = 0 };
	struct segment *a, *b, *c;

	l.maxbytes = 4 * P;
	reopen_ns(&l);
	a = mk("a", 0640);
	b = mk("b", 0640);
	c = mk("c", 0640);
	must_setaddr(a, SEG_VERB_VA, base, 3 * P);
	ck_assert_int_eq(setaddr(b, SEG_VERB_VA, base + 8 * P, 2 * P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	must_contain(err.msg, "segment memory limit");
	ck_assert_int_eq(b->verb, SEG_VERB_NONE);
	ck_assert(!has_file("b", ".seg"));
	ck_assert_uint_eq(ns.bytes, 3 * P);
	ck_assert(range_free(base + 8 * P, 2 * P));
	/* ADDR 0 is held to the limit too */
	ck_assert_int_eq(setaddr(b, SEG_VERB_ADDR, 0, 2 * P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	/* exactly up to the limit */
	must_setaddr(b, SEG_VERB_VA, base + 8 * P, P);
	ck_assert_uint_eq(ns.bytes, 4 * P);
	ck_assert_int_eq(setaddr(c, SEG_VERB_VA, base + 16 * P, P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	ck_assert_int_eq(c->verb, SEG_VERB_NONE);
}
END_TEST

/* A single segment larger than the whole limit; and a limit of 0. */
START_TEST(limit_bytes_edges)
{
	struct ns_limits l = { .maxsegs = 100, .maxbytes = 0 };
	struct segment *a;

	reopen_ns(&l);
	a = mk("a", 0640);
	ck_assert_int_eq(setaddr(a, SEG_VERB_VA, base, P), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	l.maxbytes = 2 * P;
	reopen_ns(&l);
	a = mk("a", 0640);
	ck_assert_int_eq(setaddr(a, SEG_VERB_VA, base, UINT64_C(1) << 46), -1);
	ck_assert_int_eq(err.code, ENOSPC);
	ck_assert_uint_eq(ns.bytes, 0);
}
END_TEST

/* The defaults allow at least 10,000 segments. */
START_TEST(limit_default_ten_thousand)
{
	char name[32];
	int i;

	ck_assert_uint_ge(SEGD_DEF_MAXSEGS, 10000);
	ck_assert_uint_ge(lim.maxsegs, 10000);
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "seg%05d", i);
		mk(name, 0600);
	}
	ck_assert_uint_eq(ns.nsegs, 10000);
}
END_TEST

/* ---- remove ---- */

START_TEST(remove_drops_name)
{
	struct segment *s = mk("example", 0640);

	must_setaddr(s, SEG_VERB_VA, base, 2 * P);
	ck_assert_int_eq(ns_remove(&ns, s, &owner, &err), 0);
	ck_assert_ptr_null(ns_lookup(&ns, "example"));
	ck_assert_uint_eq(ns.nsegs, 0);
	ck_assert(!has_file("example", ".meta"));
	ck_assert(!has_file("example", ".seg"));
	/* nothing holds it: memory and range are gone at once */
	ck_assert_uint_eq(ns.bytes, 0);
	ck_assert_ptr_null(ns_find_range(&ns, base, P));
	ck_assert(range_free(base, 2 * P));
	/* the name and the range can be used again */
	s = mk("example", 0600);
	must_setaddr(s, SEG_VERB_VA, base, 2 * P);
	ck_assert_uint_eq(((const char *)(uintptr_t)base)[0], 0);	/* fresh */
}
END_TEST

START_TEST(remove_unallocated)
{
	struct segment *s = mk("example", 0640);

	ck_assert_int_eq(ns_remove(&ns, s, &owner, &err), 0);
	ck_assert_ptr_null(ns_lookup(&ns, "example"));
	ck_assert_int_eq(count_entries(dir), 0);
}
END_TEST

START_TEST(remove_owner_or_root)
{
	struct segment *s = mk("example", 0666);

	/* even with every mode bit, a stranger may not remove */
	memset(&err, 0, sizeof err);
	ck_assert_int_eq(ns_remove(&ns, s, &other, &err), -1);
	ck_assert_int_eq(err.code, EPERM);
	must_contain(err.msg, "permission denied");
	must_contain(err.msg, "owner");
	ck_assert_ptr_eq(ns_lookup(&ns, "example"), s);
	ck_assert(has_file("example", ".meta"));
	ck_assert_uint_eq(ns.nsegs, 1);
	/* nor a member of the owner's group */
	other.gid = OWNER_GID;
	ck_assert_int_eq(ns_remove(&ns, s, &other, &err), -1);
	/* root may */
	ck_assert_int_eq(ns_remove(&ns, s, &root, &err), 0);
	ck_assert_ptr_null(ns_lookup(&ns, "example"));
}
END_TEST

/*
 * Remove while attached: the name goes at once, the memory and its
 * address range stay until the last reference is put.
 */
START_TEST(remove_while_held)
{
	struct segment *s = mk("example", 0640), *b, *again;
	char *mem = (char *)(uintptr_t)base;
	struct segw_info i;

	must_setaddr(s, SEG_VERB_VA, base, 2 * P);
	memcpy(mem, "hi mom", 6);
	seg_hold(s);			/* an attachment */
	s->nattach++;
	ck_assert_int_eq(ns_remove(&ns, s, &owner, &err), 0);
	ck_assert_ptr_null(ns_lookup(&ns, "example"));
	ck_assert_uint_eq(ns.nsegs, 0);
	ck_assert(!has_file("example", ".meta"));
	/* the memory is still there, and still shared with its file */
	ck_assert_mem_eq(mem, "hi mom", 6);
	memcpy(mem + P, "still", 5);
	ck_assert_mem_eq(mem + P, "still", 5);
	seg_to_info(s, &i);
	ck_assert_uint_eq(i.flags & SEGW_INFO_REMOVED, SEGW_INFO_REMOVED);
	/* its range stays reserved and counted */
	ck_assert_ptr_eq(ns_find_range(&ns, base, P), s);
	ck_assert_uint_eq(ns.bytes, 2 * P);
	b = mk("other", 0640);
	ck_assert_int_eq(setaddr(b, SEG_VERB_VA, base + P, 2 * P), -1);
	ck_assert_int_eq(err.code, EADDRINUSE);
	must_contain(err.msg, "'example'");
	/* the name can be taken again meanwhile, elsewhere */
	again = mk("example", 0640);
	must_setaddr(again, SEG_VERB_VA, base + 4 * P, P);
	ck_assert_uint_eq(((const char *)(uintptr_t)(base + 4 * P))[0], 0);
	ck_assert_mem_eq(mem, "hi mom", 6);		/* not the old memory */
	/* the last detach frees memory and range */
	s->nattach--;
	seg_put(&ns, s);
	ck_assert_ptr_null(ns_find_range(&ns, base, P));
	ck_assert_uint_eq(ns.bytes, P);
	ck_assert(range_free(base, 2 * P));
	must_setaddr(b, SEG_VERB_VA, base + P, 2 * P);
	ck_assert_ptr_eq(ns_lookup(&ns, "example"), again);
}
END_TEST

/* Several holders: only the last put releases. */
START_TEST(references_counted)
{
	struct segment *s = mk("example", 0640);
	int k;

	must_setaddr(s, SEG_VERB_VA, base, P);
	for (k = 0; k < 3; k++)
		seg_hold(s);
	ck_assert_uint_eq(s->refs, 4);
	seg_put(&ns, s);			/* a detach while named */
	ck_assert_ptr_eq(ns_lookup(&ns, "example"), s);
	ck_assert_int_eq(ns_remove(&ns, s, &owner, &err), 0);
	ck_assert_uint_eq(s->refs, 2);
	seg_put(&ns, s);
	ck_assert_ptr_eq(ns_find_range(&ns, base, P), s);
	seg_put(&ns, s);
	ck_assert_ptr_null(ns_find_range(&ns, base, P));
	ck_assert_uint_eq(ns.bytes, 0);
}
END_TEST

/* ---- ns_find_range ---- */

START_TEST(find_range)
{
	struct segment *a = mk("a", 0640), *b = mk("b", 0640);

	mk("unallocated", 0640);
	must_setaddr(b, SEG_VERB_VA, base + 8 * P, 2 * P);
	must_setaddr(a, SEG_VERB_VA, base, 4 * P);
	ck_assert_ptr_eq(ns_find_range(&ns, base, 4 * P), a);
	ck_assert_ptr_eq(ns_find_range(&ns, base + P, P), a);
	ck_assert_ptr_eq(ns_find_range(&ns, base + 3 * P, P), a);
	ck_assert_ptr_eq(ns_find_range(&ns, base + 1, 1), a);
	ck_assert_ptr_eq(ns_find_range(&ns, base + 4 * P - 1, 1), a);
	ck_assert_ptr_null(ns_find_range(&ns, base + 3 * P, 2 * P));
	ck_assert_ptr_null(ns_find_range(&ns, base + 4 * P, 1));
	ck_assert_ptr_null(ns_find_range(&ns, base + 4 * P, P));
	ck_assert_ptr_null(ns_find_range(&ns, base - P, 2 * P));
	ck_assert_ptr_null(ns_find_range(&ns, base - 1, 1));
	ck_assert_ptr_null(ns_find_range(&ns, base, 10 * P));
	ck_assert_ptr_eq(ns_find_range(&ns, base + 8 * P, 2 * P), b);
	ck_assert_ptr_eq(ns_find_range(&ns, base + 10 * P - 1, 1), b);
	ck_assert_ptr_null(ns_find_range(&ns, base + 9 * P, 2 * P));
	ck_assert_ptr_null(ns_find_range(&ns, base + 10 * P, 1));
	ck_assert_ptr_null(ns_find_range(&ns, base, 0));
	ck_assert_ptr_null(ns_find_range(&ns, 0, P));
	ck_assert_ptr_null(ns_find_range(&ns, UINT64_MAX - 10, 20));
	ck_assert_ptr_null(ns_find_range(&ns, base, UINT64_MAX));
	ck_assert_ptr_null(ns_find_range(&ns, UINT64_MAX, 1));
}
END_TEST

/* ---- restart ---- */

START_TEST(restore_after_restart)
{
	struct segment *a = mk("a", 0640), *b, *c, *d, *e;
	struct cred someone = { .pid = getpid(), .uid = 1001, .gid = 1002 };
	uint64_t cva, clen;
	int fds;

	must_setaddr(a, SEG_VERB_VA, base, 2 * P);
	memcpy((char *)(uintptr_t)base + P - 3, "hi mom", 6);
	b = ns_create(&ns, "b", 0604, &someone, &err);
	ck_assert_ptr_nonnull(b);
	c = mk("c", 0600);
	must_setaddr(c, SEG_VERB_UMSG, 0, 3 * P);
	cva = c->va;
	clen = c->len;
	memset((char *)(uintptr_t)cva, 'c', clen);
	d = mk("d", 0600);
	must_setaddr(d, SEG_VERB_VA, base + 8 * P, P);
	ck_assert_int_eq(ns_remove(&ns, d, &owner, &err), 0);
	e = mk("e", 0600);
	must_setaddr(e, SEG_VERB_KMSG, base + 12 * P, P);
	seg_hold(e);
	ck_assert_int_eq(ns_remove(&ns, e, &owner, &err), 0);

	fds = count_fds();
	ck_assert_int_eq(restart(), 3);
	/* one descriptor each for a and c: none leaked, none lost */
	ck_assert_int_eq(count_fds(), fds - 1);
	ck_assert_uint_eq(ns.nsegs, 3);
	ck_assert_uint_eq(ns.bytes, 2 * P + clen);

	a = ns_lookup(&ns, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->verb, SEG_VERB_VA);
	ck_assert_uint_eq(a->va, base);
	ck_assert_uint_eq(a->len, 2 * P);
	ck_assert_uint_eq(a->uid, OWNER_UID);
	ck_assert_uint_eq(a->gid, OWNER_GID);
	ck_assert_uint_eq(a->mode, 0640);
	ck_assert_int_eq(a->named, 1);
	ck_assert_uint_eq(a->refs, 1);
	ck_assert_uint_eq(a->nattach, 0);
	ck_assert_ptr_eq(a->map, (void *)(uintptr_t)base);
	ck_assert_mem_eq((char *)(uintptr_t)base + P - 3, "hi mom", 6);

	b = ns_lookup(&ns, "b");
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->verb, SEG_VERB_NONE);
	ck_assert_uint_eq(b->uid, 1001);
	ck_assert_uint_eq(b->gid, 1002);
	ck_assert_uint_eq(b->mode, 0604);
	ck_assert_int_eq(b->fd, -1);

	c = ns_lookup(&ns, "c");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->verb, SEG_VERB_UMSG);
	ck_assert_uint_eq(c->va, cva);
	ck_assert_uint_eq(c->len, clen);
	ck_assert_int_eq(((char *)(uintptr_t)cva)[clen - 1], 'c');

	/* removed segments stay removed */
	ck_assert_ptr_null(ns_lookup(&ns, "d"));
	ck_assert_ptr_null(ns_lookup(&ns, "e"));

	/* the rules hold for what was restored */
	ck_assert_int_eq(setaddr(a, SEG_VERB_VA, base + 20 * P, P), -1);
	must_contain(err.msg, "already allocated");
	ck_assert_int_eq(setaddr(b, SEG_VERB_VA, base + P, P), -1);
	must_contain(err.msg, "overlaps segment 'a'");
	ck_assert_ptr_eq(ns_find_range(&ns, cva, clen), c);
	must_setaddr(b, SEG_VERB_VA, base + 4 * P, P);
	ck_assert_ptr_eq(ns_find_range(&ns, base + 4 * P, P), b);

	/* and a second restart finds the new state */
	ck_assert_int_eq(restart(), 3);
	b = ns_lookup(&ns, "b");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->va, base + 4 * P);
	ck_assert_mem_eq((char *)(uintptr_t)base + P - 3, "hi mom", 6);
}
END_TEST

/* Restoring respects the limits it is started with. */
START_TEST(restore_respects_limits)
{
	mk_n(5);
	lim.maxsegs = 3;
	ck_assert_int_eq(quietly(restart), 3);
	ck_assert_uint_eq(ns.nsegs, 3);
}
END_TEST

/* ---- untrusted state directory ---- */

START_TEST(malformed_meta_ignored)
{
	static const uint8_t junk[] = { 0x7f, 'E', 'L', 'F', 0, 0xff, 0xfe, '\n',
	    's', 'e', 'g', 'd', '1', 0, ' ', '1' };
	struct segment *a = mk("good", 0640);
	char text[1024], longname[SEG_NAMEMAX + 16];
	uint64_t busy = base + 40 * P;
	void *foreign;
	int fds, n;

	must_setaddr(a, SEG_VERB_VA, base, 4 * P);
	memcpy((void *)(uintptr_t)base, "good", 4);

	put_file("binary.meta", junk, sizeof junk);
	put_text("empty.meta", "");
	put_text("short.meta", "segd1 1000 2000");
	put_text("version.meta", "segd2 1000 2000 640 0 0 0\n");
	put_text("words.meta", "segd1 owner group rw va here there\n");
	put_text("verb.meta", "segd1 1000 2000 640 9 0 0\n");
	put_text("mode.meta", "segd1 1000 2000 77777 0 0 0\n");
	put_text("octal.meta", "segd1 1000 2000 999 0 0 0\n");
	put_text("extra.meta", "segd1 1000 2000 640 0 0 0 more\n");
	put_text("overflow.meta",
	    "segd1 1000 2000 640 1 123456789abcdef0123 1000\n");
	/* ids past 32 bits once wrapped to root's; address 0 was mapped */
	put_text("gid32.meta", "segd1 1000 4294967296 640 0 0 0\n");
	put_text("uid32.meta", "segd1 4294967296 2000 640 0 0 0\n");
	put_text("uidneg.meta", "segd1 -1 2000 640 0 0 0\n");
	put_text("uidmax.meta", "segd1 4294967295 2000 640 0 0 0\n");
	put_meta("zeroaddr", SEG_VERB_VA, 0, P);
	put_seg("zeroaddr", P);
	put_text("unallocva.meta", "segd1 1000 2000 640 0 10000 1000\n");
	/* a sane line padded past what is read */
	memset(text, ' ', sizeof text);
	memcpy(text, "segd1 1000 2000 640 0 0 0", 25);
	memcpy(text + sizeof text - 4, "junk", 4);
	put_file("long.meta", text, sizeof text);
	/* allocated, but the backing file is missing or wrong */
	put_meta("noseg", SEG_VERB_VA, base + 16 * P, P);
	put_meta("dirseg", SEG_VERB_VA, base + 18 * P, P);
	ck_assert_int_eq(mkdirat(st.dirfd, "dirseg.seg", 0700), 0);
	put_meta("fifoseg", SEG_VERB_VA, base + 19 * P, P);
	ck_assert_int_eq(mkfifoat(st.dirfd, "fifoseg.seg", 0600), 0);
	/* bad ranges with a fitting backing file */
	put_meta("unaligned", SEG_VERB_VA, base + 20 * P + 1, P);
	put_seg("unaligned", P);
	put_meta("oddlen", SEG_VERB_VA, base + 21 * P, P + 1);
	put_seg("oddlen", P + 1);
	put_meta("zerolen", SEG_VERB_VA, base + 22 * P, 0);
	put_seg("zerolen", 0);
	put_meta("high", SEG_VERB_VA, SEGD_USER_TOP, P);
	put_seg("high", P);
	put_meta("wrap", SEG_VERB_VA, UINT64_MAX - P + 1, P);
	put_seg("wrap", P);
	/* a range this process has something else at */
	foreign = mmap((void *)(uintptr_t)busy, P, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_eq(foreign, (void *)(uintptr_t)busy);
	put_meta("busy", SEG_VERB_VA, busy, P);
	put_seg("busy", P);
	/* names that are no segment names */
	put_text(".meta", "segd1 1000 2000 640 0 0 0\n");
	put_text("bad name.meta", "segd1 1000 2000 640 0 0 0\n");
	put_text("...meta", "segd1 1000 2000 640 0 0 0\n");	/* name ".." */
	memset(longname, 'n', SEG_NAMEMAX + 1);
	strcpy(longname + SEG_NAMEMAX + 1, ".meta");
	put_text(longname, "segd1 1000 2000 640 0 0 0\n");
	/* not regular files */
	ck_assert_int_eq(mkdirat(st.dirfd, "dir.meta", 0700), 0);
	ck_assert_int_eq(symlinkat("good.meta", st.dirfd, "link.meta"), 0);
	ck_assert_int_eq(symlinkat("nowhere", st.dirfd, "dangling.meta"), 0);
	/* leftovers that are not metadata at all */
	put_text("good.meta.tmp", "segd1 0 0 777 0 0 0\n");
	put_text("stray.seg", "x");

	n = count_entries(dir);
	fds = count_fds();
	ck_assert_int_eq(quietly(restart), 1);
	ck_assert_int_eq(count_fds(), fds);		/* good's fd, nothing more */
	ck_assert_uint_eq(ns.nsegs, 1);
	ck_assert_uint_eq(ns.bytes, 4 * P);
	a = ns_lookup(&ns, "good");
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->mode, 0640);
	ck_assert_mem_eq((void *)(uintptr_t)base, "good", 4);
	ck_assert_ptr_null(ns_lookup(&ns, "link"));
	ck_assert_ptr_null(ns_lookup(&ns, "noseg"));
	ck_assert_ptr_null(ns_lookup(&ns, "busy"));
	ck_assert(range_free(base + 16 * P, 8 * P));	/* nothing mapped */
	/* ignored files are left where they are */
	ck_assert_int_eq(count_entries(dir), n);
	munmap(foreign, P);
}
END_TEST

/*
 * A backing file a client resized (grown past -M, or truncated) is put back
 * to the segment's length at the restart: the segment is never dropped.
 */
START_TEST(resized_backing_restored)
{
	struct segment *g, *c;
	struct stat sb;
	int fd;

	put_meta("grown", SEG_VERB_VA, base, P);
	put_seg("grown", 64 * P);
	put_meta("cut", SEG_VERB_VA, base + 2 * P, 4 * P);
	put_seg("cut", 0);
	ck_assert_int_eq(quietly(restart), 2);
	g = ns_lookup(&ns, "grown");
	c = ns_lookup(&ns, "cut");
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(g->len, P);
	ck_assert_uint_eq(c->len, 4 * P);
	ck_assert_uint_eq(ns.bytes, 5 * P);
	ck_assert_int_eq(fstat(g->fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)P);
	ck_assert_int_eq(fstat(c->fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)(4 * P));
	/* the restored pages are there, zero, and writable */
	ck_assert_int_eq(((volatile char *)(uintptr_t)(base + 2 * P))[3 * P], 0);
	((volatile char *)(uintptr_t)(base + 2 * P))[3 * P] = 'x';
	fd = openat(st.dirfd, "cut.seg", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)(4 * P));
	close(fd);
}
END_TEST

/* Two saved segments that overlap: the first found wins, never both. */
START_TEST(overlapping_meta)
{
	struct segment *x, *y;

	put_meta("x", SEG_VERB_VA, base, 4 * P);
	put_seg("x", 4 * P);
	put_meta("y", SEG_VERB_ADDR, base + 2 * P, 4 * P);
	put_seg("y", 4 * P);
	ck_assert_int_eq(quietly(restart), 1);
	x = ns_lookup(&ns, "x");
	y = ns_lookup(&ns, "y");
	ck_assert((x == NULL) != (y == NULL));
	ck_assert_uint_eq(ns.bytes, 4 * P);
	ck_assert_ptr_eq(ns_find_range(&ns, base + 2 * P, 2 * P), x ? x : y);
}
END_TEST

/* A FIFO named like metadata must not hang the restart. */
START_TEST(fifo_meta_ignored)
{
	mk("good", 0640);
	ck_assert_int_eq(mkfifoat(st.dirfd, "fifo.meta", 0600), 0);
	ck_assert_int_eq(quietly(restart), 1);
	ck_assert_ptr_nonnull(ns_lookup(&ns, "good"));
	ck_assert_ptr_null(ns_lookup(&ns, "fifo"));
}
END_TEST

/* Random metadata never crashes the loader; what loads obeys the rules. */
START_TEST(garbage_meta)
{
	static const char *pieces[] = { "segd1", " ", "0", "1", "640", "7777",
	    "4", "5", "ffffffff", "10000000", "1000", "-1", "x", "\n", "%n",
	    "%s", "0x", "99999999999999999999", "\t", "\0" };
	unsigned seed = 1234;
	char name[32], text[300];
	int i, k, loaded;
	struct segment *s;

	for (i = 0; i < 300; i++) {
		size_t n = 0;

		for (k = 0; k < 1 + (int)(rand_r(&seed) % 16) && n < 250; k++) {
			const char *p = pieces[rand_r(&seed) %
			    (sizeof pieces / sizeof pieces[0])];
			size_t pl = *p ? strlen(p) : 1;
			memcpy(text + n, p, pl);
			n += pl;
		}
		snprintf(name, sizeof name, "g%d.meta", i);
		put_file(name, text, n);
		if (i % 3 == 0) {
			snprintf(name, sizeof name, "g%d", i);
			put_seg(name, (uint64_t)(rand_r(&seed) % 3) * P);
		}
	}
	loaded = quietly(restart);
	ck_assert_int_ge(loaded, 0);
	ck_assert_uint_eq(ns.nsegs, (size_t)loaded);
	TAILQ_FOREACH(s, &ns.all, entry) {
		ck_assert(seg_name_valid(s->name));
		ck_assert(s->verb < SEG_VERB_MAX);
		if (s->verb != SEG_VERB_NONE) {
			ck_assert(s->len > 0 && s->va % P == 0 && s->len % P == 0);
			ck_assert(s->va + s->len <= SEGD_USER_TOP);
			ck_assert_ptr_eq(ns_find_range(&ns, s->va, s->len), s);
		}
	}
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "create", &fix, 60, name_validity,
	    create_records_owner_and_mode, create_duplicate, many_names, NULL);
	ck_tcase(s, "ctl", &fix, 0, setaddr_maps_memory, resident_after_write,
	    second_ctl_refused,
	    overlap_refused, range_busy_in_process, addr_zero_unique,
	    addr_zero_avoids_busy_range, addr_zero_after_fixed_at_auto_base,
	    find_range, NULL);
	ck_tcase(s, "limits", &fix, 300, limit_segments, limit_bytes,
	    limit_bytes_edges, limit_default_ten_thousand, quota_per_owner,
	    removed_held_counted, descriptor_limit, NULL);
	ck_tcase(s, "remove", &fix, 0, remove_drops_name, remove_unallocated,
	    remove_owner_or_root, remove_while_held, references_counted, NULL);
	ck_tcase(s, "restart", &fix, 30, restore_after_restart,
	    restore_respects_limits, malformed_meta_ignored,
	    resized_backing_restored, overlapping_meta, fifo_meta_ignored,
	    garbage_meta, NULL);
}
