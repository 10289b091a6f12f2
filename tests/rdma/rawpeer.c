/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * rawpeer: a segd peer made of raw rdma_cm and verbs, for the RDMA tier.
 * It connects to segd's rdma_cm port as another segd would and speaks the
 * peer protocol of proto/segwire.h (16-byte header with credits, HELLO
 * first) well enough to be accepted, or breaks it on purpose.
 *
 *   rawpeer -a ADDR -p PORT -m MODE [-n NODE] [-t SECONDS] [-w SECONDS]
 *           [-c COUNT] [-v VA -k RKEY -l LEN -o FILE] [-K KEYFILE]
 *           [-R FILE | -P FILE]
 *
 * Keyed segds (segd -k): with -K KEYFILE rawpeer connects as a keyed segd
 * does (a nonce and a tag made with the key), checks segd's AUTH proof and
 * sends its own after the HELLOs; -R FILE records what it sent (the
 * connect's private data and its proof) in FILE.  -P FILE sends FILE's
 * connect and proof again, as one who captured them would, without a key.
 * $RAWPEER_KEY names a key file taken as -K when no -K or -P is given.
 *
 * MODE
 *   foreign     connect without segd's private data, as rping or perftest
 *               -R do: exit 0 if segd refuses it at connect ("refused at
 *               connect: REASON"), 1 if it accepts it
 *   hello       a valid HELLO; waits for segd's HELLO, asks for its export
 *               list (LIST, cursor 0) and checks the LIST_REP, then stays
 *               connected for -w seconds: exit 0 if never dropped
 *   read        a valid HELLO, then one RDMA READ of LEN bytes at VA with
 *               RKEY (say, from seg_import_info) into FILE: exit 0 if it
 *               completed successfully, 3 if it completed with an error
 *               ("READ failed: STATUS" on standard output)
 *   many        COUNT connections (-c, 1 to 1024), one after the other, each
 *               with a valid HELLO from a node of its own (NODE-0, NODE-1,
 *               ...): prints "accepted A of COUNT" and, if segd refused
 *               some, "refused R, the first: connection I: EVENT (status
 *               S)[: REASON]"; holds the accepted ones for -w seconds
 *               ("dropped by segd while held: D"), then closes them all
 *               ("closed C connections"): exit 0 if it got that far
 *   nocredits   a valid HELLO, then LIST requests one after the other, each
 *               returning no credits, and never a CREDIT message (its own
 *               receive buffers are not posted again either): segd's
 *               replies queue for credits until it drops the connection;
 *               prints "dropped after N requests" (exit 0), or exit 1 if
 *               still connected after 20,000
 *   malformed messages, each of which segd must answer by dropping the
 *   connection (exit 0 "dropped: ..." when it does within -w seconds, 1 if
 *   it is still connected):
 *   badversion  HELLO with protocol versions SEGP_VERSION_MAX + 1 only (none
 *               in common)
 *   prehello    a LIST request before any HELLO
 *   badlen      HELLO whose length field is larger than the bytes sent
 *   badtype     a message of unknown type (200) as the first message
 *   typeafter   a valid HELLO, then a message of unknown type (99)
 *   shorthello  HELLO with a 10-byte payload (length field consistent)
 *   badnode     HELLO with a node name "bad node!"
 *   nodelen     HELLO with node name length 0
 *   credits     HELLO whose header returns 1000 credits
 *   credits2    a valid HELLO, then a CREDIT message returning 32 credits
 *               (more than segd has spent)
 *   secondhello a valid HELLO, and another one
 *   garbage     7 random bytes (shorter than a header)
 *   garbage2    200 bytes of 0xa5
 *   toolong     a 5000-byte SEND, more than a receive buffer holds
 *   replay      (-P FILE) the recorded connect, a valid HELLO, the
 *               recorded proof: exit 0 if segd takes the connect and then
 *               drops the connection, 1 if it keeps it
 * Every wait is bounded by -t (default 30 s), and the whole run by -t plus
 * -w plus 5 s; exit 2 on errors.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/random.h>
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "segwire.h"

#define NRECV   8
#define SBUF    8192
#define WR_RECV 1
#define WR_SEND 2
#define WR_READ 3
#define MANY_MAX 1024	/* connections of mode many */

/* One connection to segd (mode many makes several; the others, one). */
struct conn {
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *rmr, *smr;
	uint8_t *rbuf, *sbuf;
	int disconnected;
	uint32_t owed;	/* receive buffers re-posted, not yet returned */
	/* receives that completed while waiting for something else, in order */
	struct { int slot; uint32_t len; } stash[NRECV];
	int nstash;
};

static struct rdma_event_channel *ch;	/* every connection's */
static struct conn conn0, *cur = &conn0;	/* the connection at work */
static struct ibv_mr *dmr;
static uint8_t *dbuf;
static int timeout_s = 30, wait_s = 3, quiet;

/* keyed (-K, -R, -P) */
static uint8_t key[1024];
static size_t keylen;
static int keyed;			/* -K or -P */
static const char *record_file;		/* -R */
static uint8_t rec_priv[sizeof(struct segp_connect_auth_wire)];
static uint8_t rec_proof[SEGP_PROOFLEN];
static int replaying;			/* -P: rec_* from the file */
static uint8_t cnonce[SEGP_NONCELEN];
static uint8_t est_priv[256];		/* the accept's private data */
static size_t est_len;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "rawpeer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
on_alarm(int sig)
{
	static const char m[] = "rawpeer: time limit reached\n";

	(void)sig;
	if (write(2, m, sizeof m - 1) < 0)
		_exit(2);
	_exit(2);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An event of a connection's that is not cur (mode many): noted there. */
static int
cm_other(struct rdma_cm_event *ev)
{
	struct conn *c = ev->id != NULL ? ev->id->context : NULL;

	if (c == NULL || c == cur)
		return 0;
	if (ev->event == RDMA_CM_EVENT_DISCONNECTED ||
	    ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL)
		c->disconnected = 1;
	rdma_ack_cm_event(ev);
	return 1;
}

/*
 * cur's next rdma_cm event within ms: its type, or -1 if none came.  The
 * connect's private data of a REJECTED event (segd's reason) goes into why
 * (n bytes, "" if none), its status into *status.
 */
static int
cm_next(int ms, char *why, size_t n, int *status)
{
	struct rdma_cm_event *ev;
	long long end = now_ms() + ms;
	int type, len;

	while (now_ms() < end) {
		if (rdma_get_cm_event(ch, &ev) != 0) {
			if (errno != EAGAIN)
				die("rdma_get_cm_event: %s", strerror(errno));
			usleep(1000);
			continue;
		}
		if (cm_other(ev))
			continue;
		type = ev->event;
		*status = ev->status;
		if (type == RDMA_CM_EVENT_ESTABLISHED) {
			est_len = ev->param.conn.private_data == NULL ? 0 :
			    ev->param.conn.private_data_len;
			if (est_len > sizeof est_priv)
				est_len = sizeof est_priv;
			if (est_len > 0)
				memcpy(est_priv, ev->param.conn.private_data,
				    est_len);
		}
		len = type == RDMA_CM_EVENT_REJECTED ?
		    (int)ev->param.conn.private_data_len : 0;
		if (len >= (int)n)
			len = (int)n - 1;
		if (ev->param.conn.private_data == NULL)
			len = 0;
		snprintf(why, n, "%.*s", len, len ?
		    (const char *)ev->param.conn.private_data : "");
		rdma_ack_cm_event(ev);
		return type;
	}
	return -1;
}

/* cur's next rdma_cm event, of type want, within ms. */
static void
cm_expect(enum rdma_cm_event_type want, int ms)
{
	char why[256];
	int got, st;

	if ((got = cm_next(ms, why, sizeof why, &st)) == -1)
		die("no %s within %d ms", rdma_event_str(want), ms);
	if (got != (int)want)
		die("expected %s, got %s (status %d)", rdma_event_str(want),
		    rdma_event_str((enum rdma_cm_event_type)got), st);
}

/* Poll the cm channel for disconnections (of any connection). */
static void
cm_poll(void)
{
	struct rdma_cm_event *ev;
	struct conn *c;

	while (rdma_get_cm_event(ch, &ev) == 0) {
		c = ev->id != NULL ? ev->id->context : NULL;
		if (c != NULL && (ev->event == RDMA_CM_EVENT_DISCONNECTED ||
		    ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL))
			c->disconnected = 1;
		rdma_ack_cm_event(ev);
	}
}

static void
post_recv(int i)
{
	struct ibv_sge sge = {
	    (uintptr_t)(cur->rbuf + (size_t)i * SEGP_MSGSIZE), SEGP_MSGSIZE,
	    cur->rmr->lkey };
	struct ibv_recv_wr wr = { .wr_id = ((uint64_t)i << 2) | WR_RECV,
	    .sg_list = &sge, .num_sge = 1 }, *bad;

	if (ibv_post_recv(cur->id->qp, &wr, &bad) != 0)
		die("ibv_post_recv: %s", strerror(errno));
}

static int priv = 1;	/* send segd's connect private data */

/*
 * A connect without segd's private data, as rping or perftest make: it must
 * be refused at once.  Exits 0 (refused, the reason printed) or 1.
 */
static void
foreign_outcome(void)
{
	char why[256];
	int ev, st;

	if ((ev = cm_next(10000, why, sizeof why, &st)) == -1) {
		printf("no answer to the connect\n");
		exit(1);
	}
	if (ev == RDMA_CM_EVENT_REJECTED) {
		printf("refused at connect: %s\n", why);
		exit(0);
	}
	printf("not refused: %s\n",
	    rdma_event_str((enum rdma_cm_event_type)ev));
	exit(1);
}
static uint8_t privbuf[SEGP_CONNECT_MAX];

/* The event channel, non-blocking: events are polled. */
static void
channel(void)
{
	int flags;

	if ((ch = rdma_create_event_channel()) == NULL)
		die("rdma_create_event_channel: %s", strerror(errno));
	flags = fcntl(ch->fd, F_GETFL);
	if (flags < 0 || fcntl(ch->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
}

/* cur's queue pair and buffers on its resolved id; receives posted. */
static void
conn_qp(void)
{
	struct ibv_qp_init_attr qa;
	int i;

	if ((cur->pd = ibv_alloc_pd(cur->id->verbs)) == NULL)
		die("ibv_alloc_pd: %s", strerror(errno));
	cur->cq = ibv_create_cq(cur->id->verbs, 64, NULL, NULL, 0);
	if (cur->cq == NULL)
		die("ibv_create_cq: %s", strerror(errno));
	memset(&qa, 0, sizeof qa);
	qa.send_cq = qa.recv_cq = cur->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = 16;
	qa.cap.max_recv_wr = NRECV;
	qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
	if (rdma_create_qp(cur->id, cur->pd, &qa) != 0)
		die("rdma_create_qp: %s", strerror(errno));
	cur->rbuf = calloc(NRECV, SEGP_MSGSIZE);
	cur->sbuf = calloc(1, SBUF);
	if (cur->rbuf == NULL || cur->sbuf == NULL)
		die("out of memory");
	cur->rmr = ibv_reg_mr(cur->pd, cur->rbuf, (size_t)NRECV * SEGP_MSGSIZE,
	    IBV_ACCESS_LOCAL_WRITE);
	cur->smr = ibv_reg_mr(cur->pd, cur->sbuf, SBUF, IBV_ACCESS_LOCAL_WRITE);
	if (cur->rmr == NULL || cur->smr == NULL)
		die("ibv_reg_mr: %s", strerror(errno));
	for (i = 0; i < NRECV; i++)
		post_recv(i);
}

static void
hmac(const uint8_t *in, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, in, len, out, &n) == NULL ||
	    n != 32)
		die("HMAC failed");
}

/* c as a keyed segd makes it (-K), or as recorded (-P). */
static void
keyed_connect(struct segp_connect *c)
{
	uint8_t in[SEGP_CONNECT_MACIN], a[16], mac[32];
	const char *why = NULL;
	uint16_t port = 0;

	if (replaying) {
		if (segp_connect_decode(rec_priv, sizeof rec_priv, c, &why) < 0)
			die("the recorded connect: %s", why);
		memcpy(cnonce, c->nonce, sizeof cnonce);
		return;
	}
	c->magic = SEGP_CONNECT_AUTH;
	if (getrandom(cnonce, sizeof cnonce, 0) != sizeof cnonce)
		die("getrandom: %s", strerror(errno));
	memcpy(c->nonce, cnonce, sizeof cnonce);
	seg_addr16(rdma_get_peer_addr(cur->id), a, &port);
	segp_connect_macin(in, c, a, port);
	hmac(in, sizeof in, mac);
	memcpy(c->tag, mac, SEGP_TAGLEN);
	if (segp_connect_encode(rec_priv, sizeof rec_priv, c) != sizeof rec_priv)
		die("segp_connect_encode refused the keyed connect");
}

/*
 * cur connects to addr:port (a new id, queue pair and buffers): the connect
 * is sent, the answer is for the caller to take (cm_next).
 */
static void
conn_open(const char *addr, const char *port)
{
	struct addrinfo hints, *ai;
	struct rdma_conn_param cp;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(addr, port, &hints, &ai) != 0)
		die("bad address %s port %s", addr, port);
	if (rdma_create_id(ch, &cur->id, cur, RDMA_PS_TCP) != 0)
		die("rdma_create_id: %s", strerror(errno));
	if (rdma_resolve_addr(cur->id, NULL, ai->ai_addr, 2000) != 0)
		die("rdma_resolve_addr: %s", strerror(errno));
	freeaddrinfo(ai);
	cm_expect(RDMA_CM_EVENT_ADDR_RESOLVED, 5000);
	if (rdma_resolve_route(cur->id, 2000) != 0)
		die("rdma_resolve_route: %s", strerror(errno));
	cm_expect(RDMA_CM_EVENT_ROUTE_RESOLVED, 5000);
	conn_qp();
	memset(&cp, 0, sizeof cp);
	cp.initiator_depth = 1;
	cp.responder_resources = 1;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (priv) {	/* a segd's control connection says so */
		struct segp_connect c = { .magic = SEGP_CONNECT_CTRL,
		    .vmin = SEGP_VERSION_MIN, .vmax = SEGP_VERSION_MAX };
		cp.private_data = privbuf;
		if (keyed)
			keyed_connect(&c);
		cp.private_data_len = (uint8_t)segp_connect_encode(privbuf,
		    sizeof privbuf, &c);
	}
	if (rdma_connect(cur->id, &cp) != 0)
		die("rdma_connect: %s", strerror(errno));
}

/* cur's connection closed, its resources freed (the id too). */
static void
conn_close(void)
{
	if (cur->id == NULL)
		return;
	if (!cur->disconnected)
		rdma_disconnect(cur->id);
	rdma_destroy_qp(cur->id);
	ibv_dereg_mr(cur->rmr);
	ibv_dereg_mr(cur->smr);
	ibv_destroy_cq(cur->cq);
	ibv_dealloc_pd(cur->pd);
	rdma_destroy_id(cur->id);
	free(cur->rbuf);
	free(cur->sbuf);
	memset(cur, 0, sizeof *cur);
}

/* The one connection of every mode but many, established. */
static void
setup(const char *addr, const char *port)
{
	channel();
	conn_open(addr, port);
	if (!priv)
		foreign_outcome();	/* exits */
	cm_expect(RDMA_CM_EVENT_ESTABLISHED, 10000);
	printf("connected to %s port %s\n", addr, port);
}

/*
 * One completion of kind want within ms; returns its status, or -1 if the
 * connection was dropped first.  Receives are re-posted; *slot gets the
 * receive buffer of a WR_RECV completion, *got its length.
 */
static int
wait_wc(int want, int ms, int *slot, uint32_t *got)
{
	long long end = now_ms() + ms;
	struct ibv_wc wc;
	int n;

	while (now_ms() < end) {
		if ((n = ibv_poll_cq(cur->cq, 1, &wc)) < 0)
			die("ibv_poll_cq failed");
		if (n == 0) {
			cm_poll();
			if (cur->disconnected)
				return -1;
			usleep(500);
			continue;
		}
		if ((int)(wc.wr_id & 3) != want) {
			/* a message before its turn: kept for expect_msg */
			if ((wc.wr_id & 3) == WR_RECV && wc.status == IBV_WC_SUCCESS &&
			    cur->nstash < NRECV) {
				int k = cur->nstash++;
				cur->stash[k].slot = (int)(wc.wr_id >> 2);
				cur->stash[k].len = wc.byte_len;
			}
			continue;
		}
		if (slot)
			*slot = (int)(wc.wr_id >> 2);
		if (got)
			*got = wc.byte_len;
		return (int)wc.status;
	}
	die("no completion within %d ms", ms);
}

/*
 * One signaled work request (WR_SEND: a SEND of sbuf; WR_READ: an RDMA READ
 * from va, rkey into dbuf) of len bytes; the completion's status or -1.
 */
static int
post_wait(int wr_id, size_t len, uint64_t va, uint32_t rkey)
{
	int send = wr_id == WR_SEND;
	struct ibv_sge sge = { (uintptr_t)(send ? cur->sbuf : dbuf),
	    (uint32_t)len, send ? cur->smr->lkey : dmr->lkey };
	struct ibv_send_wr wr, *bad;

	memset(&wr, 0, sizeof wr);
	wr.wr_id = (uint64_t)wr_id;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = send ? IBV_WR_SEND : IBV_WR_RDMA_READ;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = va;
	wr.wr.rdma.rkey = rkey;
	if (ibv_post_send(cur->id->qp, &wr, &bad) != 0)
		die("ibv_post_send%s: %s", send ? "" : " (READ)",
		    strerror(errno));
	return wait_wc(wr_id, timeout_s * 1000, NULL, NULL);
}

/* SEND len bytes of sbuf; returns the completion's status or -1. */
static int
send_raw(size_t len)
{
	return post_wait(WR_SEND, len, 0, 0);
}

/* Header (fields as given, little-endian) + payload into sbuf; the size. */
static size_t
build(uint16_t type, uint32_t lenfield, uint32_t credits, uint32_t tag,
    const void *pl, size_t plen)
{
	struct segp_hdr_wire h;

	h.type = htole16(type);
	h.flags = 0;
	h.len = htole32(lenfield);
	h.credits = htole32(credits);
	h.tag = htole32(tag);
	memcpy(cur->sbuf, &h, sizeof h);
	if (plen)
		memcpy(cur->sbuf + sizeof h, pl, plen);
	return sizeof h + plen;
}

/* A hello speaking one version (the way version 1 wrote it: vmax 0). */
static void
hello(struct segp_hello_wire *hl, uint32_t version, const char *node, size_t nl)
{
	memset(hl, 0, sizeof *hl);
	hl->vmin = htole32(version);
	hl->vmax = htole32(version);
	hl->caps = 0;
	hl->port = 0;		/* this peer does not listen */
	hl->nodelen = htole16((uint16_t)nl);
	memcpy(hl->node, node, nl > SEGP_NODEMAX ? SEGP_NODEMAX : nl);
}

static void
send_msg(const char *what, size_t len)
{
	int st = send_raw(len);

	if (st == -1)
		die("%s: dropped before it was sent", what);
	if (st != IBV_WC_SUCCESS)
		printf("%s: send completed with %s\n", what,
		    ibv_wc_status_str((enum ibv_wc_status)st));
}

/* The peer's next message, of type want. */
static void
expect_msg(uint16_t want, uint32_t tag, struct segp_hdr_wire *h,
    const uint8_t **pl)
{
	static uint8_t copy[SEGP_MSGSIZE];
	int slot, st;
	uint32_t got;

	for (;;) {
		if (cur->nstash > 0) {
			slot = cur->stash[0].slot;
			got = cur->stash[0].len;
			memmove(cur->stash, cur->stash + 1,
			    --cur->nstash * sizeof cur->stash[0]);
		} else {
			st = wait_wc(WR_RECV, timeout_s * 1000, &slot, &got);
			if (st == -1)
				die("dropped while waiting for message type %u", want);
			if (st != IBV_WC_SUCCESS)
				die("receive failed: %s",
				    ibv_wc_status_str((enum ibv_wc_status)st));
		}
		if (got < SEGP_HDRLEN)
			die("segd sent a %u-byte message", got);
		if (got > SEGP_MSGSIZE)
			die("segd sent a %u-byte message", got);
		memcpy(copy, cur->rbuf + (size_t)slot * SEGP_MSGSIZE, got);
		memcpy(h, copy, sizeof *h);
		*pl = copy + SEGP_HDRLEN;
		if (le32toh(h->len) != got - SEGP_HDRLEN)
			die("segd's message: length field %u, %u bytes came",
			    le32toh(h->len), got);
		post_recv(slot);	/* the message was copied out */
		cur->owed++;
		if (le16toh(h->type) == SEGP_CREDIT)
			continue;
		if (le16toh(h->type) != want || le32toh(h->tag) != tag)
			die("segd sent type %u tag %u; expected type %u tag %u",
			    le16toh(h->type), le32toh(h->tag), want, tag);
		return;
	}
}

/* What a proof covers: mine (we connected) or segd's. */
static void
proof_of(int mine, const char *node, const char *peer,
    const uint8_t snonce[SEGP_NONCELEN], uint8_t out[SEGP_PROOFLEN])
{
	struct segp_proof_in in;
	uint8_t buf[SEGP_PROOF_MACIN], local[16], remote[16];
	uint16_t port;

	memset(&in, 0, sizeof in);
	in.role = mine ? SEGP_ROLE_CONNECT : SEGP_ROLE_ACCEPT;
	memcpy(in.cnonce, cnonce, sizeof in.cnonce);
	memcpy(in.snonce, snonce, sizeof in.snonce);
	snprintf(in.prover, sizeof in.prover, "%s", mine ? node : peer);
	snprintf(in.verifier, sizeof in.verifier, "%s", mine ? peer : node);
	seg_addr16(rdma_get_local_addr(cur->id), local, &port);
	seg_addr16(rdma_get_peer_addr(cur->id), remote, &port);
	memcpy(in.paddr, mine ? local : remote, 16);
	memcpy(in.vaddr, mine ? remote : local, 16);
	if (segp_proof_macin(buf, &in) < 0)
		die("bad node names for a proof");
	hmac(buf, sizeof buf, out);
}

/*
 * Keyed, after the HELLOs: our proof (made, or the recorded one), then
 * segd's, checked (not when replaying: segd drops us instead).
 */
static void
keyed_proofs(const char *node, const char *peer)
{
	struct segp_hdr_wire h;
	const uint8_t *pl;
	uint8_t snonce[SEGP_NONCELEN], mine[SEGP_PROOFLEN], want[SEGP_PROOFLEN];
	const char *why = NULL;
	FILE *f;

	if (segp_accept_decode(est_priv, est_len, snonce, &why) < 0)
		die("segd's accept: %s", why);
	if (replaying)
		memcpy(mine, rec_proof, sizeof mine);
	else
		proof_of(1, node, peer, snonce, mine);
	send_msg("auth", build(SEGP_AUTH, sizeof mine, 0, 0, mine,
	    sizeof mine));
	if (replaying)
		return;
	expect_msg(SEGP_AUTH, 0, &h, &pl);
	proof_of(0, node, peer, snonce, want);
	if (le32toh(h.len) != SEGP_PROOFLEN || memcmp(pl, want, sizeof want))
		die("segd's proof of the key is wrong");
	printf("segd proved the cluster key\n");
	if (record_file == NULL)
		return;
	if ((f = fopen(record_file, "wb")) == NULL ||
	    fwrite(rec_priv, 1, sizeof rec_priv, f) != sizeof rec_priv ||
	    fwrite(mine, 1, sizeof mine, f) != sizeof mine || fclose(f) != 0)
		die("%s: %s", record_file, strerror(errno));
	printf("recorded the connect and the proof in %s\n", record_file);
}

/* A file's bytes into buf (at least min, at most size); the count. */
static size_t
slurp(const char *file, uint8_t *buf, size_t min, size_t size)
{
	FILE *f = fopen(file, "rb");
	size_t n;

	if (f == NULL)
		die("%s: %s", file, strerror(errno));
	n = fread(buf, 1, size, f);
	fclose(f);
	if (n < min)
		die("%s: %zu bytes, want at least %zu", file, n, min);
	return n;
}

/* A valid hello both ways. */
static void
handshake(const char *node)
{
	struct segp_hello_wire hl;
	struct segp_hdr_wire h;
	const uint8_t *pl;
	char peer[SEGP_NODEMAX + 1];
	unsigned nl;

	hello(&hl, SEGP_VERSION_MIN, node, strlen(node));
	send_msg("hello", build(SEGP_HELLO, sizeof hl, 0, 0, &hl, sizeof hl));
	expect_msg(SEGP_HELLO, 0, &h, &pl);
	memcpy(&hl, pl, sizeof hl);
	nl = le16toh(hl.nodelen);
	if (le32toh(hl.vmin) != SEGP_VERSION_MIN ||
	    le32toh(hl.vmax) != SEGP_VERSION_MAX || nl == 0 || nl > SEGP_NODEMAX)
		die("segd's hello: versions %u to %u, node length %u",
		    le32toh(hl.vmin), le32toh(hl.vmax), nl);
	memcpy(peer, hl.node, nl);
	peer[nl] = '\0';
	if (!quiet)
		printf("hello from node %s (versions %u to %u)\n", peer,
		    le32toh(hl.vmin), le32toh(hl.vmax));
	if (keyed)
		keyed_proofs(node, peer);
}

/* Our queue pair in the error state: the connection is dead. */
static int
qp_failed(void)
{
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr qi;

	return ibv_query_qp(cur->id->qp, &qa, IBV_QP_STATE, &qi) == 0 &&
	    qa.qp_state == IBV_QPS_ERR;
}

/*
 * segd dropped cur: the DISCONNECTED event came, or (when the disconnect
 * request was lost, as rdma_cm does not send it again once segd destroyed
 * its id) our queue pair went to the error state.  Receives that came
 * meanwhile are posted again.
 */
static int
conn_dropped(void)
{
	struct ibv_wc wc;

	cm_poll();
	if (cur->disconnected)
		return 1;
	if (qp_failed()) {
		printf("(queue pair in the error state, no DISCONNECTED "
		    "event)\n");
		return 1;
	}
	while (ibv_poll_cq(cur->cq, 1, &wc) > 0)
		if ((wc.wr_id & 3) == WR_RECV && wc.status == IBV_WC_SUCCESS) {
			post_recv((int)(wc.wr_id >> 2));
			cur->owed++;
		}
	return 0;
}

/* Stay connected for secs seconds; 1 if segd dropped us meanwhile. */
static int
dropped_within(int secs)
{
	long long end = now_ms() + secs * 1000LL;

	while (now_ms() < end) {
		if (conn_dropped())
			return 1;
		usleep(2000);
	}
	return 0;
}

/*
 * Mode many: cur makes one connection of the n, with a valid HELLO from
 * node NODE-i; 1 if segd accepted it, else 0 and the reason (the first
 * refusal's only) into first.
 */
static int
many_one(const char *addr, const char *port, int i, char *first, size_t n)
{
	char why[256], node[32];
	int ev, st;

	conn_open(addr, port);
	if ((ev = cm_next(10000, why, sizeof why, &st)) ==
	    RDMA_CM_EVENT_ESTABLISHED) {
		snprintf(node, sizeof node, "NODE-%d", i);
		handshake(node);
		return 1;
	}
	if (first[0] == '\0')
		snprintf(first, n, "connection %d: %s (status %d)%s%s", i + 1,
		    ev == -1 ? "no answer within 10 s" :
		    rdma_event_str((enum rdma_cm_event_type)ev), st,
		    why[0] ? ": " : "", why);
	cur->disconnected = 1;	/* nothing to disconnect */
	conn_close();
	return 0;
}

/*
 * Mode many: n connections, one after the other, each with a valid HELLO
 * and a node name of its own; says how many segd accepted, holds them for
 * wait_s seconds (saying how many segd dropped meanwhile), closes them.
 */
static int
many(const char *addr, const char *port, int n)
{
	struct conn *cs;
	char first[400] = "";
	long long end;
	int i, accepted = 0, open, dropped = 0;

	if ((cs = calloc((size_t)n, sizeof *cs)) == NULL)
		die("out of memory");
	channel();
	for (i = 0; i < n; i++) {
		cur = &cs[i];
		accepted += many_one(addr, port, i, first, sizeof first);
		quiet = 1;	/* one "hello from node" line is enough */
	}
	printf("accepted %d of %d\n", accepted, n);
	if (accepted < n)
		printf("refused %d, the first: %s\n", n - accepted, first);
	printf("holding %d connections for %d s\n", accepted, wait_s);
	for (end = now_ms() + wait_s * 1000LL; now_ms() < end; usleep(20000))
		for (i = 0; i < n; i++) {
			cur = &cs[i];
			if (cur->id != NULL && !cur->disconnected &&
			    conn_dropped()) {
				cur->disconnected = 1;
				dropped++;
			}
		}
	printf("dropped by segd while held: %d\n", dropped);
	for (i = open = 0; i < n; i++) {
		cur = &cs[i];
		open += cur->id != NULL && !cur->disconnected;
		conn_close();
	}
	printf("closed %d connections\n", open);
	cur = &conn0;
	free(cs);
	return 0;
}

static int
do_read(uint64_t va, uint32_t rkey, uint32_t len, const char *file)
{
	FILE *f;
	int st;

	if ((dbuf = calloc(1, len ? len : 1)) == NULL)
		die("out of memory");
	if ((dmr = ibv_reg_mr(cur->pd, dbuf, len ? len : 1,
	    IBV_ACCESS_LOCAL_WRITE)) == NULL)
		die("ibv_reg_mr: %s", strerror(errno));
	st = post_wait(WR_READ, len, va, rkey);
	if (st == -1)
		die("dropped before the READ completed");
	if (st != IBV_WC_SUCCESS) {
		printf("READ failed: %s (status %d%s)\n",
		    ibv_wc_status_str((enum ibv_wc_status)st), st,
		    st == IBV_WC_REM_ACCESS_ERR ? ", IBV_WC_REM_ACCESS_ERR" : "");
		return 3;
	}
	if ((f = fopen(file, "wb")) == NULL || fwrite(dbuf, 1, len, f) != len ||
	    fclose(f) != 0)
		die("%s: %s", file, strerror(errno));
	printf("READ ok: %u bytes at 0x%" PRIx64 " rkey 0x%x into %s\n", len,
	    va, rkey, file);
	return 0;
}

/* LIST requests returning no credits until segd drops us; 0 if it did. */
static int
no_credits(const char *node)
{
	struct segp_list_wire req = { 0, 0 };
	uint32_t i;
	int st;

	handshake(node);
	for (i = 1; i <= 20000; i++) {
		st = send_raw(build(SEGP_LIST, sizeof req, 0, i, &req, sizeof req));
		if (st != IBV_WC_SUCCESS) {
			printf("dropped after %u requests (the last one: %s)\n",
			    i - 1, st == -1 ? "disconnected" :
			    ibv_wc_status_str((enum ibv_wc_status)st));
			return 0;
		}
	}
	if (dropped_within(wait_s)) {
		printf("dropped after %u requests\n", i - 1);
		return 0;
	}
	printf("not dropped: still connected after %u requests\n", i - 1);
	return 1;
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: rawpeer -a ADDR -p PORT -m MODE [-n NODE] "
	    "[-t SECONDS] [-w SECONDS] [-c COUNT] [-v VA -k RKEY -l LEN "
	    "-o FILE] [-K KEYFILE] [-R FILE | -P FILE]\n");
	exit(2);
}

