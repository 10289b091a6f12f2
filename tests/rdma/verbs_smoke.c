/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * verbs_smoke: prove that RDMA verbs work end to end on a device.
 *
 * A server and a client connect through rdma_cm (RC QP).  The server
 * registers a buffer and hands its address and rkey to the client in the
 * private data of the connection accept.  The client RDMA WRITEs a pattern
 * into that buffer, RDMA READs it back into a second buffer and compares the
 * two byte for byte.  Then it SENDs the pattern seed and its verdict to the
 * server, which checks its own buffer against the pattern and SENDs its
 * verdict back.  Exit status 0 only when both sides saw an exact match.
 *
 *   verbs_smoke [-m both|server|client] [-a ADDR] [-p PORT] [-s BYTES]
 *               [-t SECONDS] [-v]
 *
 * both (default) forks: the child is the server, the parent the client, on
 * the same address.  server / client run one side each (e.g. on two nodes);
 * the client retries connecting until the server listens or time runs out.
 * ADDR defaults to $SOFTROCE_ADDR.  Every wait is bounded by -t (default 30 s).
 * Exit status: 0 match, 1 mismatch, 2 error or timeout.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

enum { OK = 0, MISMATCH = 1, FAILED = 2, RETRY = 3 };

/* Work request ids, also bit numbers in struct res.done. */
enum { WR_RECV = 0, WR_SEND = 1, WR_WRITE = 2, WR_READ = 3 };
static const char *const wr_names[] = { "RECV", "SEND", "RDMA WRITE",
					"RDMA READ" };

#define MSG_MAGIC 0x5345474bu /* "SEGK" */
#define RESOLVE_MS 2000

/* What the server tells the client in the accept's private data. */
struct buf_desc {
	uint64_t addr; /* big endian */
	uint32_t rkey; /* big endian */
	uint32_t len; /* big endian */
};

/* The SEND messages: client -> server (seed, its verdict), and back. */
struct msg {
	uint32_t magic; /* big endian */
	uint32_t seed; /* big endian */
	uint32_t ok; /* big endian, 1 = exact match */
	uint32_t pad;
};

struct opts {
	const char *mode;
	const char *addr;
	const char *port;
	size_t size;
	int timeout_s;
	bool verbose;
};

/* Verbs resources of one connected side, built by res_setup, freed by
 * res_teardown in reverse order. */
struct res {
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	uint8_t *data;
	struct ibv_mr *data_mr;
	uint8_t *check; /* client only: where the RDMA READ lands */
	struct ibv_mr *check_mr;
	struct msg *msgs; /* [0] receive, [1] send */
	struct ibv_mr *msg_mr;
	unsigned int cq_events;
	unsigned int done; /* bit per work request id */
	size_t size;
};

static char role[32] = "verbs_smoke";
static bool verbose;

static void perr(const char *call)
{
	fprintf(stderr, "%s: %s: %s\n", role, call, strerror(errno));
}

static void perr_code(const char *call, int err)
{
	fprintf(stderr, "%s: %s: %s\n", role, call, strerror(err));
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	printf("%s: ", role);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int set_nonblock(int fd, const char *what)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		perr(what);
		return -1;
	}
	return 0;
}

static uint8_t pattern_byte(uint32_t seed, size_t i)
{
	uint32_t x = seed ^ (uint32_t)(i * 2654435761u);

	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	x *= 3266489917u;
	x ^= x >> 16;
	return (uint8_t)x;
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, i);
}

