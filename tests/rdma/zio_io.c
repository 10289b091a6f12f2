/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * zio_io: a libseg client for the RDMA tier's zero-copy buffer tests
 * (issue 5).  SEGD_SOCKET names the segd it talks to.
 *
 *   zio_io [-T SECONDS] [-S SEED] MODE ARGS...
 *
 * Rounds (the many-importers and slow-reader tests):
 *   owner SEG -i NIMP -n PER -r ROUNDS -f TABLEFILE [-L MAXLEN] [-m READMAX]
 *         [-z READSLEEP_MS] [-w WAIT_MS] [-p ROUND -g GOFILE]
 *       holds umsg segment SEG's pool; allocates one address table per
 *       importer in SEG and names them in TABLEFILE ("K 0xADDR" lines).
 *       Each round it allocates PER buffers (1..MAXLEN bytes, default 128)
 *       per importer, writes their addresses to the tables (then the round
 *       number), prints "round R published", waits WAIT_MS, then reads
 *       free (at most READMAX addresses a read, sleeping READSLEEP_MS after
 *       each) until every address of the round came back: each exactly
 *       once, none foreign.  With -p, round ROUND is prepared, then
 *       "round ROUND ready" printed, and published only once GOFILE
 *       exists (a test can stop a segd meanwhile).  After the
 *       last round it marks the tables finished and checks that nothing
 *       more comes back for 1.5 s.  Prints "round R: ..." lines and
 *       "owner: received N addresses in R rounds, sum 0xS xor 0xX,
 *       expected N sum 0xS xor 0xX, T ms, RATE/s".
 *   importer REF -f TABLEFILE -k K [-P NPROC] [-b BATCH] [-1 SINGLES] [-v]
 *            [-R RETRY_MS] [-A|-V]
 *       imports REF, and for each round reads table K (by RDMA get), then
 *       returns the round's addresses in a shuffled order: seg_zfree_remotev
 *       batches of BATCH (default 500), and SINGLES of them (default 0) one
 *       at a time with seg_zfree_remote, interleaved.  -P forks NPROC
 *       importers, for tables K .. K+NPROC-1.  -v adds "importer K:
 *       round R read at EPOCH_MS" and "... returned at EPOCH_MS" lines.
 *       -R: a get or a return that fails is made again (the same
 *       addresses), every 100 ms for up to RETRY_MS, each failure printed
 *       as "retry at EPOCH_MS: MESSAGE"; without it the first one fails.
 *       -A: every address with seg_zfree_async instead, each outcome read
 *       (seg_zfree_outcomes) before the round ends; a refused one fails.
 *       -V: as -A, with seg_zfree_asyncv, up to BATCH addresses a call.
 *       Each prints "importer K: freed N in R rounds, M calls (S single),
 *       sum 0xS xor 0xX, T ms, slowest call C ms".
 *
 * kmsg and single frees:
 *   rfree REF ADDR...   one seg_zfree_remotev of all the ADDRs; prints "ok"
 *                       (exit 0), "refused: MESSAGE" (exit 3) or, if REF
 *                       cannot be imported, "import failed: MESSAGE" (4)
 *   rfree -A REF ADDR...  each ADDR with seg_zfree_async: prints "applied
 *                       0xADDR" or "refused 0xADDR: MESSAGE" for each
 *                       outcome, then "ok" (exit 0) or "refused" (exit 3)
 *   rfree -V REF ADDR...  as -A, all the ADDRs in one seg_zfree_asyncv
 *
 * Signals:
 *   sigwait SEG MS      "sigwait pid PID waiting", then seg_signal_wait;
 *                       prints "signal after T ms" (exit 0)
 *                       or "timeout after T ms: MESSAGE" (exit 3)
 *   sigpost REF N       N seg_signal calls
 *   pingpong MYSEG REF N [first]   N times: (first: post to REF, then)
 *                       wait for a signal on MYSEG (10 s), post to REF;
 *                       prints "pingpong: N round trips, T ms"
 *
 * A dying owner:
 *   hold SEG N LEN FILE allocate N buffers of LEN bytes in umsg SEG, write
 *                       their addresses to FILE (one hex a line), print
 *                       "holding N", sleep until killed
 *   freeloop REF FILE BATCH [SKIP]  return FILE's addresses (after the
 *                       first SKIP) in batches of BATCH; prints "freeloop
 *                       start", "freeloop progress N" every 100, then
 *                       "freeloop done N" or "freeloop fail at EPOCH_MS
 *                       after N addresses, call of C ms: MESSAGE" (exit 0)
 *
 * Producer/consumer pipeline (the two-node test):
 *   produce SEG -N TOTAL -s BUFSIZE -k OUTSTANDING -R RINGSLOTS -f RINGFILE
 *       holds umsg SEG's pool; publishes TOTAL buffers of BUFSIZE bytes,
 *       each stamped (address, sequence number, generation) and filled,
 *       through a ring of descriptors in SEG (its address in RINGFILE), with
 *       at most OUTSTANDING not yet returned; reuses a buffer only after its
 *       free came back, and checks it: every allocation must be a buffer
 *       whose free arrived, every free one of an outstanding buffer.
 *   consume REF -f RINGFILE -z ZCSEG
 *       polls the ring by RDMA get, reads the published buffers by RDMA
 *       get into segment ZCSEG (attached here: zero copy), checks each
 *       stamp is the one published (sequence, generation one more than the
 *       last seen of that address) and the fill, and returns them with
 *       seg_zfree_remotev.
 *
 * Every failed check prints "zio_io: FAIL: ..." and exits 1; -T (default
 * 240) bounds the run (exit 124); 2 is a usage error.
 */