/* A malformed message of the kind mode names: 0 if segd dropped us. */
static int
malformed(const char *mode, const char *node)
{
	struct segp_hello_wire hl;
	uint8_t junk[200];
	size_t n;
	int i, st;

	if (strcmp(mode, "badversion") == 0) {
		hello(&hl, SEGP_VERSION_MAX + 1, node, strlen(node));
		hl.vmax = hl.vmin;	/* a newer segd's range: none in common */
		n = build(SEGP_HELLO, sizeof hl, 0, 0, &hl, sizeof hl);
	} else if (strcmp(mode, "prehello") == 0) {
		struct segp_list_wire req = { 0, 0 };
		n = build(SEGP_LIST, sizeof req, 0, 1, &req, sizeof req);
	} else if (strcmp(mode, "badlen") == 0) {
		hello(&hl, SEGP_VERSION_MIN, node, strlen(node));
		n = build(SEGP_HELLO, sizeof hl, 0, 0, &hl, 40);
	} else if (strcmp(mode, "badtype") == 0) {
		n = build(200, 8, 0, 0, "\0\0\0\0\0\0\0\0", 8);
	} else if (strcmp(mode, "typeafter") == 0) {
		handshake(node);
		n = build(99, 0, 0, 0, NULL, 0);
	} else if (strcmp(mode, "shorthello") == 0) {
		hello(&hl, SEGP_VERSION_MIN, node, strlen(node));
		n = build(SEGP_HELLO, 10, 0, 0, &hl, 10);
	} else if (strcmp(mode, "badnode") == 0) {
		hello(&hl, SEGP_VERSION_MIN, "bad node!", 9);
		n = build(SEGP_HELLO, sizeof hl, 0, 0, &hl, sizeof hl);
	} else if (strcmp(mode, "nodelen") == 0) {
		hello(&hl, SEGP_VERSION_MIN, node, 0);
		n = build(SEGP_HELLO, sizeof hl, 0, 0, &hl, sizeof hl);
	} else if (strcmp(mode, "credits") == 0) {
		hello(&hl, SEGP_VERSION_MIN, node, strlen(node));
		n = build(SEGP_HELLO, sizeof hl, 1000, 0, &hl, sizeof hl);
	} else if (strcmp(mode, "credits2") == 0) {
		handshake(node);
		n = build(SEGP_CREDIT, 0, SEGP_CREDITS, 0, NULL, 0);
	} else if (strcmp(mode, "secondhello") == 0) {
		handshake(node);
		hello(&hl, SEGP_VERSION_MIN, node, strlen(node));
		n = build(SEGP_HELLO, sizeof hl, 0, 0, &hl, sizeof hl);
	} else if (strcmp(mode, "garbage") == 0) {
		srand((unsigned)time(NULL) ^ (unsigned)getpid());
		for (i = 0; i < 7; i++)
			cur->sbuf[i] = (uint8_t)rand();
		n = 7;
	} else if (strcmp(mode, "garbage2") == 0) {
		memset(junk, 0xa5, sizeof junk);
		memcpy(cur->sbuf, junk, sizeof junk);
		n = sizeof junk;
	} else if (strcmp(mode, "toolong") == 0) {
		hello(&hl, SEGP_VERSION_MIN, node, strlen(node));
		build(SEGP_HELLO, 5000 - SEGP_HDRLEN, 0, 0, &hl, sizeof hl);
		n = 5000;
	} else {
		fprintf(stderr, "rawpeer: unknown mode '%s'\n", mode);
		usage();
	}
	if (n > SBUF)
		die("message too large");
	st = send_raw(n);
	if (st > 0)
		printf("%s: send completed with %s\n", mode,
		    ibv_wc_status_str((enum ibv_wc_status)st));
	if (st == -1 || dropped_within(wait_s)) {
		printf("dropped: segd closed the connection after the %s "
		    "message\n", mode);
		return 0;
	}
	printf("not dropped: still connected %d s after the %s message\n",
	    wait_s, mode);
	return 1;
}

