/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * imp_io: a libseg client for the RDMA tier's export/import tests.
 *
 *   imp_io [-x EXPSOCK -X EXPSEG] [-T SECONDS] [-S SEED] COMMAND...
 *
 * SEGD_SOCKET names the importer's segd.  With -x and -X the program first
 * attaches segment EXPSEG through the exporter's segd (socket EXPSOCK), then
 * forks: the child talks to the importer's segd and runs the commands with
 * the exporter's memory mapped, so every transfer is checked against the
 * remote bytes themselves (and refused ones are shown not to touch them).
 * The parent waits and exits with the child's status.
 *
 * Commands run in order.  "zc" means the local buffer lies inside the
 * segment of `zcbuf` (zero copy), "bounce" a malloc'd buffer.
 *   zcbuf NAME VA LEN        create (if needed) and attach the importer-side
 *                            segment NAME at VA: the zero-copy buffers
 *   import REF               seg_import; later commands use the newest one
 *   unimport                 seg_unimport the newest import
 *   info                     print "len L rva 0xA rkey 0xK writable W gen G flags F"
 *   sweep zc|bounce          get and put of sizes from 1 byte to 64 MiB at
 *                            unaligned offsets (local and remote), compared
 *                            byte for byte, guard bytes checked; segd's
 *                            bounce_bytes/zerocopy_bytes must grow by exactly
 *                            the bytes moved on the matching path only   [X]
 *   vec N zc|bounce|mixed    seg_getv and seg_putv of N entries of mixed
 *                            lengths (some 0) at shuffled, unaligned offsets;
 *                            gaps between entries must stay untouched    [X]
 *   bounds                   gets and puts past the end (both paths, and
 *                            batches with one bad entry) fail with ERANGE
 *                            "past the end" and leave remote memory as it
 *                            was                                         [X]
 *   ro                       read-only grant: puts fail with EACCES
 *                            "exported read-only to this node" and touch
 *                            nothing; gets work                          [X]
 *   get OFF LEN zc|bounce    get, compared with the remote bytes         [X]
 *   put OFF LEN zc|bounce    put of random bytes + barrier, compared     [X]
 *   getf OFF LEN FILE zc|bounce   get into FILE
 *   putf OFF FILE zc|bounce  put FILE's bytes at OFF, then seg_barrier
 *   xget OFF LEN TEXT        the get must fail with TEXT in its message
 *   xput OFF LEN TEXT        the put must fail with TEXT in its message
 *   ximport REF TEXT         the import must fail with TEXT in its message
 *   xls NODE TEXT            seg_peer_list must fail with TEXT in its message
 *   tget OFF LEN zc|bounce   timed get, never fatal: prints "tget start pid
 *                            PID at EPOCH_MS", then "tget ok after MS ms"
 *                            or "tget fail at EPOCH_MS in get 1 of 1 after
 *                            MS ms: MESSAGE"
 *   tgets N OFF LEN zc|bounce     the same for N gets back to back (the
 *                            failure names the get that failed)
 *   tput, tputs              the same for puts (of whatever the buffer holds)
 *   tretry N MS OFF LEN zc|bounce   get until one succeeds, at most N tries
 *                            MS ms apart: "tretry fail in try K after X ms:
 *                            MESSAGE" per failure, then "tretry ok in try K
 *                            after T ms" (T: from the first try's start);
 *                            fatal if no try succeeded
 *   barrier                  seg_barrier must succeed
 *   xbarrier TEXT            seg_barrier must fail with TEXT in its message
 *   path direct|segd         the newest import's path must be this one
 *   lstats                   print this process's own counters
 *   tbarrier                 seg_barrier, never fatal: "tbarrier ok" or
 *                            "tbarrier fail: MESSAGE"
 *   lsn NODE N               N listings of NODE's exports, all must succeed
 *   stats                    print segd's counters
 *   mkexports PFX N VA STEP LEN   N segments PFX0..PFX<N-1> made, at VA,
 *                            VA+STEP, ..., of LEN bytes, and exported to all
 *                            (one process for what would be 3N segctl runs)
 *   say WORD                 print WORD
 *   sync                     wait for a line on standard input
 *   sleep MS                 sleep
 *   hold                     print "holding pid PID", sleep until killed
 *                            (or the -T limit)
 * [X]: needs -x/-X.  Every failed check prints "imp_io: FAIL: ..." and exits
 * 1; -T (default 240) bounds the whole run (exit 124 when it expires); 2 is
 * a usage error, 4 standard input closed during sync.
 */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seg.h"
#include "testlib.h"

#define MIB (1024u * 1024u)
#define MAX_IMPORTS 64

static uint8_t *X;		/* the exporter's segment, mapped */
static size_t   xlen;
static uint8_t *zc;		/* the zero-copy buffer segment */
static size_t   zclen;
static seg_import_t *imps[MAX_IMPORTS];
static int      nimps;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: imp_io [-x EXPSOCK -X EXPSEG] [-T SECONDS] "
	    "[-S SEED] COMMAND...\n");
	exit(2);
}