/* Compare buf with the pattern; report the first difference. */
static bool check_pattern(const uint8_t *buf, size_t len, uint32_t seed,
			  const char *what)
{
	size_t bad = 0, first = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pattern_byte(seed, i)) {
			if (bad++ == 0)
				first = i;
		}
	}
	if (bad) {
		fprintf(stderr,
			"%s: %s: %zu of %zu bytes differ, first at offset %zu "
			"(0x%02x, expected 0x%02x)\n",
			role, what, bad, len, first, buf[first],
			pattern_byte(seed, first));
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ rdma_cm */

/* Next event of the channel, waiting at most until deadline. */
static int get_cm_event(struct rdma_event_channel *ec, int64_t deadline,
			struct rdma_cm_event **ev)
{
	for (;;) {
		struct pollfd p = { .fd = ec->fd, .events = POLLIN };
		int ms, n;

		if (rdma_get_cm_event(ec, ev) == 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			perr("rdma_get_cm_event");
			return -1;
		}
		ms = remaining_ms(deadline);
		if (ms == 0) {
			fprintf(stderr, "%s: timed out waiting for an rdma_cm event\n",
				role);
			return -1;
		}
		n = poll(&p, 1, ms);
		if (n < 0 && errno != EINTR) {
			perr("poll (rdma_cm event channel)");
			return -1;
		}
	}
}

/*
 * Wait for an event of type want.  On success the caller owns *ev and must
 * rdma_ack_cm_event it.  Returns OK, RETRY (the peer is not there yet:
 * rejected, unreachable, address or route error) or FAILED.
 */
static int expect_cm_event(struct rdma_event_channel *ec, int64_t deadline,
			   enum rdma_cm_event_type want,
			   struct rdma_cm_event **ev)
{
	enum rdma_cm_event_type got;
	int status;

	if (get_cm_event(ec, deadline, ev))
		return FAILED;
	got = (*ev)->event;
	status = (*ev)->status;
	if (got == want)
		return OK;
	rdma_ack_cm_event(*ev);
	*ev = NULL;
	switch (got) {
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		note("%s (status %d), waiting for %s", rdma_event_str(got),
		     status, rdma_event_str(want));
		return RETRY;
	default:
		fprintf(stderr, "%s: expected rdma_cm event %s, got %s (status %d)\n",
			role, rdma_event_str(want), rdma_event_str(got), status);
		return FAILED;
	}
}

/* ------------------------------------------------------------ verbs */

static struct ibv_mr *alloc_reg(struct ibv_pd *pd, void **buf, size_t len,
				int access, const char *what)
{
	struct ibv_mr *mr;
	int err;

	err = posix_memalign(buf, 4096, len);
	if (err) {
		perr_code(what, err);
		return NULL;
	}
	memset(*buf, 0, len);
	mr = ibv_reg_mr(pd, *buf, len, access);
	if (!mr) {
		perr("ibv_reg_mr");
		free(*buf);
		*buf = NULL;
	}
	return mr;
}

static void dereg_free(struct ibv_mr *mr, void *buf, const char *what)
{
	int err = ibv_dereg_mr(mr);

	if (err)
		perr_code(what, err);
	free(buf);
}

static int res_setup(struct res *r, struct rdma_cm_id *id, size_t size,
		     bool client)
{
	struct ibv_qp_init_attr qpa;
	int acc_remote = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_REMOTE_READ;
	int err;

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->size = size;

	r->pd = ibv_alloc_pd(id->verbs);
	if (!r->pd) {
		perr("ibv_alloc_pd");
		return -1;
	}
	r->cc = ibv_create_comp_channel(id->verbs);
	if (!r->cc) {
		perr("ibv_create_comp_channel");
		goto err_pd;
	}
	if (set_nonblock(r->cc->fd, "fcntl (completion channel)"))
		goto err_cc;
	r->cq = ibv_create_cq(id->verbs, 16, NULL, r->cc, 0);
	if (!r->cq) {
		perr("ibv_create_cq");
		goto err_cc;
	}
	err = ibv_req_notify_cq(r->cq, 0);
	if (err) {
		perr_code("ibv_req_notify_cq", err);
		goto err_cq;
	}
	memset(&qpa, 0, sizeof(qpa));
	qpa.send_cq = r->cq;
	qpa.recv_cq = r->cq;
	qpa.qp_type = IBV_QPT_RC;
	qpa.cap.max_send_wr = 4;
	qpa.cap.max_recv_wr = 4;
	qpa.cap.max_send_sge = 1;
	qpa.cap.max_recv_sge = 1;
	if (rdma_create_qp(id, r->pd, &qpa)) {
		perr("rdma_create_qp");
		goto err_cq;
	}
	r->data_mr = alloc_reg(r->pd, (void **)&r->data, size, acc_remote,
			       "posix_memalign (data buffer)");
	if (!r->data_mr)
		goto err_qp;
	if (client) {
		r->check_mr = alloc_reg(r->pd, (void **)&r->check, size,
					IBV_ACCESS_LOCAL_WRITE,
					"posix_memalign (read-back buffer)");
		if (!r->check_mr)
			goto err_data;
	}
	r->msg_mr = alloc_reg(r->pd, (void **)&r->msgs, 2 * sizeof(struct msg),
			      IBV_ACCESS_LOCAL_WRITE,
			      "posix_memalign (message buffer)");
	if (!r->msg_mr)
		goto err_check;
	return 0;

err_check:
	if (r->check_mr)
		dereg_free(r->check_mr, r->check, "ibv_dereg_mr (read-back)");
err_data:
	dereg_free(r->data_mr, r->data, "ibv_dereg_mr (data)");
err_qp:
	rdma_destroy_qp(id);
err_cq:
	err = ibv_destroy_cq(r->cq);
	if (err)
		perr_code("ibv_destroy_cq", err);
err_cc:
	if (ibv_destroy_comp_channel(r->cc))
		perr("ibv_destroy_comp_channel");
err_pd:
	err = ibv_dealloc_pd(r->pd);
	if (err)
		perr_code("ibv_dealloc_pd", err);
	return -1;
}

static void res_teardown(struct res *r)
{
	int err;

	dereg_free(r->msg_mr, r->msgs, "ibv_dereg_mr (messages)");
	if (r->check_mr)
		dereg_free(r->check_mr, r->check, "ibv_dereg_mr (read-back)");
	dereg_free(r->data_mr, r->data, "ibv_dereg_mr (data)");
	rdma_destroy_qp(r->id);
	if (r->cq_events)
		ibv_ack_cq_events(r->cq, r->cq_events);
	err = ibv_destroy_cq(r->cq);
	if (err)
		perr_code("ibv_destroy_cq", err);
	if (ibv_destroy_comp_channel(r->cc))
		perr("ibv_destroy_comp_channel");
	err = ibv_dealloc_pd(r->pd);
	if (err)
		perr_code("ibv_dealloc_pd", err);
}

static int post_recv_msg(struct res *r)
{
	struct ibv_sge sge = { .addr = (uintptr_t)&r->msgs[0],
			       .length = sizeof(struct msg),
			       .lkey = r->msg_mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = WR_RECV, .sg_list = &sge,
				  .num_sge = 1 };
	struct ibv_recv_wr *bad;
	int err = ibv_post_recv(r->id->qp, &wr, &bad);

	if (err)
		perr_code("ibv_post_recv", err);
	return err ? -1 : 0;
}

static int post_send_msg(struct res *r, uint32_t seed, bool ok)
{
	struct msg *m = &r->msgs[1];
	struct ibv_sge sge = { .addr = (uintptr_t)m,
			       .length = sizeof(*m),
			       .lkey = r->msg_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = WR_SEND, .sg_list = &sge,
				  .num_sge = 1, .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED };
	struct ibv_send_wr *bad;
	int err;

	m->magic = htobe32(MSG_MAGIC);
	m->seed = htobe32(seed);
	m->ok = htobe32(ok ? 1 : 0);
	m->pad = 0;
	err = ibv_post_send(r->id->qp, &wr, &bad);
	if (err)
		perr_code("ibv_post_send (SEND)", err);
	return err ? -1 : 0;
}

static int post_rdma(struct res *r, int wr_id, uint64_t raddr, uint32_t rkey)
{
	bool write = wr_id == WR_WRITE;
	struct ibv_sge sge = {
		.addr = (uintptr_t)(write ? r->data : r->check),
		.length = (uint32_t)r->size,
		.lkey = write ? r->data_mr->lkey : r->check_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = (uint64_t)wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = write ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED,
	};
	struct ibv_send_wr *bad;
	int err;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	err = ibv_post_send(r->id->qp, &wr, &bad);
	if (err)
		perr_code(write ? "ibv_post_send (RDMA WRITE)" :
				  "ibv_post_send (RDMA READ)",
			  err);
	return err ? -1 : 0;
}

/* Wait for the completion of work request wr_id, at most until deadline. */
static int wait_wr(struct res *r, int wr_id, int64_t deadline)
{
	while (!(r->done & (1u << wr_id))) {
		struct ibv_wc wc;
		struct pollfd p = { .fd = r->cc->fd, .events = POLLIN };
		struct ibv_cq *ev_cq;
		void *ev_ctx;
		int n, ms, err;

		n = ibv_poll_cq(r->cq, 1, &wc);
		if (n < 0) {
			fprintf(stderr, "%s: ibv_poll_cq failed (%d)\n", role, n);
			return -1;
		}
		if (n == 1) {
			const char *name = wc.wr_id <= WR_READ ? wr_names[wc.wr_id] : "?";

			if (wc.wr_id > WR_READ) {
				fprintf(stderr, "%s: completion of unknown work request %" PRIu64 "\n",
					role, (uint64_t)wc.wr_id);
				return -1;
			}
			if (wc.status != IBV_WC_SUCCESS) {
				fprintf(stderr, "%s: %s completion: %s (vendor error 0x%x)\n",
					role, name, ibv_wc_status_str(wc.status),
					wc.vendor_err);
				return -1;
			}
			r->done |= 1u << wc.wr_id;
			continue;
		}
		ms = remaining_ms(deadline);
		if (ms == 0) {
			fprintf(stderr, "%s: timed out waiting for the %s completion\n",
				role, wr_names[wr_id]);
			return -1;
		}
		n = poll(&p, 1, ms);
		if (n < 0 && errno != EINTR) {
			perr("poll (completion channel)");
			return -1;
		}
		if (n <= 0)
			continue;
		if (ibv_get_cq_event(r->cc, &ev_cq, &ev_ctx)) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			perr("ibv_get_cq_event");
			return -1;
		}
		r->cq_events++;
		err = ibv_req_notify_cq(r->cq, 0);
		if (err) {
			perr_code("ibv_req_notify_cq", err);
			return -1;
		}
	}
	return 0;
}