#include <sys/wait.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
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

#define TBL_MAGIC  0x5a494f5441424c45ULL	/* "ZIOTABLE" */
#define RING_MAGIC 0x5a494f52494e4721ULL	/* "ZIORING!" */
#define BUF_MAGIC  0x5a494f4255464621ULL	/* "ZIOBUFF!" */
#define ROUND_END  UINT64_MAX

/* An address table in the owner's segment; addrs[n] follow. */
struct table {
	uint64_t magic, round, n, pad;
};

/* The pipeline's ring: desc[slots] follow. */
struct ring {
	uint64_t magic, head, end, slots, bufsize, total, pad[2];
};

struct desc {
	uint64_t addr, seq, gen, len;
};

/* The stamp at the start of every pipeline buffer. */
struct stamp {
	uint64_t magic, addr, seq, gen;
};


static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: zio_io [-T SECONDS] [-S SEED] MODE ARGS... "
	    "(see the comment at the top of tests/rdma/zio_io.c)\n");
	exit(2);
}

/* A mode's operand, argv[1]; getopt then reads its options from argv[2]. */
static const char *
mode_arg(int argc, char **argv)
{
	if (argc < 2)
		usage();
	optind = 2;
	return argv[1];
}

/* --- an open-addressing map from address (never 0) to a slot ------------ */

struct aslot {
	uint64_t addr;
	uint64_t gen;		/* produce: allocations; consume: last seen */
	int      state;		/* owner: 1 handed out, 2 back; produce: 1 out */
};

struct amap {
	struct aslot *v;
	size_t        cap, n;	/* cap a power of two */
};

static void
amap_init(struct amap *m, size_t entries)
{
	m->cap = 16;
	while (m->cap < entries * 2)
		m->cap *= 2;
	m->v = xcalloc(m->cap, sizeof *m->v);
	m->n = 0;
}

static void
amap_clear(struct amap *m)
{
	memset(m->v, 0, m->cap * sizeof *m->v);
	m->n = 0;
}

static size_t
amap_hash(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return (size_t)a;
}

/* The slot of addr; made (zeroed) if create, else NULL when absent. */
static struct aslot *
amap_get(struct amap *m, uint64_t addr, int create)
{
	size_t i = amap_hash(addr) & (m->cap - 1);

	while (m->v[i].addr != 0) {
		if (m->v[i].addr == addr)
			return &m->v[i];
		i = (i + 1) & (m->cap - 1);
	}
	if (!create)
		return NULL;
	if (m->n + 1 > m->cap / 2)
		fail("address map full (%zu entries)", m->n);
	m->v[i].addr = addr;
	m->n++;
	return &m->v[i];
}

/* --- small helpers ------------------------------------------------------ */

static void
write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || rename(tmp, path) < 0)
		fail("%s: %s", path, strerror(errno));
}