/* dst = ~src: every byte differs from what a transfer should leave. */
static void
complement(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = (uint8_t)~src[i];
}

static seg_import_t *
cur(void)
{
	if (nimps == 0)
		fail("no import: use the import command first");
	return imps[nimps - 1];
}

/*
 * what (started at t0) must have failed (ok == 0) with a message that
 * contains want: else fail; say so.
 */
static void
failed_as_expected(int ok, const char *what, const char *want, long long t0)
{
	if (ok)
		fail("%s succeeded; it must fail with \"%s\"", what, want);
	if (strstr(seg_errstr(), want) == NULL)
		fail("%s failed with \"%s\"; want \"%s\"", what, seg_errstr(),
		    want);
	printf("%s failed as expected after %lld ms: %s\n", what,
	    now_ms() - t0, seg_errstr());
}

static void
need_x(const char *cmd)
{
	if (X == NULL)
		fail("%s needs -x EXPSOCK -X EXPSEG", cmd);
}

/* cmd needs -x, a zcbuf and the current import's info (into ii) */
static void
need_zc_info(const char *cmd, struct seg_import_info *ii)
{
	need_x(cmd);
	if (zc == NULL)
		fail("%s needs a zcbuf", cmd);
	if (seg_import_info(cur(), ii) < 0)
		fail("seg_import_info: %s", seg_errstr());
}

static int
is_zc(const char *kind)
{
	if (strcmp(kind, "zc") == 0) {
		if (zc == NULL)
			fail("zc needs a zcbuf first");
		return 1;
	}
	if (strcmp(kind, "bounce") == 0)
		return 0;
	fail("'%s': expected zc or bounce", kind);
}

/*
 * The counter KEY of whoever moves the current import's bytes: this
 * process's (seg_stats_local, "direct_KEY") on the direct path, else the
 * importer's segd's.
 */
static uint64_t
stat_of(const char *key)
{
	char lkey[64];

	if (nimps > 0 && seg_import_path(cur(), NULL, 0) == SEG_PATH_DIRECT) {
		snprintf(lkey, sizeof lkey, "direct_%s", key);
		return local_counter(lkey);
	}
	return stat_counter(key);
}

static void
compare(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
	size_t i;

	if (memcmp(got, want, n) == 0)
		return;
	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	fail("%s: %zu bytes differ from byte %zu on (got 0x%02x, want 0x%02x)",
	    what, n, i, got[i], want[i]);
}

/* A buffer of n bytes at a small unaligned offset, zero copy or malloc'd. */
static uint8_t *
buffer(int zerocopy, size_t n, size_t loff, uint8_t **tofree)
{
	uint8_t *b;

	*tofree = NULL;
	if (zerocopy) {
		if (64 + loff + n + 64 > zclen)
			fail("zero-copy buffer of %zu bytes is too small for %zu",
			    zclen, n);
		return zc + 64 + loff;
	}
	if ((b = malloc(n + loff + 128)) == NULL)
		fail("out of memory");
	*tofree = b;
	return b + 64 + loff;
}

static void
do_get(int zerocopy, uint64_t off, size_t n, size_t loff, const char *what,
    long long *ms)
{
	uint8_t *fr, *b = buffer(zerocopy, n, loff, &fr);
	long long t0;
	ssize_t r;

	fill(X + off, n);
	complement(b, X + off, n);
	b[-1] = 0xc3;
	b[n] = 0x3c;
	t0 = now_ms();
	if ((r = seg_get(cur(), off, b, n)) != (ssize_t)n)
		fail("%s: seg_get(0x%" PRIx64 ", %zu) = %zd: %s", what, off, n,
		    r, seg_errstr());
	if (ms)
		*ms = now_ms() - t0;
	compare(what, b, X + off, n);
	if (b[-1] != 0xc3 || b[n] != 0x3c)
		fail("%s: local bytes beside the buffer were changed", what);
	free(fr);
}

static void
do_put(int zerocopy, uint64_t off, size_t n, size_t loff, const char *what,
    long long *ms)
{
	uint8_t *fr, *b = buffer(zerocopy, n, loff, &fr);
	uint8_t before = 0, after = 0;
	long long t0;
	ssize_t r;

	fill(b, n);
	complement(X + off, b, n);
	if (off > 0)
		before = X[off - 1] = (uint8_t)rnd();
	if (off + n < xlen)
		after = X[off + n] = (uint8_t)rnd();
	t0 = now_ms();
	if ((r = seg_put(cur(), off, b, n)) != (ssize_t)n)
		fail("%s: seg_put(0x%" PRIx64 ", %zu) = %zd: %s", what, off, n,
		    r, seg_errstr());
	if (seg_barrier(cur()) < 0)
		fail("%s: seg_barrier: %s", what, seg_errstr());
	if (ms)
		*ms = now_ms() - t0;
	compare(what, X + off, b, n);
	if ((off > 0 && X[off - 1] != before) ||
	    (off + n < xlen && X[off + n] != after))
		fail("%s: remote bytes beside the range were changed", what);
	free(fr);
}

