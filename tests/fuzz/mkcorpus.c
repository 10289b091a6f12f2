/*
 * mkcorpus: writes the fuzz targets' seed corpora (tests/fuzz/corpus/T/),
 * a few valid inputs of each kind made with the encoders, so fuzzing
 * starts past the first checks.  make fuzz-corpus runs it; its output is
 * committed.
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segwire.h"
#include "zio_pool.h"
#include "zring.h"
#include "zread.h"

static const char *top;

static void
put(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", top, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s/%s", top, target, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
puts_seed(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* One local frame: header and payload. */
static size_t
frame(uint8_t *out, uint16_t op, const uint8_t *p, size_t n)
{
	struct segw_hdr h = { (uint32_t)n, op, 0 };

	segw_hdr_encode(out, &h);
	memcpy(out + SEGW_HDRLEN, p, n);
	return SEGW_HDRLEN + n;
}

static void
segw(void)
{
	static uint8_t buf[SEGW_HDRLEN + SEGW_MAXPAYLOAD], p[SEGW_MAXPAYLOAD];
	static struct segw_iov iov[3] = { { 0, 0x10000000, 4096 },
	    { 4096, 0x10001000, 64 }, { 8192, 0x10002000, 1 } };
	struct segw_req r;
	struct segw_info info;
	struct segw_imp imp = { .handle = 7, .len = 0x100000, .rva = 0x20000000,
	    .gen = 3, .rkey = 0x1234, .perm = SEGW_RD, .eflags = SEGW_EXP_REBIND };
	struct segw_io io = { 1, SEGW_IO_PUT, 0, 3, iov };
	struct segw_addrs a;
	uint64_t v[3] = { 0x10000040, 0x10000080, 0x100000c0 };
	size_t n, at = 0;

	memset(&r, 0, sizeof r);
	strcpy(r.name, "example");
	r.arg = 0660;
	n = segw_req_encode(p, sizeof p, &r);
	at += frame(buf + at, SEGW_CREATE, p, n);
	strcpy(r.text, "va 0x10000000 0x100000");
	r.textlen = strlen(r.text);
	n = segw_req_encode(p, sizeof p, &r);
	at += frame(buf + at, SEGW_CTL, p, n);
	put("segw", "create-ctl", buf, at);
	n = segw_io_encode(p, sizeof p, &io);
	put("segw", "io", buf, frame(buf, SEGW_IO, p, n));
	memset(&a, 0, sizeof a);
	a.n = 3;
	memcpy(a.addrs, v, sizeof v);
	n = segw_addrs_encode(p, sizeof p, &a);
	put("segw", "zfree", buf, frame(buf, SEGW_ZFREE, p, n));
	n = segw_atomic_encode(p, sizeof p, &(struct segw_atomic){ 1,
	    SEGW_AT_CAS, 64, 0, 0x1234 });
	put("segw", "atomic", buf, frame(buf, SEGW_ATOMIC, p, n));
	memset(&info, 0, sizeof info);
	strcpy(info.name, "example");
	info.verb = SEG_VERB_VA;
	info.mode = 0660;
	info.va = 0x10000000;
	info.len = 0x100000;
	n = segw_info_encode(p, sizeof p, &info, "hi", 2);
	put("segw", "info", buf, frame(buf, SEGW_STAT, p, n));
	n = segw_imp_encode(p, sizeof p, &imp);
	put("segw", "imp", buf, frame(buf, SEGW_IMPORT, p, n));
	n = segw_version_encode(p, sizeof p, SEGW_VERSION);
	put("segw", "version", buf, frame(buf, SEGW_HELLO, p, n));
	memcpy(p, v, sizeof v);
	n = segw_u64s_encode((uint64_t *)p, 3);
	put("segw", "u64s", buf, frame(buf, SEGW_FREEREAD, p, n));
}

static void
segp_one(const char *name, uint16_t type, const union segp_msg *m)
{
	static uint8_t buf[SEGP_MSGSIZE];
	struct segp_hdr h = { type, 0, 0, 1, 42 };
	size_t n = segp_msg_encode(buf + SEGP_HDRLEN, sizeof buf - SEGP_HDRLEN,
	    type, m);

	if (n == 0 && type != SEGP_CREDIT && type != SEGP_ACK) {
		fprintf(stderr, "mkcorpus: %s does not encode\n", name);
		exit(1);
	}
	h.len = (uint32_t)n;
	segp_hdr_encode(buf, &h);
	put("segp", name, buf, SEGP_HDRLEN + n);
}