/* Receive the peer's message (wr RECV must have completed). */
static int read_msg(struct res *r, uint32_t *seed, bool *ok)
{
	const struct msg *m = &r->msgs[0];

	if (be32toh(m->magic) != MSG_MAGIC) {
		fprintf(stderr, "%s: bad message from the peer (magic 0x%08" PRIx32 ")\n",
			role, be32toh(m->magic));
		return -1;
	}
	*seed = be32toh(m->seed);
	*ok = be32toh(m->ok) == 1;
	return 0;
}

static struct addrinfo *lookup(const struct opts *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	int err = getaddrinfo(o->addr, o->port, &hints, &ai);

	if (err) {
		fprintf(stderr, "%s: getaddrinfo %s port %s: %s\n", role, o->addr,
			o->port, gai_strerror(err));
		return NULL;
	}
	return ai;
}

/* ------------------------------------------------------------ both sides */

/* What one side holds; side_close undoes it in reverse order. */
struct side {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *lid; /* the server's listener */
	struct rdma_cm_id *id; /* the connection */
	struct res r;
	bool res_up; /* r is set up */
	bool connected; /* established, and not yet disconnected */
};

/* A non-blocking event channel, and an rdma_cm id on it into *id. */
static int side_open(struct side *s, struct rdma_cm_id **id)
{
	memset(s, 0, sizeof(*s));
	s->ec = rdma_create_event_channel();
	if (!s->ec) {
		perr("rdma_create_event_channel");
		return -1;
	}
	if (set_nonblock(s->ec->fd, "fcntl (event channel)"))
		return -1;
	if (rdma_create_id(s->ec, id, NULL, RDMA_PS_TCP)) {
		perr("rdma_create_id");
		*id = NULL;
		return -1;
	}
	return 0;
}

