/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * dpguess: what a process holding a real direct-path ticket can and cannot
 * reach.  It imports through the local segd (SEGD_SOCKET) with the local
 * protocol, as libseg does, but makes its data connection itself, with raw
 * rdma_cm and verbs, so it can post what libseg never would.
 *
 *   dpguess REF COMMAND [ARG]
 *     read            READ 8 bytes at offset 0 with the grant's key: exit 0
 *                     when it completes ("read ok")
 *     guess KEY...    one connection per key (with the same ticket): READ 8
 *                     bytes with KEY; prints "KEY STATUS" for each; exit 0
 *                     only if every guess failed at the NIC
 *     write           WRITE 8 bytes with the grant's key: exit 0 if the NIC
 *                     refused it ("write refused: STATUS")
 *     keys            prints "drkey K rkey R": the grant's key and the key
 *                     the segd path uses for the same import
 *     ticket forge|grant|ok   connect with the ticket changed (one byte
 *                     flipped), with an unknown grant, or as it is; prints
 *                     "accepted" or "refused: REASON" (exit 0 either way)
 *     late SECONDS    wait, then connect with the ticket as it is
 *     wait FILE       print "ready", wait until FILE exists, then connect
 *                     with the ticket as it is
 * DPGUESS_SRC=ADDR connects from that local address (another node's, for a
 * ticket replayed from elsewhere).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "libseg.h"

static struct segw_imp m;
static struct rdma_event_channel *ch;
static struct rdma_cm_id *id;
static struct ibv_pd *pd;
static struct ibv_cq *cq;
static struct ibv_mr *mr;
static uint8_t buf[64];

static void __attribute__((noreturn))
die(const char *what)
{
	printf("dpguess: %s: %s\n", what, seg_errstr());
	exit(2);
}

/* The import, with its ticket, from the local segd. */
static void
import(const char *ref)
{
	uint8_t rb[sizeof(struct segw_req_wire) + SEGW_MAXTEXT];
	uint8_t rsp[sizeof(struct segw_imp_wire) + sizeof(struct segw_direct_wire)];
	const char *slash = strrchr(ref, '/'), *why;
	char host[64];
	struct segw_req r;
	uint16_t port;
	size_t n, rl;

	if (slash == NULL || (size_t)(slash - ref) >= sizeof host)
		exit(2);
	memcpy(host, ref, (size_t)(slash - ref));
	host[slash - ref] = '\0';
	if (seg_parse_hostport(host, host, sizeof host, &port, SEG_PORT,
	    &why) < 0)
		exit(2);
	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "%s", slash + 1);
	r.textlen = (size_t)snprintf(r.text, sizeof r.text, "%s %u %s", host,
	    port, host);
	n = segw_req_encode(rb, sizeof rb, &r);
	if (seg_call_raw(SEGW_IMPORT, rb, n, rsp, sizeof rsp, &rl, NULL) < 0)
		die("import");
	if (segw_imp_decode(rsp, rl, &m) < 0 || !m.direct) {
		printf("dpguess: the import has no direct data path\n");
		exit(2);
	}
}

/* A data connection with ticket t for grant g: 0, or the refusal. */
static int
connect_with(uint64_t g, const uint8_t *t, char *why, size_t wsize)
{
	struct segp_connect c = { .magic = SEGP_CONNECT_DATA,
	    .vmin = 3, .vmax = 3, .grant = g };
	struct rdma_conn_param cp;
	struct ibv_qp_init_attr qa;
	struct rdma_cm_event *ev;
	struct addrinfo *ai, *src = NULL;
	const char *from = getenv("DPGUESS_SRC");
	uint8_t priv[SEGP_CONNECT_MAX];
	char port[8];
	int i, rc = 0;

	snprintf(port, sizeof port, "%u", m.port);
	if (getaddrinfo(m.addr, port, NULL, &ai) != 0 ||
	    (from != NULL && getaddrinfo(from, NULL, NULL, &src) != 0) ||
	    (ch = rdma_create_event_channel()) == NULL ||
	    rdma_create_id(ch, &id, NULL, RDMA_PS_TCP) != 0 ||
	    rdma_resolve_addr(id, src ? src->ai_addr : NULL, ai->ai_addr,
	    2000) != 0)
		die("rdma_cm");
	freeaddrinfo(ai);
	if (src != NULL)
		freeaddrinfo(src);
	for (i = 0; i < 3; i++) {
		if (rdma_get_cm_event(ch, &ev) != 0)
			die("rdma_get_cm_event");
		if (ev->event == RDMA_CM_EVENT_ADDR_RESOLVED) {
			rdma_ack_cm_event(ev);
			if (rdma_resolve_route(id, 2000) != 0)
				die("rdma_resolve_route");
			continue;
		}
		if (ev->event == RDMA_CM_EVENT_ROUTE_RESOLVED) {
			rdma_ack_cm_event(ev);
			if (pd == NULL && ((pd = ibv_alloc_pd(id->verbs)) == NULL ||
			    (cq = ibv_create_cq(id->verbs, 16, NULL, NULL, 0)) == NULL ||
			    (mr = ibv_reg_mr(pd, buf, sizeof buf,
			    IBV_ACCESS_LOCAL_WRITE)) == NULL))
				die("verbs");
			memset(&qa, 0, sizeof qa);
			qa.send_cq = qa.recv_cq = cq;
			qa.qp_type = IBV_QPT_RC;
			qa.cap.max_send_wr = qa.cap.max_recv_wr = 4;
			qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
			if (rdma_create_qp(id, pd, &qa) != 0)
				die("rdma_create_qp");
			memcpy(c.ticket, t, sizeof c.ticket);
			memset(&cp, 0, sizeof cp);
			cp.private_data = priv;
			cp.private_data_len = (uint8_t)segp_connect_encode(priv,
			    sizeof priv, &c);
			cp.initiator_depth = 1;
			cp.retry_count = 7;
			cp.rnr_retry_count = 7;
			if (rdma_connect(id, &cp) != 0)
				die("rdma_connect");
			continue;
		}
		if (ev->event == RDMA_CM_EVENT_REJECTED)
			snprintf(why, wsize, "%.*s",
			    (int)ev->param.conn.private_data_len,
			    (const char *)ev->param.conn.private_data);
		else if (ev->event != RDMA_CM_EVENT_ESTABLISHED)
			snprintf(why, wsize, "%s", rdma_event_str(ev->event));
		rc = ev->event == RDMA_CM_EVENT_ESTABLISHED ? 0 : -1;
		rdma_ack_cm_event(ev);
		return rc;
	}
	return -1;
}