static void
segp(void)
{
	static union segp_msg m;

	memset(&m, 0, sizeof m);
	m.hello.vmin = 1;
	m.hello.vmax = 2;
	m.hello.port = 7450;
	strcpy(m.hello.node, "node-a");
	segp_one("hello", SEGP_HELLO, &m);
	segp_one("credit", SEGP_CREDIT, NULL);
	memset(&m, 0, sizeof m);
	m.cursor = 3;
	segp_one("list", SEGP_LIST, &m);
	memset(&m, 0, sizeof m);
	m.list_rep.n = 2;
	strcpy(m.list_rep.ent[0].name, "a");
	m.list_rep.ent[0].len = 4096;
	m.list_rep.ent[0].perm = SEGW_RD;
	m.list_rep.ent[0].verb = SEG_VERB_VA;
	strcpy(m.list_rep.ent[1].name, "b.2");
	m.list_rep.ent[1].len = 8192;
	m.list_rep.ent[1].perm = SEGW_RD | SEGW_WR;
	m.list_rep.ent[1].verb = SEG_VERB_UMSG;
	m.list_rep.ent[1].eflags = SEGW_EXP_REBIND | SEGW_EXP_LOCKOPS;
	segp_one("list-rep", SEGP_LIST_REP, &m);
	memset(&m, 0, sizeof m);
	strcpy(m.name, "example");
	segp_one("import", SEGP_IMPORT, &m);
	memset(&m, 0, sizeof m);
	m.import_rep.id = 9;
	m.import_rep.va = 0x10000000;
	m.import_rep.len = 0x100000;
	m.import_rep.gen = 1;
	m.import_rep.rkey = 0x77;
	m.import_rep.perm = SEGW_RD | SEGW_WR;
	segp_one("import-rep", SEGP_IMPORT_REP, &m);
	m.import_rep.witheflags = 1;
	m.import_rep.eflags = SEGW_EXP_REBIND;
	segp_one("import-rep-eflags", SEGP_IMPORT_REP, &m);
	m.import_rep.direct = 1;
	m.import_rep.grant = 9;
	m.import_rep.drkey = 0x78;
	segp_one("rebind", SEGP_REBIND, &m);
	memset(&m, 0, sizeof m);
	m.id = 9;
	segp_one("unimport", SEGP_UNIMPORT, &m);
	segp_one("revoke", SEGP_REVOKE, &m);
	segp_one("signal", SEGP_SIGNAL, &m);
	memset(&m, 0, sizeof m);
	m.error.code = 2;
	strcpy(m.error.text, "segment 'x' does not exist");
	segp_one("error", SEGP_ERROR, &m);
	memset(&m, 0, sizeof m);
	m.free.id = 9;
	m.free.n = 2;
	m.free.addrs[0] = 0x10000040;
	m.free.addrs[1] = 0x10000080;
	segp_one("free", SEGP_FREE, &m);
	segp_one("ack", SEGP_ACK, NULL);
	memset(&m, 0, sizeof m);
	m.alive.id = 9;
	m.alive.holder = 10;
	segp_one("alive", SEGP_ALIVE, &m);
}

static void
zpool(void)
{
	uint64_t len = 1u << 20, base = 0x100000000000ULL;
	size_t size = zpool_shared_size(len);
	uint8_t *b = calloc(1, 9 + size);

	/* mode 0: a whole valid state, with a live 4 KiB buffer at base */
	b[0] = 0;
	memcpy(b + 1, &base, 8);
	zpool_shared_init((struct zpool_shared *)(b + 9), base, len);
	b[9 + sizeof(struct zpool_shared)] = 12;	/* slab 0: 4 KiB class */
	b[9 + sizeof(struct zpool_shared) + ((size_t)(len >> 20) + 7) / 8 * 8]
	    = 1;					/* its first buffer live */
	put("zpool", "state", b, 9 + size);
	/* mode 1: a valid state of the input's geometry, mutated */
	memset(b, 0, 16);
	b[0] = 1;
	b[9] = 0x10;
	b[10] = 0x40;
	put("zpool", "mutated", b, 16);
	free(b);
}