/* Wait (60 s at most) for path, then return its contents (malloc'd). */
static char *
wait_file(const char *path)
{
	long long end = now_ms() + 60000;
	char *buf;
	size_t n;
	FILE *f;

	while ((f = fopen(path, "r")) == NULL) {
		if (errno != ENOENT || now_ms() > end)
			fail("%s: %s", path, strerror(errno));
		sleep_ms(20);
	}
	buf = xcalloc(1, 1 << 16);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static seg_import_t *
import_or_fail(const char *ref, struct seg_import_info *info)
{
	seg_import_t *imp = seg_import(ref);

	if (imp == NULL)
		fail("seg_import %s: %s", ref, seg_errstr());
	if (info && seg_import_info(imp, info) < 0)
		fail("seg_import_info %s: %s", ref, seg_errstr());
	return imp;
}

static long long retry_ms;	/* importer -R */

/* A call failed: 1 to make it again (said, 100 ms later); 0 to give up. */
static int
again(long long *first)
{
	if (retry_ms == 0)
		return 0;
	if (*first == 0)
		*first = now_ms();
	if (now_ms() - *first > retry_ms)
		return 0;
	printf("retry at %lld: %s\n", epoch_ms(), seg_errstr());
	fflush(stdout);
	sleep_ms(100);
	return 1;
}

static void
get_or_fail(seg_import_t *imp, uint64_t off, void *buf, size_t len,
    const char *what)
{
	long long first = 0;

	while (seg_get(imp, off, buf, len) != (ssize_t)len)
		if (!again(&first))
			fail("seg_get of %s (%zu bytes at 0x%" PRIx64 "): %s",
			    what, len, off, seg_errstr());
}

/* The owner's segment, attached: it must be umsg. */
static uint8_t *
attach_umsg(const char *seg, struct seg_info *si)
{
	uint8_t *p;

	if (seg_stat(seg, si) < 0)
		fail("seg_stat %s: %s", seg, seg_errstr());
	if (strcmp(si->verb, "umsg") != 0)
		fail("segment %s is %s, not umsg", seg, si->verb);
	if ((p = seg_attach(0, seg, NULL, 0)) == NULL)
		fail("seg_attach %s: %s", seg, seg_errstr());
	if ((uintptr_t)p != si->va)
		fail("segment %s attached at %p, not at 0x%" PRIx64, seg,
		    (void *)p, si->va);
	return p;
}

/* --- owner and importers ------------------------------------------------ */

static int
mode_owner(int argc, char **argv)
{
	const char *seg, *tfile = NULL;
	uint64_t nimp = 0, per = 0, rounds = 0, maxlen = 128, readmax = 8192;
	uint64_t sleepms = 0, waitms = 0, pause_round = 0, k, j, r;
	const char *gofile = NULL;
	uint64_t exp_n = 0, exp_sum = 0, exp_xor = 0;
	uint64_t got_n = 0, got_sum = 0, got_xor = 0;
	struct table **tab;
	struct seg_info si;
	struct amap m;
	uint64_t *buf;
	long long t0, tr, t;
	char *text;
	size_t tl;
	int ch, fd;

	seg = mode_arg(argc, argv);
	while ((ch = getopt(argc, argv, "i:n:r:f:L:m:z:w:p:g:")) != -1) {
		switch (ch) {
		case 'p': pause_round = num(optarg); break;
		case 'g': gofile = optarg; break;
		case 'i': nimp = num(optarg); break;
		case 'n': per = num(optarg); break;
		case 'r': rounds = num(optarg); break;
		case 'f': tfile = optarg; break;
		case 'L': maxlen = num(optarg); break;
		case 'm': readmax = num(optarg); break;
		case 'z': sleepms = num(optarg); break;
		case 'w': waitms = num(optarg); break;
		default: usage();
		}
	}
	if (nimp == 0 || per == 0 || rounds == 0 || tfile == NULL ||
	    maxlen == 0 || readmax == 0 || readmax > 8192 || optind != argc ||
	    (pause_round != 0) != (gofile != NULL))
		usage();
	attach_umsg(seg, &si);
	tab = xcalloc(nimp, sizeof *tab);
	text = xcalloc(nimp, 64);
	tl = 0;
	for (k = 0; k < nimp; k++) {
		tab[k] = seg_zalloc(seg, sizeof(struct table) + per * 8);
		if (tab[k] == NULL)
			fail("seg_zalloc of table %" PRIu64 ": %s", k, seg_errstr());
		tab[k]->magic = TBL_MAGIC;
		tab[k]->n = 0;
		__atomic_store_n(&tab[k]->round, 0, __ATOMIC_RELEASE);
		tl += (size_t)sprintf(text + tl, "%" PRIu64 " %p\n", k,
		    (void *)tab[k]);
	}
	write_file(tfile, text);
	free(text);
	amap_init(&m, nimp * per);
	buf = xcalloc(readmax, 8);
	if ((fd = seg_free_fd(seg)) < 0)
		fail("seg_free_fd %s: %s", seg, seg_errstr());
	t0 = now_ms();
	for (r = 1; r <= rounds; r++) {
		uint64_t want = nimp * per, got = 0, reads = 0;

		amap_clear(&m);
		for (k = 0; k < nimp; k++) {
			uint64_t *a = (uint64_t *)(tab[k] + 1);
			for (j = 0; j < per; j++) {
				size_t len = 1 + (size_t)(rnd() % maxlen);
				void *p = seg_zalloc(seg, len);
				struct aslot *s;
				if (p == NULL)
					fail("round %" PRIu64 ": seg_zalloc(%zu) "
					    "after %" PRIu64 " buffers: %s", r, len,
					    k * per + j, seg_errstr());
				a[j] = (uintptr_t)p;
				s = amap_get(&m, a[j], 1);
				if (s->state != 0)
					fail("round %" PRIu64 ": seg_zalloc gave "
					    "0x%" PRIx64 " twice", r, a[j]);
				s->state = 1;
				exp_n++;
				exp_sum += a[j];
				exp_xor ^= a[j];
			}
		}
		if (r == pause_round) {
			printf("round %" PRIu64 " ready\n", r);
			free(wait_file(gofile));
		}
		for (k = 0; k < nimp; k++) {
			tab[k]->n = per;
			__atomic_store_n(&tab[k]->round, r, __ATOMIC_RELEASE);
		}
		tr = now_ms();
		printf("round %" PRIu64 " published\n", r);
		if (waitms)
			sleep_ms((long)waitms);
		while (got < want) {
			int n = seg_free_read(seg, buf, (int)readmax), i;
			if (n <= 0)
				fail("round %" PRIu64 ": seg_free_read: %s", r,
				    n < 0 ? seg_errstr() : "nothing");
			reads++;
			for (i = 0; i < n; i++) {
				struct aslot *s = amap_get(&m, buf[i], 0);
				if (s == NULL)
					fail("round %" PRIu64 ": 0x%" PRIx64 " came "
					    "back but was not handed out", r,
					    buf[i]);
				if (s->state != 1)
					fail("round %" PRIu64 ": 0x%" PRIx64 " came "
					    "back twice", r, buf[i]);
				s->state = 2;
				got++;
				got_n++;
				got_sum += buf[i];
				got_xor ^= buf[i];
			}
			if (got > want)
				fail("round %" PRIu64 ": more addresses than "
				    "handed out", r);
			if (sleepms)
				sleep_ms((long)sleepms);
		}
		t = now_ms();
		printf("round %" PRIu64 ": %" PRIu64 " addresses back in %lld ms "
		    "(%" PRIu64 " reads)\n", r, want, t - tr, reads);
	}
	t = now_ms() - t0;
	for (k = 0; k < nimp; k++)
		__atomic_store_n(&tab[k]->round, ROUND_END, __ATOMIC_RELEASE);
	/* nothing more may come back: every address was returned once */
	{
		struct pollfd pfd = { fd, POLLIN, 0 };
		int pr = poll(&pfd, 1, 1500);
		if (pr < 0)
			fail("poll: %s", strerror(errno));
		if (pr > 0) {
			int n = seg_free_read(seg, buf, (int)readmax);
			fail("%d more address(es) came back after the last round "
			    "(first 0x%" PRIx64 ")", n, n > 0 ? buf[0] : 0);
		}
	}
	printf("owner: received %" PRIu64 " addresses in %" PRIu64 " rounds, "
	    "sum 0x%" PRIx64 " xor 0x%" PRIx64 ", expected %" PRIu64 " sum 0x%"
	    PRIx64 " xor 0x%" PRIx64 ", %lld ms, %.0f/s\n", got_n, rounds,
	    got_sum, got_xor, exp_n, exp_sum, exp_xor, t,
	    t > 0 ? got_n * 1000.0 / (double)t : 0.0);
	if (got_n != exp_n || got_sum != exp_sum || got_xor != exp_xor)
		fail("the addresses received are not those handed out");
	free(buf);
	free(m.v);
	free(tab);
	return 0;
}

static int verbose;
static int async_mode;	/* importer -A, rfree -A; 2: -V */

/* Outcomes of asynchronous returns (after one is readable, if wait), each
 * refused one printed and counted in *bad, applied ones printed if loud:
 * how many were read. */
static uint64_t
outcomes(int wait, int loud, uint64_t *bad)
{
	static struct seg_zoutcome o[256];
	struct pollfd pfd;
	int i, n;

	pfd.fd = seg_zfree_async_fd();
	pfd.events = POLLIN;
	if (pfd.fd < 0)
		fail("seg_zfree_async_fd: %s", seg_errstr());
	if (wait && poll(&pfd, 1, 60000) != 1)
		fail("no outcome of an asynchronous return in 60 s");
	if ((n = seg_zfree_outcomes(o, 256)) < 0)
		fail("seg_zfree_outcomes: %s", seg_errstr());
	for (i = 0; i < n; i++)
		if (o[i].err != 0) {
			printf("refused 0x%" PRIx64 ": %s\n", o[i].addr,
			    o[i].msg);
			(*bad)++;
		} else if (loud)
			printf("applied 0x%" PRIx64 "\n", o[i].addr);
	return (uint64_t)n;
}

/* n returns with seg_zfree_async (async_mode 2: seg_zfree_asyncv, up to
 * per_call addresses a call), every outcome read: the refused. */
static uint64_t
return_async(seg_import_t *imp, const uint64_t *a, uint64_t n, int loud,
    int per_call)
{
	uint64_t i = 0, got = 0, bad = 0;
	int k;

	while (i < n) {
		if (async_mode == 2)
			k = seg_zfree_asyncv(imp, a + i,
			    n - i < (uint64_t)per_call ? (int)(n - i) : per_call);
		else
			k = seg_zfree_async(imp, a[i]) < 0 ? -1 : 1;
		if (k < 0) {
			if (errno != EAGAIN)
				fail("seg_zfree_async%s(0x%" PRIx64 "): %s",
				    async_mode == 2 ? "v" : "", a[i],
				    seg_errstr());
			got += outcomes(1, loud, &bad);
			continue;
		}
		if ((i + (uint64_t)k) / 64 != i / 64)
			got += outcomes(0, loud, &bad);
		i += (uint64_t)k;
	}
	while (got < n)
		got += outcomes(1, loud, &bad);
	fflush(stdout);
	return bad;
}

static int
importer_one(const char *ref, const char *tfile, uint64_t k, int batch,
    uint64_t singles)
{
	struct seg_import_info info;
	seg_import_t *imp;
	struct table h;
	uint64_t ta = 0, off, last = 0, cap = 0, rounds = 0, calls = 0;
	uint64_t nsingle = 0, freed = 0, sum = 0, x = 0, *a = NULL, i;
	long long t0 = 0, slow = 0;
	char *text, *line;

	text = wait_file(tfile);
	for (line = text; line && *line; line = strchr(line, '\n') ?
	    strchr(line, '\n') + 1 : NULL) {
		unsigned long long kk, aa;
		if (sscanf(line, "%llu %llx", &kk, &aa) == 2 && kk == k)
			ta = aa;
	}
	free(text);
	if (ta == 0)
		fail("importer %" PRIu64 ": no table in %s", k, tfile);
	imp = import_or_fail(ref, &info);
	if (ta < info.rva || ta - info.rva > info.len - sizeof h)
		fail("importer %" PRIu64 ": table 0x%" PRIx64 " is not in %s",
		    k, ta, ref);
	off = ta - info.rva;
	for (;;) {
		long wait = 1;
		uint64_t singles_left = singles;

		for (;;) {
			get_or_fail(imp, off, &h, sizeof h, "the table header");
			if (h.magic != TBL_MAGIC)
				fail("importer %" PRIu64 ": bad table magic 0x%"
				    PRIx64, k, h.magic);
			if (h.round != last)
				break;
			sleep_ms(wait);
			if (wait < 50)
				wait *= 2;
		}
		if (t0 == 0)
			t0 = now_ms();
		if (h.round == ROUND_END)
			break;
		if (h.round != last + 1)
			fail("importer %" PRIu64 ": round %" PRIu64 " after %"
			    PRIu64, k, h.round, last);
		if (h.n == 0 || h.n > (info.len - off - sizeof h) / 8)
			fail("importer %" PRIu64 ": bad count %" PRIu64, k, h.n);
		if (h.n > cap) {
			free(a);
			cap = h.n;
			a = xcalloc(cap, 8);
		}
		get_or_fail(imp, off + sizeof h, a, h.n * 8, "the addresses");
		if (verbose)
			printf("importer %" PRIu64 ": round %" PRIu64 " read at "
			    "%lld\n", k, h.round, epoch_ms());
		shuffle(a, h.n);
		if (async_mode && return_async(imp, a, h.n, 0, batch) > 0)
			fail("importer %" PRIu64 ": round %" PRIu64 ": returns "
			    "refused", k, h.round);
		for (i = 0; async_mode && i < h.n; i++, freed++, calls++) {
			sum += a[i];
			x ^= a[i];
		}
		for (; i < h.n; ) {
			/* addresses left for batches: the singles are kept */
			uint64_t room = h.n - i > singles_left ?
			    h.n - i - singles_left : 0;
			uint64_t take = room < (uint64_t)batch ? room :
			    (uint64_t)batch;
			long long c0 = now_ms(), c, first = 0;
			int rc;

			if (singles_left > 0 && (calls % 2 == 0 || room == 0)) {
				take = 1;
				singles_left--;
				nsingle++;
				while ((rc = seg_zfree_remote(imp, a[i])) < 0 &&
				    again(&first))
					;
			} else
				while ((rc = seg_zfree_remotev(imp, a + i,
				    (int)take)) < 0 && again(&first))
					;
			if (rc < 0)
				fail("importer %" PRIu64 ": round %" PRIu64 ": "
				    "returning %" PRIu64 " address(es) from 0x%"
				    PRIx64 ": %s", k, h.round, take, a[i],
				    seg_errstr());
			c = now_ms() - c0;
			if (c > slow)
				slow = c;
			calls++;
			for (; take > 0; take--, i++) {
				sum += a[i];
				x ^= a[i];
				freed++;
			}
		}
		if (verbose)
			printf("importer %" PRIu64 ": round %" PRIu64 " returned "
			    "at %lld\n", k, h.round, epoch_ms());
		rounds++;
		last = h.round;
	}
	printf("importer %" PRIu64 ": freed %" PRIu64 " in %" PRIu64 " rounds, "
	    "%" PRIu64 " calls (%" PRIu64 " single), sum 0x%" PRIx64 " xor 0x%"
	    PRIx64 ", %lld ms, slowest call %lld ms\n", k, freed, rounds, calls,
	    nsingle, sum, x, now_ms() - t0, slow);
	seg_unimport(imp);
	free(a);
	return 0;
}

static int
mode_importer(int argc, char **argv)
{
	const char *ref, *tfile = NULL;
	uint64_t k = 0, nproc = 1, singles = 0, i;
	int batch = SEG_FREE_BATCH, ch, st, bad = 0;
	pid_t pid;

	ref = mode_arg(argc, argv);
	while ((ch = getopt(argc, argv, "f:k:P:b:1:vR:AV")) != -1) {
		switch (ch) {
		case 'v': verbose = 1; break;
		case 'A': async_mode = 1; break;
		case 'V': async_mode = 2; break;
		case 'R': retry_ms = (long long)num(optarg); break;
		case 'f': tfile = optarg; break;
		case 'k': k = num(optarg); break;
		case 'P': nproc = num(optarg); break;
		case 'b': batch = (int)num(optarg); break;
		case '1': singles = num(optarg); break;
		default: usage();
		}
	}
	if (tfile == NULL || nproc == 0 || batch <= 0 || optind != argc)
		usage();
	if (nproc == 1)
		return importer_one(ref, tfile, k, batch, singles);
	fflush(stdout);
	for (i = 0; i < nproc; i++) {
		if ((pid = fork()) < 0)
			fail("fork: %s", strerror(errno));
		if (pid == 0) {
			rng ^= (k + i + 1) * 0x9e3779b97f4a7c15ULL;
			exit(importer_one(ref, tfile, k + i, batch, singles));
		}
	}
	while ((pid = wait(&st)) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	if (bad)
		fail("%d of %" PRIu64 " importers failed", bad, nproc);
	return 0;
}

/* --- kmsg and signals --------------------------------------------------- */

static int
mode_rfree(int argc, char **argv)
{
	seg_import_t *imp;
	uint64_t *a;
	int i;

	if (argc > 1 && (strcmp(argv[1], "-A") == 0 ||
	    strcmp(argv[1], "-V") == 0)) {
		async_mode = argv[1][1] == 'V' ? 2 : 1;
		argc--;
		argv++;
	}
	if (argc < 3)
		usage();
	if ((imp = seg_import(argv[1])) == NULL) {
		printf("import failed: %s\n", seg_errstr());
		return 4;
	}
	a = xcalloc((size_t)argc, 8);
	for (i = 2; i < argc; i++)
		a[i - 2] = num(argv[i]);
	if (async_mode)
		i = return_async(imp, a, (uint64_t)(argc - 2), 1, argc - 2) > 0 ?
		    -1 : 0;
	else if ((i = seg_zfree_remotev(imp, a, argc - 2)) < 0)
		printf("refused: %s\n", seg_errstr());
	if (i < 0 && async_mode)
		printf("refused\n");
	else if (i == 0)
		printf("ok\n");
	seg_unimport(imp);
	free(a);
	return i < 0 ? 3 : 0;
}

static int
mode_sigwait(int argc, char **argv)
{
	long long t0;

	if (argc != 3)
		usage();
	if (seg_signal_fd(argv[1]) < 0)
		fail("seg_signal_fd %s: %s", argv[1], seg_errstr());
	printf("sigwait pid %ld waiting\n", (long)getpid());
	t0 = now_ms();
	if (seg_signal_wait(argv[1], (int)num(argv[2])) < 0) {
		printf("timeout after %lld ms: %s\n", now_ms() - t0,
		    seg_errstr());
		return 3;
	}
	printf("signal after %lld ms\n", now_ms() - t0);
	return 0;
}

static int
mode_sigpost(int argc, char **argv)
{
	seg_import_t *imp;
	uint64_t i, n;

	if (argc != 3)
		usage();
	imp = import_or_fail(argv[1], NULL);
	n = num(argv[2]);
	for (i = 0; i < n; i++)
		if (seg_signal(imp) < 0)
			fail("seg_signal %s (%" PRIu64 " of %" PRIu64 "): %s",
			    argv[1], i + 1, n, seg_errstr());
	printf("posted %" PRIu64 "\n", n);
	seg_unimport(imp);
	return 0;
}

static int
mode_pingpong(int argc, char **argv)
{
	seg_import_t *imp;
	uint64_t i, n;
	long long t0;
	int first;

	if (argc != 4 && argc != 5)
		usage();
	first = argc == 5 && strcmp(argv[4], "first") == 0;
	if (argc == 5 && !first)
		usage();
	if (seg_signal_fd(argv[1]) < 0)
		fail("seg_signal_fd %s: %s", argv[1], seg_errstr());
	imp = import_or_fail(argv[2], NULL);
	n = num(argv[3]);
	printf("pingpong ready\n");
	t0 = now_ms();
	if (first && seg_signal(imp) < 0)
		fail("seg_signal %s: %s", argv[2], seg_errstr());
	for (i = 0; i < n; i++) {
		if (seg_signal_wait(argv[1], 10000) < 0)
			fail("round %" PRIu64 " of %" PRIu64 ": %s", i + 1, n,
			    seg_errstr());
		if ((!first || i + 1 < n) && seg_signal(imp) < 0)
			fail("seg_signal %s: %s", argv[2], seg_errstr());
	}
	printf("pingpong: %" PRIu64 " round trips, %lld ms\n", n, now_ms() - t0);
	seg_unimport(imp);
	return 0;
}

/* --- a dying owner ------------------------------------------------------ */

static int
mode_hold(int argc, char **argv)
{
	struct seg_info si;
	uint64_t i, n, len;
	FILE *f;
	char tmp[4096];

	if (argc != 5)
		usage();
	attach_umsg(argv[1], &si);
	n = num(argv[2]);
	len = num(argv[3]);
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[4]);
	if ((f = fopen(tmp, "w")) == NULL)
		fail("%s: %s", tmp, strerror(errno));
	for (i = 0; i < n; i++) {
		void *p = seg_zalloc(argv[1], (size_t)len);
		if (p == NULL)
			fail("seg_zalloc (%" PRIu64 " of %" PRIu64 "): %s", i + 1,
			    n, seg_errstr());
		fprintf(f, "%p\n", p);
	}
	if (fclose(f) != 0 || rename(tmp, argv[4]) < 0)
		fail("%s: %s", argv[4], strerror(errno));
	printf("holding %" PRIu64 "\n", n);
	fflush(stdout);
	for (;;)
		pause();
}

static int
mode_freeloop(int argc, char **argv)
{
	seg_import_t *imp;
	uint64_t *a, n = 0, cap = 1024, skip = 0, i, batch;
	unsigned long long v;
	FILE *f;

	if (argc != 4 && argc != 5)
		usage();
	batch = num(argv[3]);
	if (argc == 5)
		skip = num(argv[4]);
	if (batch == 0 || batch > SEG_FREE_BATCH)
		usage();
	if ((f = fopen(argv[2], "r")) == NULL)
		fail("%s: %s", argv[2], strerror(errno));
	a = xcalloc(cap, 8);
	while (fscanf(f, "%llx", &v) == 1) {
		if (n == cap) {
			cap *= 2;
			if ((a = realloc(a, cap * 8)) == NULL)
				fail("out of memory");
		}
		a[n++] = v;
	}
	fclose(f);
	if (skip >= n)
		fail("only %" PRIu64 " addresses in %s", n, argv[2]);
	imp = import_or_fail(argv[1], NULL);
	printf("freeloop start\n");
	fflush(stdout);
	for (i = skip; i < n; ) {
		uint64_t take = n - i < batch ? n - i : batch;
		long long c0 = now_ms();
		if (seg_zfree_remotev(imp, a + i, (int)take) < 0) {
			printf("freeloop fail at %lld after %" PRIu64 " addresses, "
			    "call of %lld ms: %s\n", epoch_ms(), i - skip,
			    now_ms() - c0, seg_errstr());
			break;
		}
		i += take;
		if ((i - skip) / 100 != (i - skip - take) / 100)
			printf("freeloop progress %" PRIu64 "\n", i - skip);
	}
	if (i == n)
		printf("freeloop done %" PRIu64 "\n", n - skip);
	seg_unimport(imp);
	free(a);
	return 0;
}

/* --- the producer/consumer pipeline ------------------------------------- */

static uint64_t
fillword(uint64_t seq, uint64_t i)
{
	uint64_t v = seq * 0x9e3779b97f4a7c15ULL + i;

	v ^= v >> 29;
	return v * 0xbf58476d1ce4e5b9ULL;
}

static int
mode_produce(int argc, char **argv)
{
	const char *seg, *rfile = NULL;
	uint64_t total = 0, bufsize = 0, maxout = 0, slots = 0;
	uint64_t seq = 0, out = 0, back = 0, reused = 0, maxgen = 0, i;
	uint64_t sum = 0, x = 0;
	struct seg_info si;
	struct ring *rg;
	struct desc *d;
	struct amap m;
	uint64_t *v;
	long long t0, t;
	char text[64];
	int ch;

	seg = mode_arg(argc, argv);
	while ((ch = getopt(argc, argv, "N:s:k:R:f:")) != -1) {
		switch (ch) {
		case 'N': total = num(optarg); break;
		case 's': bufsize = num(optarg); break;
		case 'k': maxout = num(optarg); break;
		case 'R': slots = num(optarg); break;
		case 'f': rfile = optarg; break;
		default: usage();
		}
	}
	if (total == 0 || bufsize < sizeof(struct stamp) || bufsize % 8 ||
	    maxout == 0 || slots < maxout || rfile == NULL || optind != argc)
		usage();
	attach_umsg(seg, &si);
	rg = seg_zalloc(seg, sizeof *rg + slots * sizeof *d);
	if (rg == NULL)
		fail("seg_zalloc of the ring: %s", seg_errstr());
	memset(rg, 0, sizeof *rg + slots * sizeof *d);
	d = (struct desc *)(rg + 1);
	rg->slots = slots;
	rg->bufsize = bufsize;
	rg->total = total;
	__atomic_store_n(&rg->magic, RING_MAGIC, __ATOMIC_RELEASE);
	snprintf(text, sizeof text, "%p\n", (void *)rg);
	write_file(rfile, text);
	amap_init(&m, si.len / 64 + 16);
	v = xcalloc(8192, 8);
	t0 = now_ms();
	while (back < total) {
		int n, j;

		while (seq < total && out < maxout) {
			uint64_t *w = seg_zalloc(seg, (size_t)bufsize);
			struct stamp st;
			struct aslot *s;
			if (w == NULL)
				fail("seg_zalloc(%" PRIu64 ") with %" PRIu64 " out: "
				    "%s", bufsize, out, seg_errstr());
			s = amap_get(&m, (uintptr_t)w, 1);
			if (s->state == 1)
				fail("buffer %p reused (sequence %" PRIu64 ") "
				    "before its free arrived (it holds sequence "
				    "%" PRIu64 ")", (void *)w, seq, w[2]);
			if (s->gen > 0)
				reused++;
			s->state = 1;
			s->gen++;
			if (s->gen > maxgen)
				maxgen = s->gen;
			st.magic = BUF_MAGIC;
			st.addr = (uintptr_t)w;
			st.seq = seq;
			st.gen = s->gen;
			for (i = sizeof st / 8; i < bufsize / 8; i++)
				w[i] = fillword(seq, i);
			memcpy(w, &st, sizeof st);
			d[seq % slots].addr = (uintptr_t)w;
			d[seq % slots].seq = seq;
			d[seq % slots].gen = s->gen;
			d[seq % slots].len = bufsize;
			seq++;
			out++;
			__atomic_store_n(&rg->head, seq, __ATOMIC_RELEASE);
		}
		n = (int)free_read(seg, v, 8192);
		for (j = 0; j < n; j++) {
			struct aslot *s = amap_get(&m, v[j], 0);
			if (s == NULL || s->state != 1)
				fail("a free of 0x%" PRIx64 ", which %s", v[j],
				    s == NULL ? "was never handed out" :
				    "was not outstanding (a second free)");
			s->state = 0;
			out--;
			back++;
			sum += v[j];
			x ^= v[j];
		}
	}
	t = now_ms() - t0;
	__atomic_store_n(&rg->end, 1, __ATOMIC_RELEASE);
	printf("producer: %" PRIu64 " buffers of %" PRIu64 " bytes published "
	    "and returned, %zu distinct, %" PRIu64 " reuses (up to generation %"
	    PRIu64 "), sum 0x%" PRIx64 " xor 0x%" PRIx64 ", %lld ms, %.1f MB/s\n",
	    total, bufsize, m.n, reused, maxgen, sum, x, t,
	    t > 0 ? (double)total * (double)bufsize / 1048576.0 * 1000.0 /
	    (double)t : 0.0);
	if (reused == 0)
		fail("no buffer was reused: the test proves nothing");
	free(v);
	free(m.v);
	return 0;
}

static int
mode_consume(int argc, char **argv)
{
	const char *ref, *rfile = NULL, *zseg = NULL;
	struct seg_import_info info;
	struct seg_info zi;
	seg_import_t *imp;
	struct ring rg;
	struct desc *d;
	struct seg_iov *iov;
	struct amap m;
	uint64_t roff, next = 0, maxb, sum = 0, x = 0, *a, i, polls = 0;
	uint8_t *zc;
	long long t0 = 0, t;
	char *text;
	int ch;

	ref = mode_arg(argc, argv);
	while ((ch = getopt(argc, argv, "f:z:")) != -1) {
		switch (ch) {
		case 'f': rfile = optarg; break;
		case 'z': zseg = optarg; break;
		default: usage();
		}
	}
	if (rfile == NULL || zseg == NULL || optind != argc)
		usage();
	if (seg_stat(zseg, &zi) < 0 ||
	    (zc = seg_attach(0, zseg, NULL, 0)) == NULL)
		fail("attach %s: %s", zseg, seg_errstr());
	text = wait_file(rfile);
	roff = strtoull(text, NULL, 16);
	free(text);
	imp = import_or_fail(ref, &info);
	if (roff < info.rva || roff - info.rva > info.len - sizeof rg)
		fail("ring 0x%" PRIx64 " is not in %s", roff, ref);
	roff -= info.rva;
	get_or_fail(imp, roff, &rg, sizeof rg, "the ring header");
	if (rg.magic != RING_MAGIC || rg.slots == 0 || rg.bufsize == 0 ||
	    rg.bufsize % 8)
		fail("bad ring header");
	if ((maxb = batch_max(zi.len, rg.bufsize, rg.slots)) == 0)
		fail("segment %s cannot hold a buffer of %" PRIu64 " bytes", zseg,
		    rg.bufsize);
	d = xcalloc(rg.slots, sizeof *d);
	iov = xcalloc(maxb, sizeof *iov);
	a = xcalloc(maxb, 8);
	amap_init(&m, info.len / 64 + 16);
	for (;;) {
		uint64_t head, n, s0, n1;
		long wait_us = 50;

		for (;;) {
			get_or_fail(imp, roff, &rg, sizeof rg, "the ring header");
			polls++;
			head = rg.head;
			if (head > next || next == rg.total)
				break;
			backoff(&wait_us, 5000);
		}
		if (t0 == 0)
			t0 = now_ms();
		if (next == rg.total)
			break;	/* all taken */
		if (head > rg.total || head - next > rg.slots)
			fail("ring head %" PRIu64 " after %" PRIu64 " taken (%"
			    PRIu64 " slots)", head, next, rg.slots);
		n = head - next < maxb ? head - next : maxb;
		s0 = next % rg.slots;
		n1 = rg.slots - s0 < n ? rg.slots - s0 : n;
		get_or_fail(imp, roff + sizeof rg + s0 * sizeof *d, d + s0,
		    n1 * sizeof *d, "descriptors");
		if (n1 < n)
			get_or_fail(imp, roff + sizeof rg, d, (n - n1) * sizeof *d,
			    "descriptors");
		for (i = 0; i < n; i++) {
			struct desc *e = &d[(next + i) % rg.slots];
			if (e->seq != next + i || e->len != rg.bufsize ||
			    e->addr < info.rva ||
			    e->addr - info.rva > info.len - rg.bufsize)
				fail("descriptor %" PRIu64 ": sequence %" PRIu64
				    " address 0x%" PRIx64 " length %" PRIu64
				    " (overwritten before it was taken?)",
				    next + i, e->seq, e->addr, e->len);
			iov[i].off = e->addr - info.rva;
			iov[i].buf = zc + i * rg.bufsize;
			iov[i].len = rg.bufsize;
		}
		if (seg_getv(imp, iov, (int)n) < 0)
			fail("seg_getv of %" PRIu64 " buffers: %s", n,
			    seg_errstr());
		for (i = 0; i < n; i++) {
			struct desc *e = &d[(next + i) % rg.slots];
			const uint64_t *w = (const uint64_t *)iov[i].buf;
			struct stamp st;
			struct aslot *s;
			uint64_t j;

			memcpy(&st, w, sizeof st);
			if (st.magic != BUF_MAGIC || st.addr != e->addr ||
			    st.seq != e->seq || st.gen != e->gen)
				fail("buffer 0x%" PRIx64 " holds sequence %" PRIu64
				    " generation %" PRIu64 ", its descriptor says "
				    "%" PRIu64 "/%" PRIu64 ": reused before it "
				    "was returned", e->addr, st.seq, st.gen,
				    e->seq, e->gen);
			s = amap_get(&m, e->addr, 1);
			if (e->gen != s->gen + 1)
				fail("buffer 0x%" PRIx64 " in generation %" PRIu64
				    " after generation %" PRIu64, e->addr, e->gen,
				    s->gen);
			s->gen = e->gen;
			for (j = sizeof st / 8; j < rg.bufsize / 8; j++)
				if (w[j] != fillword(e->seq, j))
					fail("buffer 0x%" PRIx64 " (sequence %"
					    PRIu64 "): word %" PRIu64 " differs",
					    e->addr, e->seq, j);
			a[i] = e->addr;
			sum += e->addr;
			x ^= e->addr;
		}
		if (seg_zfree_remotev(imp, a, (int)n) < 0)
			fail("returning %" PRIu64 " buffers: %s", n, seg_errstr());
		next += n;
	}
	t = now_ms() - t0;
	if (next != rg.total)
		fail("took %" PRIu64 " buffers of %" PRIu64, next, rg.total);
	printf("consumer: %" PRIu64 " buffers of %" PRIu64 " bytes read and "
	    "returned, %zu distinct, sum 0x%" PRIx64 " xor 0x%" PRIx64 ", %"
	    PRIu64 " polls, %lld ms, %.1f MB/s\n", next, rg.bufsize, m.n, sum, x,
	    polls, t, t > 0 ? (double)next * (double)rg.bufsize / 1048576.0 *
	    1000.0 / (double)t : 0.0);
	seg_unimport(imp);
	free(d);
	free(iov);
	free(a);
	free(m.v);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} modes[] = {
		{ "owner", mode_owner }, { "importer", mode_importer },
		{ "rfree", mode_rfree }, { "sigwait", mode_sigwait },
		{ "sigpost", mode_sigpost }, { "pingpong", mode_pingpong },
		{ "hold", mode_hold }, { "freeloop", mode_freeloop },
		{ "produce", mode_produce }, { "consume", mode_consume },
	};
	unsigned limit = 240, i;
	int ch;

	progname = "zio_io";
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "+T:S:")) != -1) {
		switch (ch) {
		case 'T':
			limit = (unsigned)num(optarg);
			break;
		case 'S':
			rng ^= num(optarg) * 0x9e3779b97f4a7c15ULL;
			if (rng == 0)
				rng = 1;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	signal(SIGALRM, on_alarm);
	alarm(limit);
	argc -= optind;
	argv += optind;
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(argv[0], modes[i].name) == 0) {
			optind = 1;
			return modes[i].fn(argc, argv);
		}
	usage();
}