static void
cmd_sweep(const char *kind)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 64, 511, 4095, 4096, 4097,
	    65535, 65537, MIB + 13, 8 * MIB + 5, 64 * MIB };
	int zerocopy = is_zc(kind);
	uint64_t b0, z0, b1, z1, total = 0;
	size_t i, k;
	char what[128];

	need_x("sweep");
	b0 = stat_of("bounce_bytes");
	z0 = stat_of("zerocopy_bytes");
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i], loff = (i * 13 + 5) % 61 + 1;
		uint64_t offs[2];
		int noffs;
		long long gms = 0, pms = 0;

		if (n + 12345 > xlen)
			fail("exported segment (%zu bytes) too small for the sweep",
			    xlen);
		/* an unaligned offset inside, and the very end (smaller sizes) */
		offs[0] = n >= 64 * MIB ? 12345 : (i * 7919 + 4093) % (xlen - n);
		offs[1] = xlen - n;
		noffs = n >= 8 * MIB ? 1 : 2;
		if (n == 8 * MIB + 5)
			offs[0] = offs[1];
		for (k = 0; k < (size_t)noffs; k++) {
			snprintf(what, sizeof what, "%s get of %zu bytes at 0x%"
			    PRIx64, kind, n, offs[k]);
			do_get(zerocopy, offs[k], n, loff, what, &gms);
			snprintf(what, sizeof what, "%s put of %zu bytes at 0x%"
			    PRIx64, kind, n, offs[k]);
			do_put(zerocopy, offs[k], n, loff + 3, what, &pms);
			total += 2 * n;
		}
		printf("sweep %s: %zu bytes at 0x%" PRIx64 "%s: get %lld ms, put "
		    "%lld ms\n", kind, n, offs[0], noffs == 2 ? " and the end" :
		    "", gms, pms);
	}
	b1 = stat_of("bounce_bytes");
	z1 = stat_of("zerocopy_bytes");
	printf("sweep %s: %" PRIu64 " bytes moved; bounce_bytes +%" PRIu64
	    ", zerocopy_bytes +%" PRIu64 "\n", kind, total, b1 - b0, z1 - z0);
	if (zerocopy && (b1 != b0 || z1 - z0 != total))
		fail("zero-copy sweep: bounce_bytes grew by %" PRIu64 " (want 0), "
		    "zerocopy_bytes by %" PRIu64 " (want %" PRIu64 ")", b1 - b0,
		    z1 - z0, total);
	if (!zerocopy && (z1 != z0 || b1 - b0 != total))
		fail("bounce sweep: bounce_bytes grew by %" PRIu64 " (want %"
		    PRIu64 "), zerocopy_bytes by %" PRIu64 " (want 0)", b1 - b0,
		    total, z1 - z0);
}

static void
cmd_vec(int n, const char *kind)
{
	struct seg_iov *v = calloc((size_t)n, sizeof *v);
	uint8_t **fr = calloc((size_t)n, sizeof *fr), *expect;
	int *order = malloc((size_t)n * sizeof *order);
	int mixed = strcmp(kind, "mixed") == 0, i, j;
	uint64_t cursor = (rnd() % 64) + 1, lcur = 1, zbytes = 0, bbytes = 0;
	uint64_t b0, z0, b1, z1, sum = 0;

	need_x("vec");
	if (v == NULL || fr == NULL || order == NULL)
		fail("out of memory");
	if (mixed && zc == NULL)
		fail("mixed needs a zcbuf first");
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {	/* entries in a shuffled order */
		int k = (int)(rnd() % (uint64_t)(i + 1)), t = order[i];
		order[i] = order[k];
		order[k] = t;
	}
	for (j = 0; j < n; j++) {
		int zerocopy = mixed ? j % 2 == 0 : is_zc(kind);
		size_t len = j % 97 == 5 ? 0 : (size_t)(rnd() % 16384) + 1;

		i = order[j];
		v[i].off = cursor;
		v[i].len = len;
		cursor += len + rnd() % 61 + 1;
		if (cursor > xlen)
			fail("exported segment too small for %d entries", n);
		if (zerocopy) {
			if (64 + lcur + len + 64 > zclen)
				fail("zero-copy buffer too small for %d entries", n);
			v[i].buf = zc + 64 + lcur;
			lcur += len + rnd() % 61 + 1;
			zbytes += len;
		} else {
			if ((fr[i] = malloc(len + 8)) == NULL)
				fail("out of memory");
			v[i].buf = fr[i] + 1 + j % 7;
			bbytes += len;
		}
		sum += len;
	}
	/* getv */
	b0 = stat_of("bounce_bytes");
	z0 = stat_of("zerocopy_bytes");
	fill(X, cursor);
	for (i = 0; i < n; i++)
		complement(v[i].buf, X + v[i].off, v[i].len);
	if (seg_getv(cur(), v, n) < 0)
		fail("seg_getv of %d %s entries: %s", n, kind, seg_errstr());
	for (i = 0; i < n; i++) {
		char what[96];
		snprintf(what, sizeof what, "getv entry %d (%zu bytes at 0x%"
		    PRIx64 ")", i, v[i].len, v[i].off);
		compare(what, v[i].buf, X + v[i].off, v[i].len);
	}
	/* putv: the image the remote range must have afterwards */
	if ((expect = malloc(cursor)) == NULL)
		fail("out of memory");
	fill(X, cursor);
	memcpy(expect, X, cursor);
	for (i = 0; i < n; i++) {
		fill(v[i].buf, v[i].len);
		memcpy(expect + v[i].off, v[i].buf, v[i].len);
	}
	if (seg_putv(cur(), v, n) < 0)
		fail("seg_putv of %d %s entries: %s", n, kind, seg_errstr());
	if (seg_barrier(cur()) < 0)
		fail("seg_barrier after seg_putv: %s", seg_errstr());
	compare("remote bytes after seg_putv (entries and the gaps between)",
	    X, expect, cursor);
	b1 = stat_of("bounce_bytes");
	z1 = stat_of("zerocopy_bytes");
	printf("vec %s: %d entries, %" PRIu64 " bytes each way (%" PRIu64
	    " zero copy, %" PRIu64 " bounced); bounce_bytes +%" PRIu64
	    ", zerocopy_bytes +%" PRIu64 "\n", kind, n, sum, zbytes, bbytes,
	    b1 - b0, z1 - z0);
	if (b1 - b0 != 2 * bbytes || z1 - z0 != 2 * zbytes)
		fail("vec %s: counters grew by bounce %" PRIu64 " zerocopy %"
		    PRIu64 "; want %" PRIu64 " and %" PRIu64, kind, b1 - b0,
		    z1 - z0, 2 * bbytes, 2 * zbytes);
	for (i = 0; i < n; i++)
		free(fr[i]);
	free(fr);
	free(v);
	free(order);
	free(expect);
}