static void
zring(void)
{
	uint8_t *b = calloc(1, 9 + ZRING_SIZE);
	struct zring_ent e;
	uint32_t i;

	/* index 5, end 77, a 200-byte buffer: a ring as segd makes it */
	b[0] = 5;
	b[4] = 77;
	b[8] = 200;
	zring_init(b + 9);
	put("zring", "new", b, 9);
	/* entries, a batch's statuses and an error record, index past it */
	b[0] = 1;
	b[1] = 0x10;
	b[4] = 3;
	b[8] = 17;
	zring_set_prod(b + 9, 9);
	zring_set_cons(b + 9, 3);
	for (i = 0; i < 16; i++) {
		e.addr = 0x38000000 + 64 * (uint64_t)i;
		e.flags = i % 3 ? ZRING_MORE : 0;
		zring_put(b + 9, i, &e);
		zring_set_status(b + 9, i, 0x20016);
	}
	zring_set_error(b + 9, 1, 3, "address 0x38000040 is not the start of "
	    "a live buffer of segment 'u'");
	put("zring", "entries", b, 9 + ZRING_SIZE);
	free(b);
}

static void
zread(void)
{
	uint8_t *b = calloc(1, 8 + ZREAD_SIZE);
	uint32_t i;

	/* segd's prod 9, entry 3: a ring as segd makes it */
	b[0] = 9;
	b[4] = 3;
	zread_init(b + 8);
	put("zread", "new", b, 8);
	/* entries, the reader 4 behind; and a consumer index ahead of prod */
	zread_set_word(b + 8, ZREAD_PROD, 9);
	zread_set_word(b + 8, ZREAD_CONS, 5);
	zread_set_word(b + 8, ZREAD_ARMED, 1);
	for (i = 0; i < 16; i++)
		zread_put(b + 8, i, 0x38000000 + 64 * (uint64_t)i);
	put("zread", "entries", b, 8 + ZREAD_SIZE);
	zread_set_word(b + 8, ZREAD_CONS, 12);
	put("zread", "ahead", b, 8 + 256);
	free(b);
}

/* keyed connects and accepts (fuzz_auth), as rdma_cm pads them */
static void
auth(void)
{
	struct segp_connect c = { .magic = SEGP_CONNECT_AUTH, .vmin = 2,
	    .vmax = 3 };
	uint8_t buf[SEGP_CONNECT_MAX], nonce[SEGP_NONCELEN];
	size_t n;

	memset(c.nonce, 0x5a, sizeof c.nonce);
	memset(c.tag, 0xc3, sizeof c.tag);
	memset(buf, 0, sizeof buf);
	n = segp_connect_encode(buf, sizeof buf, &c);
	put("auth", "connect", buf, n);
	put("auth", "connect-padded", buf, sizeof buf);
	memset(nonce, 0x96, sizeof nonce);
	memset(buf, 0, sizeof buf);
	n = segp_accept_encode(buf, sizeof buf, nonce);
	put("auth", "accept", buf, n);
	c.magic = SEGP_CONNECT_CTRL;
	n = segp_connect_encode(buf, sizeof buf, &c);
	put("auth", "ctrl", buf, n);
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkcorpus DIR\n");
		return 2;
	}
	top = argv[1];
	mkdir(top, 0755);
	segw();
	segp();
	puts_seed("ctl", "va", "va 0x10000000 0x100000");
	puts_seed("ctl", "kmsg", "  kmsg\t0x36000000   4096 \n");
	puts_seed("ctl", "addr0", "umsg 0 65536");
	puts_seed("ctl", "bad", "va 0x1000 0xffffffffffffffff");
	puts_seed("acl", "two", "\x04node-a:r,node-b:rw");
	puts_seed("acl", "addr", "\x01" "192.0.2.7:rw");
	puts_seed("acl", "v6", "\x02[fe80::1]:r,x:r");
	puts_seed("meta", "va", "segd1 1000 1000 660 1 10000000 100000\n");
	puts_seed("meta", "none", "segd1 0 0 600 0 0 0\n");
	puts_seed("meta", "umsg", "segd1 65534 65534 644 3 36000000 10000\n");
	puts_seed("export", "all", "segx1 5f3a000000001 0 all 0 -\n");
	puts_seed("export", "two", "segx1 1 0 two 0 node-a:r,192.0.2.7:rw\n");
	puts_seed("export", "rebound", "segx1 5f3a000000002 7 other 30000 "
	    "node-b:rw\n");
	puts_seed("parse", "v4", "\x10" "192.0.2.1:7450");
	puts_seed("parse", "v6", "[fe80::1%eth0]:7451");
	puts_seed("parse", "num", "0x10000000");
	puts_seed("parse", "name", "seg.name-1_x");
	zpool();
	zring();
	zread();
	auth();
	return 0;
}