int
main(int argc, char *argv[])
{
	const char *addr = NULL, *port = NULL, *mode = NULL, *node = "rawpeer";
	const char *file = NULL;
	uint64_t va = 0;
	uint32_t rkey = 0, len = 0;
	struct segp_hdr_wire h;
	const uint8_t *pl;
	int ch_, rc = 0, count = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch_ = getopt(argc, argv, "a:c:p:m:n:t:w:v:k:l:o:K:R:P:")) !=
	    -1) {
		switch (ch_) {
		case 'a': addr = optarg; break;
		case 'c': count = atoi(optarg); break;
		case 'p': port = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': node = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'w': wait_s = atoi(optarg); break;
		case 'v': va = strtoull(optarg, NULL, 0); break;
		case 'k': rkey = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'l': len = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'o': file = optarg; break;
		case 'K':
			keylen = slurp(optarg, key, 32, sizeof key);
			keyed = 1;
			break;
		case 'R': record_file = optarg; break;
		case 'P': {
			uint8_t rec[sizeof rec_priv + sizeof rec_proof];

			slurp(optarg, rec, sizeof rec, sizeof rec);
			memcpy(rec_priv, rec, sizeof rec_priv);
			memcpy(rec_proof, rec + sizeof rec_priv, sizeof rec_proof);
			keyed = replaying = 1;
			break;
		}
		default: usage();
		}
	}
	if (addr == NULL || port == NULL || mode == NULL || timeout_s <= 0 ||
	    wait_s <= 0 || optind != argc)
		usage();
	if (!keyed && getenv("RAWPEER_KEY") != NULL) {
		keylen = slurp(getenv("RAWPEER_KEY"), key, 32, sizeof key);
		keyed = 1;
	}
	signal(SIGALRM, on_alarm);
	alarm((unsigned)timeout_s + (unsigned)wait_s + 5);
	if (strcmp(mode, "many") == 0) {
		if (count < 1 || count > MANY_MAX)
			usage();
		rc = many(addr, port, count);
		rdma_destroy_event_channel(ch);
		return rc;
	}
	priv = strcmp(mode, "foreign") != 0;
	setup(addr, port);	/* a foreign connect exits there */

	if (strcmp(mode, "hello") == 0) {
		struct segp_list_wire req = { 0, 0 };
		struct segp_list_rep_wire rep;
		handshake(node);
		send_msg("list", build(SEGP_LIST, sizeof req, cur->owed, 7,
		    &req, sizeof req));
		cur->owed = 0;
		expect_msg(SEGP_LIST_REP, 7, &h, &pl);
		memcpy(&rep, pl, sizeof rep);
		printf("list: %u exports visible to node %s\n", le32toh(rep.n),
		    node);
		if (dropped_within(wait_s)) {
			printf("dropped although every message was valid\n");
			return 1;
		}
		printf("accepted: still connected after %d s\n", wait_s);
		goto out;
	}
	if (strcmp(mode, "read") == 0) {
		if (file == NULL || len == 0 || rkey == 0)
			usage();
		handshake(node);
		rc = do_read(va, rkey, len, file);
		goto out;
	}

	if (strcmp(mode, "replay") == 0) {
		if (!replaying)
			usage();
		printf("the replayed connect was taken\n");
		handshake(node);
		if (dropped_within(wait_s)) {
			printf("dropped: segd refused the replayed proof\n");
			goto out;
		}
		printf("not dropped: still connected %d s after the replayed "
		    "proof\n", wait_s);
		rc = 1;
		goto out;
	}

	if (strcmp(mode, "nocredits") == 0) {
		rc = no_credits(node);
		goto out;
	}

	rc = malformed(mode, node);
out:
	if (dmr)
		ibv_dereg_mr(dmr);
	conn_close();
	rdma_destroy_event_channel(ch);
	free(dbuf);
	return rc;
}