static void
disconnect(void)
{
	rdma_disconnect(id);
	rdma_destroy_qp(id);
	rdma_destroy_id(id);
	rdma_destroy_event_channel(ch);
}

/* One READ or WRITE of 8 bytes at offset 0 with key; its status. */
static enum ibv_wc_status
post(int write, uint32_t key)
{
	struct ibv_sge sge = { (uintptr_t)buf, 8, mr->lkey };
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	time_t end = time(NULL) + 20;

	memset(&wr, 0, sizeof wr);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = m.rva;
	wr.wr.rdma.rkey = key;
	if (ibv_post_send(id->qp, &wr, &bad) != 0)
		die("ibv_post_send");
	while (ibv_poll_cq(cq, 1, &wc) == 0)
		if (time(NULL) > end) {
			printf("dpguess: no completion in 20 s\n");
			exit(2);
		}
	return wc.status;
}

static int
cmd_ticket(const char *how)
{
	uint8_t t[SEGP_TICKETLEN];
	uint64_t g = m.grant;
	char why[256] = "";

	memcpy(t, m.ticket, sizeof t);
	if (strcmp(how, "forge") == 0)
		t[5] ^= 0x40;
	else if (strcmp(how, "grant") == 0)
		g += 1000;
	else if (strcmp(how, "ok") != 0)
		exit(2);
	if (connect_with(g, t, why, sizeof why) == 0) {
		printf("accepted\n");
		disconnect();
	} else
		printf("refused: %s\n", why);
	return 0;
}

int
main(int argc, char *argv[])
{
	char why[256];
	int i, bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		exit(2);
	import(argv[1]);
	if (strcmp(argv[2], "keys") == 0) {
		printf("drkey %u rkey %u\n", m.drkey, m.rkey);
		return 0;
	}
	if (strcmp(argv[2], "ticket") == 0 && argc == 4)
		return cmd_ticket(argv[3]);
	if (strcmp(argv[2], "late") == 0 && argc == 4) {
		sleep((unsigned)atoi(argv[3]));
		return cmd_ticket("ok");
	}
	if (strcmp(argv[2], "wait") == 0 && argc == 4) {
		struct stat sb;
		printf("ready\n");
		for (i = 0; i < 600 && stat(argv[3], &sb) < 0; i++)
			usleep(100000);
		return cmd_ticket("ok");
	}
	if (strcmp(argv[2], "guess") == 0) {
		for (i = 3; i < argc; i++) {
			uint32_t key = (uint32_t)strtoul(argv[i], NULL, 0);
			enum ibv_wc_status st;

			if (connect_with(m.grant, m.ticket, why, sizeof why) < 0) {
				printf("dpguess: refused: %s\n", why);
				return 2;
			}
			st = post(0, key);
			printf("%u %s\n", key, ibv_wc_status_str(st));
			bad += st == IBV_WC_SUCCESS;
			disconnect();
		}
		return bad ? 1 : 0;
	}
	if (connect_with(m.grant, m.ticket, why, sizeof why) < 0) {
		printf("dpguess: refused: %s\n", why);
		return 2;
	}
	if (strcmp(argv[2], "read") == 0) {
		enum ibv_wc_status st = post(0, m.drkey);
		printf("read %s\n", st == IBV_WC_SUCCESS ? "ok" :
		    ibv_wc_status_str(st));
		return st == IBV_WC_SUCCESS ? 0 : 1;
	}
	if (strcmp(argv[2], "write") == 0) {
		enum ibv_wc_status st = post(1, m.drkey);
		printf("write %s: %s\n", st == IBV_WC_SUCCESS ? "done" :
		    "refused", ibv_wc_status_str(st));
		return st == IBV_WC_SUCCESS ? 1 : 0;
	}
	exit(2);
}