/* rc must be -1 with errno code and msg in seg_errstr(). */
static void
expect_err(const char *what, long rc, int code, const char *msg)
{
	if (rc >= 0)
		fail("%s succeeded; it must fail with \"%s\"", what, msg);
	if (errno != code || strstr(seg_errstr(), msg) == NULL)
		fail("%s: errno %d (%s), message \"%s\"; want errno %d and \"%s\"",
		    what, errno, strerror(errno), seg_errstr(), code, msg);
	printf("%s: refused: %s\n", what, seg_errstr());
}

/* The remote bytes must still be snap's. */
static void
unchanged(const char *what, const uint8_t *snap)
{
	char m[160];

	snprintf(m, sizeof m, "remote memory after the refused %s", what);
	compare(m, X, snap, xlen);
}

static void
cmd_bounds(void)
{
	struct seg_import_info ii;
	uint64_t L;
	uint8_t *snap, *fr, *b;
	struct {
		uint64_t off;
		size_t len;
	} cases[4];
	struct seg_iov v[11];
	size_t i;
	int zerocopy;
	char what[128];

	need_zc_info("bounds", &ii);
	L = ii.len;
	if (L != xlen)
		fail("import says %" PRIu64 " bytes, the segment has %zu", L, xlen);
	cases[0].off = L - 10, cases[0].len = 20;	/* crosses the end */
	cases[1].off = L, cases[1].len = 1;		/* just past it */
	cases[2].off = UINT64_MAX - 3, cases[2].len = 8;	/* wraps */
	/* crosses the end, larger than the bounce region: several frames */
	cases[3].off = L - 9 * MIB, cases[3].len = 10 * MIB;
	if ((snap = malloc(xlen)) == NULL)
		fail("out of memory");
	fill(X, xlen);
	memcpy(snap, X, xlen);
	for (zerocopy = 0; zerocopy <= 1; zerocopy++)
		for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			size_t n = cases[i].len;
			b = buffer(zerocopy, n, 7, &fr);
			fill(b, n);
			snprintf(what, sizeof what, "%s put of %zu bytes at 0x%"
			    PRIx64, zerocopy ? "zc" : "bounce", n, cases[i].off);
			expect_err(what, seg_put(cur(), cases[i].off, b, n),
			    ERANGE, "past the end");
			if (seg_barrier(cur()) < 0)
				fail("seg_barrier: %s", seg_errstr());
			unchanged(what, snap);
			snprintf(what, sizeof what, "%s get of %zu bytes at 0x%"
			    PRIx64, zerocopy ? "zc" : "bounce", n, cases[i].off);
			expect_err(what, seg_get(cur(), cases[i].off, b, n),
			    ERANGE, "past the end");
			free(fr);
		}
	/* a batch with one bad entry: nothing of it may be written */
	for (zerocopy = 0; zerocopy <= 1; zerocopy++) {
		b = buffer(zerocopy, 11 * 4096, 3, &fr);
		fill(b, 11 * 4096);
		for (i = 0; i < 11; i++) {
			v[i].off = 100000 * i + 17;
			v[i].buf = b + 4096 * i;
			v[i].len = 4000;
		}
		v[10].off = L - 100;	/* the last one runs past the end */
		snprintf(what, sizeof what, "%s putv of 11 entries, the last past "
		    "the end", zerocopy ? "zc" : "bounce");
		expect_err(what, seg_putv(cur(), v, 11), ERANGE, "past the end");
		if (seg_barrier(cur()) < 0)
			fail("seg_barrier: %s", seg_errstr());
		unchanged(what, snap);
		free(fr);
	}
	/* and the import still works, right up to the end */
	do_get(0, L - 4097, 4097, 1, "bounce get up to the end", NULL);
	do_put(1, L - 4097, 4097, 1, "zc put up to the end", NULL);
	free(snap);
}