static void side_close(struct side *s)
{
	if (s->connected && rdma_disconnect(s->id))
		perr("rdma_disconnect");
	if (s->res_up)
		res_teardown(&s->r);
	if (s->id && rdma_destroy_id(s->id))
		perr("rdma_destroy_id");
	if (s->lid && rdma_destroy_id(s->lid))
		perr("rdma_destroy_id (listener)");
	if (s->ec)
		rdma_destroy_event_channel(s->ec);
}

/* The next event is want, and is acknowledged: OK, else RETRY or FAILED. */
static int cm_step(struct side *s, int64_t deadline,
		   enum rdma_cm_event_type want)
{
	struct rdma_cm_event *ev;
	int e = expect_cm_event(s->ec, deadline, want, &ev);

	if (e == OK)
		rdma_ack_cm_event(ev);
	return e;
}

/* One RDMA READ in flight each way; retries as given. */
static void conn_params(struct rdma_conn_param *cp, const void *priv,
			uint8_t len, uint8_t retry)
{
	memset(cp, 0, sizeof(*cp));
	cp->private_data = priv;
	cp->private_data_len = len;
	cp->responder_resources = 1;
	cp->initiator_depth = 1;
	cp->retry_count = retry;
	cp->rnr_retry_count = 7;
}

/* ------------------------------------------------------------ server */

/* Listening on o's address, and ready_fd told so. */
static int server_listen(struct side *s, const struct opts *o,
			 const struct addrinfo *ai, int *ready_fd)
{
	if (side_open(s, &s->lid))
		return -1;
	if (rdma_bind_addr(s->lid, ai->ai_addr)) {
		perr("rdma_bind_addr");
		return -1;
	}
	if (rdma_listen(s->lid, 1)) {
		perr("rdma_listen");
		return -1;
	}
	note("listening on %s port %s", o->addr, o->port);
	if (*ready_fd >= 0) {
		if (write(*ready_fd, "R", 1) != 1)
			perr("write (ready pipe)");
		close(*ready_fd);
		*ready_fd = -1;
	}
	return 0;
}

/* The one connection request, accepted with our buffer's description. */
static int server_accept(struct side *s, const struct opts *o,
			 int64_t deadline)
{
	struct rdma_cm_event *ev;
	struct rdma_conn_param cp;
	struct buf_desc bd;

	if (expect_cm_event(s->ec, deadline, RDMA_CM_EVENT_CONNECT_REQUEST,
			    &ev))
		return -1;
	s->id = ev->id;
	rdma_ack_cm_event(ev);
	note("connection request on %s",
	     ibv_get_device_name(s->id->verbs->device));

	if (res_setup(&s->r, s->id, o->size, false)) {
		if (rdma_reject(s->id, NULL, 0))
			perr("rdma_reject");
		return -1;
	}
	s->res_up = true;
	if (post_recv_msg(&s->r))
		return -1;
	bd.addr = htobe64((uintptr_t)s->r.data);
	bd.rkey = htobe32(s->r.data_mr->rkey);
	bd.len = htobe32((uint32_t)o->size);
	conn_params(&cp, &bd, sizeof(bd), 0);
	if (rdma_accept(s->id, &cp)) {
		perr("rdma_accept");
		return -1;
	}
	if (cm_step(s, deadline, RDMA_CM_EVENT_ESTABLISHED))
		return -1;
	s->connected = true;
	note("connected, buffer of %zu bytes offered", o->size);
	return 0;
}

static int run_server(const struct opts *o, int ready_fd)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_s * 1000;
	struct addrinfo *ai;
	struct side s;
	uint32_t seed = 0;
	bool client_ok = false, mine_ok = false;
	int rc = FAILED;

	snprintf(role, sizeof(role), "verbs_smoke[server]");
	memset(&s, 0, sizeof(s));
	ai = lookup(o);
	if (!ai)
		goto out;
	if (server_listen(&s, o, ai, &ready_fd) ||
	    server_accept(&s, o, deadline))
		goto out;

	/* The client writes, reads back, then tells us the seed. */
	if (wait_wr(&s.r, WR_RECV, deadline) ||
	    read_msg(&s.r, &seed, &client_ok))
		goto out;
	mine_ok = check_pattern(s.r.data, o->size, seed,
				"buffer written by the client");
	if (post_send_msg(&s.r, seed, mine_ok) ||
	    wait_wr(&s.r, WR_SEND, deadline))
		goto out;
	/* The client disconnects once it has our verdict. */
	if (cm_step(&s, deadline, RDMA_CM_EVENT_DISCONNECTED))
		goto out;
	s.connected = false;
	note("client's verdict: %s, mine: %s", client_ok ? "match" : "MISMATCH",
	     mine_ok ? "match" : "MISMATCH");
	rc = client_ok && mine_ok ? OK : MISMATCH;
out:
	side_close(&s);
	if (ai)
		freeaddrinfo(ai);
	if (ready_fd >= 0)
		close(ready_fd);
	return rc;
}

/* ------------------------------------------------------------ client */

/* Connected to the server: its buffer's address, key and length. */
static int client_connect(struct side *s, const struct opts *o,
			  const struct addrinfo *ai, int64_t deadline,
			  struct buf_desc *bd)
{
	struct rdma_cm_event *ev;
	struct rdma_conn_param cp;
	int e;