static void
cmd_ro(void)
{
	struct seg_import_info ii;
	struct seg_iov v[2];
	uint8_t *snap, *fr, *b;
	int zerocopy;
	char what[96];

	need_zc_info("ro", &ii);
	if (ii.writable)
		fail("the import is writable; the grant was NODE:r");
	if ((snap = malloc(xlen)) == NULL)
		fail("out of memory");
	for (zerocopy = 0; zerocopy <= 1; zerocopy++) {
		fill(X, xlen);
		memcpy(snap, X, xlen);
		b = buffer(zerocopy, 2 * 65536, 5, &fr);
		fill(b, 2 * 65536);
		snprintf(what, sizeof what, "%s put on a read-only import",
		    zerocopy ? "zc" : "bounce");
		expect_err(what, seg_put(cur(), 4099, b, 65536), EACCES,
		    "exported read-only to this node");
		unchanged(what, snap);
		v[0].off = 0, v[0].buf = b, v[0].len = 100;
		v[1].off = 70000, v[1].buf = b + 65536, v[1].len = 65536;
		snprintf(what, sizeof what, "%s putv on a read-only import",
		    zerocopy ? "zc" : "bounce");
		expect_err(what, seg_putv(cur(), v, 2), EACCES,
		    "exported read-only to this node");
		if (seg_barrier(cur()) < 0)
			fail("seg_barrier on a read-only import: %s", seg_errstr());
		unchanged(what, snap);
		free(fr);
		do_get(zerocopy, 12347, 65536 + 3, 9, zerocopy ?
		    "zc get on a read-only import" :
		    "bounce get on a read-only import", NULL);
	}
	free(snap);
}

static void
cmd_getf(uint64_t off, size_t n, const char *file, int zerocopy)
{
	uint8_t *fr, *b = buffer(zerocopy, n, 11, &fr);
	FILE *f;

	if (seg_get(cur(), off, b, n) != (ssize_t)n)
		fail("seg_get(0x%" PRIx64 ", %zu): %s", off, n, seg_errstr());
	if ((f = fopen(file, "wb")) == NULL || fwrite(b, 1, n, f) != n ||
	    fclose(f) != 0)
		fail("%s: %s", file, strerror(errno));
	free(fr);
	printf("getf: %zu bytes at 0x%" PRIx64 " into %s\n", n, off, file);
}

static void
cmd_putf(uint64_t off, const char *file, int zerocopy)
{
	uint8_t *fr, *b;
	FILE *f;
	long n;

	if ((f = fopen(file, "rb")) == NULL || fseek(f, 0, SEEK_END) < 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		fail("%s: %s", file, strerror(errno));
	b = buffer(zerocopy, (size_t)n, 13, &fr);
	if (fread(b, 1, (size_t)n, f) != (size_t)n)
		fail("%s: short read", file);
	fclose(f);
	if (seg_put(cur(), off, b, (size_t)n) != (ssize_t)n)
		fail("seg_put(0x%" PRIx64 ", %ld): %s", off, n, seg_errstr());
	if (seg_barrier(cur()) < 0)
		fail("seg_barrier: %s", seg_errstr());
	free(fr);
	printf("putf: %ld bytes of %s at 0x%" PRIx64 "\n", n, file, off);
}

static void
cmd_zcbuf(const char *name, uint64_t va, uint64_t len)
{
	char msg[96];

	if (seg_create(name, 0600) < 0 && errno != EEXIST)
		fail("seg_create %s: %s", name, seg_errstr());
	snprintf(msg, sizeof msg, "va 0x%" PRIx64 " 0x%" PRIx64, va, len);
	if (seg_ctl(name, msg) < 0 && errno != EBUSY)
		fail("seg_ctl %s '%s': %s", name, msg, seg_errstr());
	if ((zc = seg_attach(0, name, NULL, 0)) == NULL)
		fail("seg_attach %s: %s", name, seg_errstr());
	zclen = (size_t)len;
	printf("zcbuf %s at %p, %zu bytes\n", name, (void *)zc, zclen);
}

/* n segments pfx0.., at va + k * step, of len bytes, exported to all */
static void
cmd_mkexports(const char *pfx, uint64_t n, uint64_t va, uint64_t step,
    uint64_t len)
{
	char name[64], msg[96];
	uint64_t k;

	for (k = 0; k < n; k++) {
		snprintf(name, sizeof name, "%s%" PRIu64, pfx, k);
		snprintf(msg, sizeof msg, "va 0x%" PRIx64 " 0x%" PRIx64,
		    va + k * step, len);
		if (seg_create(name, 0600) < 0 || seg_ctl(name, msg) < 0 ||
		    seg_export(name, NULL) < 0)
			fail("segment %s: %s", name, seg_errstr());
	}
	printf("mkexports: %" PRIu64 " segments %s0..%s%" PRIu64 " exported\n",
	    n, pfx, pfx, n - 1);
}

/* Attach the exporter's segment, then fork; the parent waits. */
static void
attach_exporter(const char *xsock, const char *xseg, unsigned limit)
{
	const char *isock = getenv("SEGD_SOCKET");
	char *saved;
	struct seg_info si;
	pid_t pid, parent = getpid();
	int st;

	if (isock == NULL)
		fail("SEGD_SOCKET (the importer's segd) is not set");
	if ((saved = strdup(isock)) == NULL)
		fail("out of memory");
	setenv("SEGD_SOCKET", xsock, 1);
	if ((X = seg_attach(0, xseg, NULL, 0)) == NULL)
		fail("attach %s at the exporter (%s): %s", xseg, xsock,
		    seg_errstr());
	if (seg_stat(xseg, &si) < 0)
		fail("stat %s at the exporter: %s", xseg, seg_errstr());
	xlen = (size_t)si.len;
	setenv("SEGD_SOCKET", saved, 1);
	free(saved);
	fflush(stdout);
	if ((pid = fork()) < 0)
		fail("fork: %s", strerror(errno));
	if (pid > 0) {
		alarm(limit + 10);
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				fail("waitpid: %s", strerror(errno));
		if (WIFEXITED(st))
			exit(WEXITSTATUS(st));
		fprintf(stderr, "imp_io: killed by signal %d\n", WTERMSIG(st));
		exit(1);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

/*
 * count timed gets (or puts) back to back, never fatal: "tget start pid
 * PID at EPOCH_MS", then "tget ok after MS ms" or "tget fail at EPOCH_MS in
 * get K of N after MS ms: MESSAGE" ("tput" for puts).
 */
static void
cmd_timed(int put, uint64_t count, uint64_t off, uint64_t n, int zerocopy)
{
	const char *w = put ? "tput" : "tget", *op = put ? "put" : "get";
	uint8_t *fr, *b = buffer(zerocopy, n, 0, &fr);
	long long t0, t1;
	uint64_t k;
	ssize_t r;

	printf("%s start pid %ld at %lld\n", w, (long)getpid(),
	    epoch_ms());
	t0 = now_ms();
	for (k = 1; k <= count; k++) {
		t1 = now_ms();
		r = put ? seg_put(cur(), off, b, n) : seg_get(cur(), off, b, n);
		if (r != (ssize_t)n) {
			printf("%s fail at %lld in %s %" PRIu64 " of %" PRIu64
			    " after %lld ms: %s\n", w, epoch_ms(), op,
			    k, count, now_ms() - t1, seg_errstr());
			break;
		}
	}
	if (k > count)
		printf("%s ok after %lld ms\n", w, now_ms() - t0);
	free(fr);
}

/*
 * at most count gets, pause_ms apart, until one succeeds (a connection being
 * made again): each failure is printed, then the try that worked and the
 * time since the first began.
 */
static void
cmd_retry(uint64_t count, uint64_t pause_ms, uint64_t off, uint64_t n,
    int zerocopy)
{
	uint8_t *fr, *b = buffer(zerocopy, n, 0, &fr);
	struct timespec ts;
	long long t0, t1;
	uint64_t k;

	ts.tv_sec = (time_t)(pause_ms / 1000);
	ts.tv_nsec = (long)(pause_ms % 1000) * 1000000;
	t0 = now_ms();
	for (k = 1; k <= count; k++) {
		t1 = now_ms();
		if (seg_get(cur(), off, b, n) == (ssize_t)n)
			break;
		printf("tretry fail in try %" PRIu64 " after %lld ms: %s\n", k,
		    now_ms() - t1, seg_errstr());
		if (k < count)
			nanosleep(&ts, NULL);
	}
	if (k > count)
		fail("tretry: no get succeeded in %" PRIu64 " tries", count);
	printf("tretry ok in try %" PRIu64 " after %lld ms\n", k, now_ms() - t0);
	free(fr);
}

/* count listings of node's exports, each of which must succeed */
static void
cmd_lsn(const char *node, uint64_t count)
{
	long long t0 = now_ms();
	struct seg_info *list;
	uint64_t k;
	int n;

	for (k = 0; k < count; k++) {
		if ((n = seg_peer_list(node, &list)) < 0)
			fail("listing %s (%" PRIu64 " of %" PRIu64 "): %s", node,
			    k + 1, count, seg_errstr());
		free(list);
	}
	printf("listed %s %" PRIu64 " times in %lld ms\n", node, count,
	    now_ms() - t0);
}

/* what's statistics (seg_stats, seg_stats_local), printed */
static void
cmd_stats(ssize_t (*fn)(char *, size_t), const char *what)
{
	char buf[1024];

	if (fn(buf, sizeof buf) < 0)
		fail("%s: %s", what, seg_errstr());
	fputs(buf, stdout);
}

int
main(int argc, char *argv[])
{
	const char *xsock = NULL, *xseg = NULL;
	unsigned limit = 240;
	uint64_t seed = 0;
	int ch, i;

	progname = "imp_io";
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "+x:X:T:S:")) != -1) {
		switch (ch) {
		case 'x':
			xsock = optarg;
			break;
		case 'X':
			xseg = optarg;
			break;
		case 'T':
			limit = (unsigned)num(optarg);
			break;
		case 'S':
			seed = num(optarg);
			break;
		default:
			usage();
		}
	}
	if ((xsock == NULL) != (xseg == NULL) || optind == argc)
		usage();
	if (seed == 0)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng ^= seed;
	printf("seed %" PRIu64 "\n", seed);
	signal(SIGALRM, on_alarm);
	if (xsock != NULL)
		attach_exporter(xsock, xseg, limit);
	alarm(limit);
	for (i = optind; i < argc; ) {
		const char *c = argv[i++];
		int left = argc - i;

#define NEED(k) do { if (left < (k)) usage(); } while (0)
		if (strcmp(c, "zcbuf") == 0) {
			NEED(3);
			cmd_zcbuf(argv[i], num(argv[i + 1]), num(argv[i + 2]));
			i += 3;
		} else if (strcmp(c, "import") == 0) {
			NEED(1);
			if (nimps == MAX_IMPORTS)
				fail("too many imports");
			if ((imps[nimps] = seg_import(argv[i])) == NULL)
				fail("seg_import %s: %s", argv[i], seg_errstr());
			nimps++;
			printf("imported %s\n", argv[i++]);
		} else if (strcmp(c, "unimport") == 0) {
			if (seg_unimport(cur()) < 0)
				fail("seg_unimport: %s", seg_errstr());
			nimps--;
			printf("unimported\n");
		} else if (strcmp(c, "info") == 0) {
			struct seg_import_info ii;
			if (seg_import_info(cur(), &ii) < 0)
				fail("seg_import_info: %s", seg_errstr());
			printf("len %" PRIu64 " rva 0x%" PRIx64 " rkey 0x%x writable "
			    "%d gen %" PRIu64 " flags %d\n", ii.len, ii.rva, ii.rkey,
			    ii.writable, ii.gen, seg_import_flags(cur()));
		} else if (strcmp(c, "sweep") == 0) {
			NEED(1);
			cmd_sweep(argv[i++]);
		} else if (strcmp(c, "vec") == 0) {
			NEED(2);
			cmd_vec((int)num(argv[i]), argv[i + 1]);
			i += 2;
		} else if (strcmp(c, "bounds") == 0) {
			cmd_bounds();
		} else if (strcmp(c, "ro") == 0) {
			cmd_ro();
		} else if (strcmp(c, "get") == 0 || strcmp(c, "put") == 0) {
			char what[96];
			uint64_t off, n;
			NEED(3);
			need_x(c);
			off = num(argv[i]);
			n = num(argv[i + 1]);
			if (off > xlen || n > xlen - off)
				fail("%s: range past the segment", c);
			snprintf(what, sizeof what, "%s %s of %" PRIu64 " bytes at 0x%"
			    PRIx64, argv[i + 2], c, n, off);
			if (c[0] == 'g')
				do_get(is_zc(argv[i + 2]), off, n, 5, what, NULL);
			else
				do_put(is_zc(argv[i + 2]), off, n, 5, what, NULL);
			printf("%s: ok\n", what);
			i += 3;
		} else if (strcmp(c, "getf") == 0) {
			NEED(4);
			cmd_getf(num(argv[i]), num(argv[i + 1]), argv[i + 2],
			    is_zc(argv[i + 3]));
			i += 4;
		} else if (strcmp(c, "putf") == 0) {
			NEED(3);
			cmd_putf(num(argv[i]), argv[i + 1], is_zc(argv[i + 2]));
			i += 3;
		} else if (strcmp(c, "xget") == 0 || strcmp(c, "xput") == 0) {
			uint64_t off, n;
			uint8_t *b;
			long long t0;
			ssize_t r;
			NEED(3);
			off = num(argv[i]);
			n = num(argv[i + 1]);
			if ((b = calloc(1, n + 1)) == NULL)
				fail("out of memory");
			t0 = now_ms();
			r = c[1] == 'g' ? seg_get(cur(), off, b, n) :
			    seg_put(cur(), off, b, n);
			if (r >= 0)
				fail("%s 0x%" PRIx64 " %" PRIu64 " succeeded; it must "
				    "fail with \"%s\"", c, off, n, argv[i + 2]);
			if (strstr(seg_errstr(), argv[i + 2]) == NULL)
				fail("%s failed with \"%s\"; want \"%s\"", c,
				    seg_errstr(), argv[i + 2]);
			printf("%s failed as expected after %lld ms: %s\n", c,
			    now_ms() - t0, seg_errstr());
			free(b);
			i += 3;
		} else if (strcmp(c, "ximport") == 0) {
			long long t0 = now_ms();
			char what[300];
			NEED(2);
			snprintf(what, sizeof what, "import of %s", argv[i]);
			failed_as_expected(seg_import(argv[i]) != NULL, what,
			    argv[i + 1], t0);
			i += 2;
		} else if (strcmp(c, "xls") == 0) {
			long long t0 = now_ms();
			struct seg_info *list;
			char what[300];
			NEED(2);
			snprintf(what, sizeof what, "listing %s", argv[i]);
			failed_as_expected(seg_peer_list(argv[i], &list) >= 0, what,
			    argv[i + 1], t0);
			i += 2;
		} else if (strcmp(c, "tget") == 0 || strcmp(c, "tgets") == 0 ||
		    strcmp(c, "tput") == 0 || strcmp(c, "tputs") == 0) {
			uint64_t count = 1;
			if (c[4] == 's') {
				NEED(1);
				count = num(argv[i++]);
			}
			NEED(3);
			cmd_timed(c[1] == 'p', count, num(argv[i]), num(argv[i + 1]),
			    is_zc(argv[i + 2]));
			i += 3;
		} else if (strcmp(c, "tretry") == 0) {
			NEED(5);
			cmd_retry(num(argv[i]), num(argv[i + 1]), num(argv[i + 2]),
			    num(argv[i + 3]), is_zc(argv[i + 4]));
			i += 5;
		} else if (strcmp(c, "barrier") == 0) {
			if (seg_barrier(cur()) < 0)
				fail("seg_barrier: %s", seg_errstr());
			printf("barrier ok\n");
		} else if (strcmp(c, "path") == 0) {
			char why[256];
			int pth;
			NEED(1);
			pth = seg_import_path(cur(), why, sizeof why);
			printf("path %s%s%s\n", pth == SEG_PATH_DIRECT ? "direct" :
			    "segd", why[0] ? ": " : "", why);
			if (strcmp(argv[i], pth == SEG_PATH_DIRECT ? "direct" :
			    "segd") != 0)
				fail("the import takes the %s path, not %s",
				    pth == SEG_PATH_DIRECT ? "direct" : "segd",
				    argv[i]);
			i++;
		} else if (strcmp(c, "lstats") == 0) {
			cmd_stats(seg_stats_local, "seg_stats_local");
		} else if (strcmp(c, "tbarrier") == 0) {
			if (seg_barrier(cur()) < 0)
				printf("tbarrier fail: %s\n", seg_errstr());
			else
				printf("tbarrier ok\n");
		} else if (strcmp(c, "xbarrier") == 0) {
			NEED(1);
			if (seg_barrier(cur()) >= 0)
				fail("seg_barrier succeeded; it must fail with \"%s\"",
				    argv[i]);
			if (strstr(seg_errstr(), argv[i]) == NULL)
				fail("seg_barrier failed with \"%s\"; want \"%s\"",
				    seg_errstr(), argv[i]);
			printf("barrier failed as expected: %s\n", seg_errstr());
			i++;
		} else if (strcmp(c, "lsn") == 0) {
			NEED(2);
			cmd_lsn(argv[i], num(argv[i + 1]));
			i += 2;
		} else if (strcmp(c, "stats") == 0) {
			cmd_stats(seg_stats, "seg_stats");
		} else if (strcmp(c, "mkexports") == 0) {
			NEED(5);
			cmd_mkexports(argv[i], num(argv[i + 1]), num(argv[i + 2]),
			    num(argv[i + 3]), num(argv[i + 4]));
			i += 5;
		} else if (strcmp(c, "say") == 0) {
			NEED(1);
			printf("%s\n", argv[i++]);
		} else if (strcmp(c, "sync") == 0) {
			char line[256];
			if (fgets(line, sizeof line, stdin) == NULL) {
				fprintf(stderr, "imp_io: standard input closed\n");
				exit(4);
			}
		} else if (strcmp(c, "sleep") == 0) {
			uint64_t ms;
			struct timespec ts;
			NEED(1);
			ms = num(argv[i++]);
			ts.tv_sec = (time_t)(ms / 1000);
			ts.tv_nsec = (long)(ms % 1000) * 1000000;
			nanosleep(&ts, NULL);
		} else if (strcmp(c, "hold") == 0) {
			printf("holding pid %ld\n", (long)getpid());
			for (;;)
				pause();
		} else {
			fprintf(stderr, "imp_io: unknown command '%s'\n", c);
			usage();
		}
#undef NEED
	}
	return 0;
}