	if (side_open(s, &s->id))
		return FAILED;
	if (rdma_resolve_addr(s->id, NULL, ai->ai_addr, RESOLVE_MS)) {
		perr("rdma_resolve_addr");
		return FAILED;
	}
	if ((e = cm_step(s, deadline, RDMA_CM_EVENT_ADDR_RESOLVED)))
		return e;
	if (rdma_resolve_route(s->id, RESOLVE_MS)) {
		perr("rdma_resolve_route");
		return FAILED;
	}
	if ((e = cm_step(s, deadline, RDMA_CM_EVENT_ROUTE_RESOLVED)))
		return e;

	if (res_setup(&s->r, s->id, o->size, true))
		return FAILED;
	s->res_up = true;
	if (post_recv_msg(&s->r))
		return FAILED;
	conn_params(&cp, NULL, 0, 7);
	if (rdma_connect(s->id, &cp)) {
		perr("rdma_connect");
		return FAILED;
	}
	e = expect_cm_event(s->ec, deadline, RDMA_CM_EVENT_ESTABLISHED, &ev);
	if (e)
		return e;
	s->connected = true;
	if (ev->param.conn.private_data_len < sizeof(*bd) ||
	    !ev->param.conn.private_data) {
		fprintf(stderr, "%s: accept carried %u bytes of private data, need %zu\n",
			role, ev->param.conn.private_data_len, sizeof(*bd));
		rdma_ack_cm_event(ev);
		return FAILED;
	}
	memcpy(bd, ev->param.conn.private_data, sizeof(*bd));
	rdma_ack_cm_event(ev);
	return OK;
}

/* One connection attempt.  Returns OK, MISMATCH, FAILED or RETRY. */
static int client_attempt(const struct opts *o, const struct addrinfo *ai,
			  int64_t deadline, uint32_t seed)
{
	struct side s;
	struct buf_desc bd;
	uint64_t raddr;
	uint32_t rkey, rlen, echoed;
	bool mine_ok, server_ok = false;
	int rc;

	rc = client_connect(&s, o, ai, deadline, &bd);
	if (rc != OK)
		goto out;
	rc = FAILED;
	raddr = be64toh(bd.addr);
	rkey = be32toh(bd.rkey);
	rlen = be32toh(bd.len);
	note("connected on %s; server buffer 0x%" PRIx64 " rkey 0x%" PRIx32
	     " %" PRIu32 " bytes",
	     ibv_get_device_name(s.id->verbs->device), raddr, rkey, rlen);
	if (rlen < o->size) {
		fprintf(stderr, "%s: server buffer is %" PRIu32 " bytes, need %zu\n",
			role, rlen, o->size);
		goto out;
	}

	fill_pattern(s.r.data, o->size, seed);
	for (size_t i = 0; i < o->size; i++)
		s.r.check[i] = (uint8_t)~s.r.data[i];
	if (post_rdma(&s.r, WR_WRITE, raddr, rkey) ||
	    wait_wr(&s.r, WR_WRITE, deadline))
		goto out;
	if (post_rdma(&s.r, WR_READ, raddr, rkey) ||
	    wait_wr(&s.r, WR_READ, deadline))
		goto out;
	mine_ok = check_pattern(s.r.check, o->size, seed, "data read back");
	note("wrote %zu bytes, read them back: %s", o->size,
	     mine_ok ? "identical" : "DIFFERENT");

	if (post_send_msg(&s.r, seed, mine_ok) ||
	    wait_wr(&s.r, WR_SEND, deadline) ||
	    wait_wr(&s.r, WR_RECV, deadline) ||
	    read_msg(&s.r, &echoed, &server_ok))
		goto out;
	if (echoed != seed) {
		fprintf(stderr, "%s: server answered for seed %" PRIu32 ", not %" PRIu32 "\n",
			role, echoed, seed);
		server_ok = false;
	}
	if (!server_ok)
		fprintf(stderr, "%s: the server found its buffer different from the pattern\n",
			role);
	s.connected = false;
	if (rdma_disconnect(s.id)) {
		perr("rdma_disconnect");
		goto out;
	}
	if (cm_step(&s, deadline, RDMA_CM_EVENT_DISCONNECTED))
		goto out;
	rc = mine_ok && server_ok ? OK : MISMATCH;
out:
	side_close(&s);
	return rc;
}

static int run_client(const struct opts *o)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_s * 1000;
	uint32_t seed = (uint32_t)getpid() ^ (uint32_t)now_ms();
	struct addrinfo *ai;
	int rc, tries = 0;

	snprintf(role, sizeof(role), "verbs_smoke[client]");
	ai = lookup(o);
	if (!ai)
		return FAILED;
	for (;;) {
		tries++;
		rc = client_attempt(o, ai, deadline, seed);
		if (rc != RETRY)
			break;
		if (remaining_ms(deadline) < 300) {
			fprintf(stderr, "%s: no server at %s port %s after %d attempts\n",
				role, o->addr, o->port, tries);
			rc = FAILED;
			break;
		}
		sleep_ms(200);
	}
	freeaddrinfo(ai);
	return rc;
}

/* ------------------------------------------------------------ both */

static int run_both(const struct opts *o)
{
	int64_t deadline = now_ms() + (int64_t)o->timeout_s * 1000 + 2000;
	struct pollfd p;
	int pfd[2], status, crc, src = FAILED;
	pid_t pid, w;
	char c;
	ssize_t n;

	if (pipe(pfd)) {
		perr("pipe");
		return FAILED;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perr("fork");
		close(pfd[0]);
		close(pfd[1]);
		return FAILED;
	}
	if (pid == 0) {
		close(pfd[0]);
		_exit(run_server(o, pfd[1]));
	}
	close(pfd[1]);

	/* Wait for the server to listen (or to die). */
	p.fd = pfd[0];
	p.events = POLLIN;
	do {
		n = poll(&p, 1, remaining_ms(deadline));
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		n = read(pfd[0], &c, 1);
	close(pfd[0]);
	if (n == 1) {
		crc = run_client(o);
	} else {
		fprintf(stderr, "verbs_smoke: the server did not start listening\n");
		crc = FAILED;
	}

	/* Reap the server, bounded. */
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			if (WIFEXITED(status))
				src = WEXITSTATUS(status);
			else
				fprintf(stderr, "verbs_smoke: server killed by signal %d\n",
					WTERMSIG(status));
			break;
		}
		if (w < 0 && errno != EINTR) {
			perr("waitpid");
			break;
		}
		if (remaining_ms(deadline) == 0) {
			fprintf(stderr, "verbs_smoke: server did not finish, killing it\n");
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		sleep_ms(10);
	}
	if (crc == OK && src == OK)
		return OK;
	return crc == FAILED || src == FAILED ? FAILED : MISMATCH;
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: verbs_smoke [-m both|server|client] [-a ADDR] [-p PORT] "
		"[-s BYTES] [-t SECONDS] [-v]\n");
	exit(FAILED);
}

int main(int argc, char **argv)
{
	struct opts o = { .mode = "both", .addr = getenv("SOFTROCE_ADDR"),
			  .port = "7471", .size = 65536, .timeout_s = 30 };
	unsigned long long v;
	char *end;
	int c, rc;

	while ((c = getopt(argc, argv, "m:a:p:s:t:vh")) != -1) {
		switch (c) {
		case 'm':
			o.mode = optarg;
			break;
		case 'a':
			o.addr = optarg;
			break;
		case 'p':
			o.port = optarg;
			break;
		case 's':
		case 't':
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg || v == 0 ||
			    (c == 's' && v > (1ull << 30)) ||
			    (c == 't' && v > 86400)) {
				fprintf(stderr, "verbs_smoke: bad -%c value '%s'\n", c, optarg);
				usage();
			}
			if (c == 's')
				o.size = (size_t)v;
			else
				o.timeout_s = (int)v;
			break;
		case 'v':
			o.verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!o.addr || !*o.addr) {
		fprintf(stderr, "verbs_smoke: no address (-a, or SOFTROCE_ADDR)\n");
		usage();
	}
	verbose = o.verbose;
	signal(SIGPIPE, SIG_IGN);

	if (!strcmp(o.mode, "both"))
		rc = run_both(&o);
	else if (!strcmp(o.mode, "server"))
		rc = run_server(&o, -1);
	else if (!strcmp(o.mode, "client"))
		rc = run_client(&o);
	else
		usage();

	if (rc == OK)
		printf("verbs_smoke: %s: OK, %zu bytes RDMA-written and read back identical\n",
		       o.mode, o.size);
	else
		fprintf(stderr, "verbs_smoke: %s: %s\n", o.mode,
			rc == MISMATCH ? "DATA MISMATCH" : "FAILED");
	return rc;
}
