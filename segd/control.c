/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * control.c: the socket's requests, one handler per operation.  client.c
 * hands each decoded request here; the handlers check, call the module
 * that owns the operation (namespace, export, import, zero-copy pools) and
 * answer.  The segments a client attached are kept here, one reference
 * each, and released when it goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segd.h"

/* One attachment by a client: holds one reference to the segment. */
struct attachment {
	struct segment          *seg;
	int                      wr;	/* writable: counted in seg->nwriters */
	LIST_ENTRY(attachment)   entry;
};
LIST_HEAD(attachments, attachment);

typedef void (*op_handler)(struct client *, uint16_t op,
    const struct segw_req *);

static struct segment *
lookup(struct client *c, const char *name, struct segerr *e)
{
	return ns_find(&client_segd(c)->ns, name, e);
}

static struct segment *
lookup_allocated(struct client *c, const char *name, struct segerr *e)
{
	return ns_lookup_allocated(&client_segd(c)->ns, name, e);
}

static int
open_data(struct client *c, struct segment *s, int want, struct segerr *e)
{
	int flags = want == (SEGW_RD | SEGW_WR) ? O_RDWR :
	    want == SEGW_WR ? O_WRONLY : O_RDONLY;
	int fd = store_open_data(&client_segd(c)->store, s->name, flags);

	if (fd < 0)
		seterr(e, errno, "open segment '%s': %s", s->name,
		    strerror(errno));
	return fd;
}

/* Answer with the segment's info, or the error. */
static void
answer(struct client *c, uint16_t op, const struct segment *s,
    const struct segerr *e, int fd)
{
	struct segw_info i;

	if (s == NULL) {
		client_reply_err(c, op, e);
		return;
	}
	seg_to_info(s, &i);
	client_reply(c, op, &i, NULL, 0, fd);
}

static void
op_create(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segerr e;
	struct segment *s = ns_create(&client_segd(c)->ns, r->name, r->arg,
	    client_cred(c), &e);

	answer(c, op, s, &e, -1);
}

static void
op_ctl(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct ns *ns = &client_segd(c)->ns;
	struct segerr e;
	struct ctlmsg m;
	struct segment *s;

	if ((s = lookup(c, r->name, &e)) == NULL ||
	    perm_check(client_cred(c), s, SEGW_WR, &e) < 0 ||
	    ctl_parse(r->text, r->textlen, ns->pagesize, &m, &e) < 0 ||
	    ns_setaddr(ns, s, &m, &e) < 0)
		s = NULL;
	answer(c, op, s, &e, -1);
}

static void
op_ctlread(struct client *c, uint16_t op, const struct segw_req *r)
{
	char text[SEGW_MAXTEXT];
	struct segw_info i;
	struct segerr e;
	struct segment *s;
	int n;

	if ((s = lookup_allocated(c, r->name, &e)) == NULL ||
	    perm_check(client_cred(c), s, SEGW_RD, &e) < 0) {
		client_reply_err(c, op, &e);
		return;
	}
	n = ctl_format(text, sizeof text, s->verb, s->va, s->len);
	seg_to_info(s, &i);
	client_reply(c, op, &i, text, (size_t)n, -1);
}

static void
op_open(struct client *c, uint16_t op, const struct segw_req *r)
{
	int want = (int)(r->arg & (SEGW_RD | SEGW_WR)), fd = -1;
	struct segerr e;
	struct segment *s = NULL;

	if (want == 0 || r->arg & ~(uint32_t)(SEGW_RD | SEGW_WR))
		seterr(&e, EINVAL, "bad open mode");
	else if ((s = lookup_allocated(c, r->name, &e)) != NULL &&
	    (perm_check(client_cred(c), s, want, &e) < 0 ||
	    (fd = open_data(c, s, want, &e)) < 0))
		s = NULL;
	answer(c, op, s, &e, fd);
}

static void
op_remove(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segerr e;
	struct segment *s;

	if ((s = lookup(c, r->name, &e)) == NULL ||
	    ns_remove(&client_segd(c)->ns, s, client_cred(c), &e) < 0)
		client_reply_err(c, op, &e);
	else
		client_reply(c, op, NULL, NULL, 0, -1);
}

static struct attachments *
attachments(struct client *c)
{
	void **slot = client_slot(c, CLIENT_ATTACH);

	if (*slot == NULL && (*slot = calloc(1, sizeof(struct attachments))) !=
	    NULL)
		LIST_INIT((struct attachments *)*slot);
	return *slot;
}

static void
op_attach(struct client *c, uint16_t op, const struct segw_req *r)
{
	int want = r->arg & SEGW_ATTR_RONLY ? SEGW_RD : SEGW_RD | SEGW_WR, fd;
	struct attachments *atts = attachments(c);
	struct attachment *a = NULL;
	struct segerr e;
	struct segment *s;

	if ((s = lookup_allocated(c, r->name, &e)) == NULL ||
	    perm_check(client_cred(c), s, want, &e) < 0)
		goto fail;
	if (atts == NULL || (a = malloc(sizeof *a)) == NULL) {
		seterr(&e, ENOMEM, "out of memory");
		goto fail;
	}
	if ((fd = open_data(c, s, want, &e)) < 0)
		goto fail;
	a->seg = s;
	a->wr = (want & SEGW_WR) != 0;
	seg_hold(s);		/* the attachment's reference */
	s->nattach++;
	if (a->wr) {		/* its writes bypass segd: data's time is now */
		s->nwriters++;
		seg_touch(s);
	}
	LIST_INSERT_HEAD(atts, a, entry);
	answer(c, op, s, NULL, fd);
	return;
fail:
	free(a);
	client_reply_err(c, op, &e);
}

static void
detach(struct client *c, struct attachment *a)
{
	LIST_REMOVE(a, entry);
	a->seg->nattach--;
	if (a->wr) {		/* it may have written until now */
		a->seg->nwriters--;
		seg_touch(a->seg);
	}
	seg_put(&client_segd(c)->ns, a->seg);	/* the attachment's reference */
	free(a);
}

static void
op_detach(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct attachments *atts = *client_slot(c, CLIENT_ATTACH);
	struct attachment *a = NULL;
	struct segerr e;

	if (atts != NULL)
		LIST_FOREACH(a, atts, entry)
			if (a->seg->va == r->a)
				break;
	if (a == NULL) {
		seterr(&e, EINVAL, "no segment attached at 0x%llx",
		    (unsigned long long)r->a);
		client_reply_err(c, op, &e);
		return;
	}
	detach(c, a);
	client_reply(c, op, NULL, NULL, 0, -1);
}

static void
op_list(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segment *s;
	struct segw_info i;

	(void)op;
	(void)r;
	TAILQ_FOREACH(s, &client_segd(c)->ns.all, entry) {
		if (!s->named)
			continue;
		seg_to_info(s, &i);
		client_reply(c, SEGW_LISTENT, &i, NULL, 0, -1);
	}
	client_reply(c, SEGW_LISTEND, NULL, NULL, 0, -1);
}

static void
op_stat(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segerr e;

	answer(c, op, lookup(c, r->name, &e), &e, -1);
}

/* export and unexport: the owner or root (export.c decides) */
static void
op_export(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segd *sd = client_segd(c);
	struct segerr e;
	struct segment *s;

	if ((s = lookup(c, r->name, &e)) == NULL ||
	    (op == SEGW_EXPORT ? export_seg(sd, s, r->text, r->arg,
	    client_cred(c), &e) :
	    unexport_seg(sd, s, client_cred(c), &e)) < 0)
		client_reply_err(c, op, &e);
	else
		client_reply(c, op, NULL, NULL, 0, -1);
}

/* rebind: the export's owner or root (export.c decides) */
static void
op_rebind(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segerr e;
	struct segment *s;

	if ((s = lookup(c, r->name, &e)) == NULL ||
	    rebind_seg(client_segd(c), s, r->a, r->b, client_cred(c), &e) < 0)
		client_reply_err(c, op, &e);
	else
		client_reply(c, op, NULL, NULL, 0, -1);
}

static void
peer_line(struct peer *p, void *arg)
{
	char line[SEGW_MAXTEXT];
	struct peer_stat st;
	int n;

	peer_stat(p, &st);
	n = snprintf(line, sizeof line, "%s %s %s %s %s credits %d queued %zu "
	    "version %u\n", st.node, st.where, st.outbound ? "out" : "in",
	    st.state, st.label, st.credits, st.queued, st.version);
	client_reply(arg, SEGW_LISTENT, NULL, line,
	    (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1), -1);
}

static void
op_peers(struct client *c, uint16_t op, const struct segw_req *r)
{
	(void)op;
	(void)r;
	peer_foreach(client_segd(c), 0, peer_line, c);
	client_reply(c, SEGW_LISTEND, NULL, NULL, 0, -1);
}

/* Every counter segd keeps, in one place. */
static void
op_stats(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segd *sd = client_segd(c);
	char text[SEGW_MAXTEXT];
	unsigned nexp, nimp, ngrants, nconns, nimports, ndirect;
	int n;

	(void)r;
	export_counts(&nexp, &nimp);
	grant_counts(&ngrants, &nconns);
	nimports = rseg_count(&ndirect);
	n = snprintf(text, sizeof text, "bounce_bytes %llu\nzerocopy_bytes %llu\n"
	    "exports %u\nexported_imports %u\nimports %u\nimports_direct %u\n"
	    "direct_grants %u\ndirect_connections %u\n",
	    (unsigned long long)sd->bounce_bytes,
	    (unsigned long long)sd->zerocopy_bytes, nexp, nimp, nimports,
	    ndirect, ngrants, nconns);
	client_reply(c, op, NULL, text, (size_t)n, -1);
}

/* ---- metrics: the Prometheus text exposition format, a line a LISTENT ---- */

static void __attribute__((format(printf, 2, 3)))
mline(struct client *c, const char *fmt, ...)
{
	char line[SEGW_MAXTEXT + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof line) {	/* cannot happen: names are short */
		log_warnx("%s: metric line cut: %.40s", __func__, line);
		return;
	}
	client_reply(c, SEGW_LISTENT, NULL, line, (size_t)n, -1);
}

static void
family(struct client *c, const char *name, const char *type, const char *help)
{
	mline(c, "# HELP %s %s\n", name, help);
	mline(c, "# TYPE %s %s\n", name, type);
}

/* A label value: node names are checked, but escape as the format says. */
static const char *
lv(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < size; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n')
			buf[n++] = '\\';
		buf[n++] = *s == '\n' ? 'n' : *s;
	}
	buf[n] = '\0';
	return buf;
}

struct mctx {
	struct client *c;
	int            what;
};

enum {
	M_SENT, M_RECV, M_CONNECTS, M_RECONNECTS, M_CONNERR, M_OPS, M_OPERR,
	M_BYTES, M_FREED, M_LATENCY, M_MAX
};

static const struct {
	const char *name, *type, *help;
} fams[M_MAX] = {
	[M_SENT] = { "segd_peer_messages_sent_total", "counter",
	    "Messages sent to the peer, by type." },
	[M_RECV] = { "segd_peer_messages_received_total", "counter",
	    "Messages received from the peer, by type." },
	[M_CONNECTS] = { "segd_peer_connections_total", "counter",
	    "Connections with the peer that became ready." },
	[M_RECONNECTS] = { "segd_peer_reconnects_total", "counter",
	    "Connections with the peer after the first." },
	[M_CONNERR] = { "segd_peer_connection_errors_total", "counter",
	    "Connections with the peer that ended in an error." },
	[M_OPS] = { "segd_peer_ops_total", "counter",
	    "Remote operations segd carried out on the peer, by kind." },
	[M_OPERR] = { "segd_peer_op_errors_total", "counter",
	    "Remote operations on the peer that failed, by kind." },
	[M_BYTES] = { "segd_peer_op_bytes_total", "counter",
	    "Bytes moved by segd-posted get and put." },
	[M_FREED] = { "segd_peer_freed_buffers_total", "counter",
	    "Buffers returned to the peer by remote frees." },
	[M_LATENCY] = { "segd_peer_op_latency_seconds", "summary",
	    "Latency of successful remote operations: p50 and p99 are the upper "
	    "bounds of power-of-two microsecond buckets." },
};

static void
peer_metrics(const struct pstat *s, void *arg)
{
	struct mctx *m = arg;
	const char *name = fams[m->what].name;
	char node[2 * SEGP_NODEMAX + 1];
	int i;

	lv(s->node, node, sizeof node);
	switch (m->what) {
	case M_SENT:
	case M_RECV:
		for (i = 1; i < SEGP_TYPEMAX; i++) {
			uint64_t v = m->what == M_SENT ? s->sent[i] : s->recv[i];
			if (v != 0)
				mline(m->c, "%s{peer=\"%s\",type=\"%s\"} %llu\n",
				    name, node, segp_type_name((uint16_t)i),
				    (unsigned long long)v);
		}
		break;
	case M_CONNECTS:
	case M_RECONNECTS:
	case M_CONNERR:
		mline(m->c, "%s{peer=\"%s\"} %llu\n", name, node,
		    (unsigned long long)(m->what == M_CONNECTS ? s->connects :
		    m->what == M_CONNERR ? s->conn_errors :
		    s->connects > 0 ? s->connects - 1 : 0));
		break;
	case M_OPS:
	case M_OPERR:
		for (i = 0; i < PSO_MAX; i++)
			mline(m->c, "%s{peer=\"%s\",op=\"%s\"} %llu\n", name, node,
			    pstat_op_name(i), (unsigned long long)(m->what ==
			    M_OPS ? s->ops[i] : s->op_errors[i]));
		break;
	case M_BYTES:
		mline(m->c, "%s{peer=\"%s\",op=\"get\"} %llu\n", name, node,
		    (unsigned long long)s->amount[PSO_GET]);
		mline(m->c, "%s{peer=\"%s\",op=\"put\"} %llu\n", name, node,
		    (unsigned long long)s->amount[PSO_PUT]);
		break;
	case M_FREED:
		mline(m->c, "%s{peer=\"%s\"} %llu\n", name, node,
		    (unsigned long long)s->amount[PSO_FREE]);
		break;
	default:		/* M_LATENCY: a summary per kind that has any */
		for (i = 0; i < PSO_MAX; i++) {
			const char *op = pstat_op_name(i);
			if (pstat_count(s, i) == 0)
				continue;
			mline(m->c, "%s{peer=\"%s\",op=\"%s\",quantile=\"0.5\"} "
			    "%.6f\n", name, node, op, pstat_quantile(s, i, 0.5));
			mline(m->c, "%s{peer=\"%s\",op=\"%s\",quantile=\"0.99\"} "
			    "%.6f\n", name, node, op, pstat_quantile(s, i, 0.99));
			mline(m->c, "%s_sum{peer=\"%s\",op=\"%s\"} %.9f\n", name,
			    node, op, (double)s->lat_sum_ns[i] / 1e9);
			mline(m->c, "%s_count{peer=\"%s\",op=\"%s\"} %llu\n", name,
			    node, op, (unsigned long long)pstat_count(s, i));
		}
	}
}

/* Every counter: the node's, then each peer's, family by family. */
static void
op_metrics(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segd *sd = client_segd(c);
	struct mctx m = { c, 0 };
	unsigned nexp, nimp, ndirect;

	(void)op;
	(void)r;
	export_counts(&nexp, &nimp);
	family(c, "segd_bounce_bytes_total", "counter",
	    "Bytes of get and put copied through clients' bounce regions.");
	mline(c, "segd_bounce_bytes_total %llu\n",
	    (unsigned long long)sd->bounce_bytes);
	family(c, "segd_zerocopy_bytes_total", "counter",
	    "Bytes of get and put moved straight to or from segments.");
	mline(c, "segd_zerocopy_bytes_total %llu\n",
	    (unsigned long long)sd->zerocopy_bytes);
	family(c, "segd_exports", "gauge", "Segments this node exports.");
	mline(c, "segd_exports %u\n", nexp);
	family(c, "segd_exported_imports", "gauge",
	    "Imports other nodes hold of this node's exports.");
	mline(c, "segd_exported_imports %u\n", nimp);
	family(c, "segd_imports", "gauge", "Imports this node holds.");
	mline(c, "segd_imports %u\n", rseg_count(&ndirect));
	family(c, "segd_imports_direct", "gauge",
	    "Imports whose exporter offers the direct data path.");
	mline(c, "segd_imports_direct %u\n", ndirect);
	for (m.what = 0; m.what < M_MAX; m.what++) {
		family(c, fams[m.what].name, fams[m.what].type, fams[m.what].help);
		pstat_foreach(peer_metrics, &m);
	}
	client_reply(c, SEGW_LISTEND, NULL, NULL, 0, -1);
}

static void
op_import(struct client *c, uint16_t op, const struct segw_req *r)
{
	import_request(client_segd(c), c, op, r);
}

static void
op_zio(struct client *c, uint16_t op, const struct segw_req *r)
{
	zio_request(client_segd(c), c, op, r);
}

static void
op_zring(struct client *c, uint16_t op, const struct segw_req *r)
{
	zring_request(client_segd(c), c, op, r);
}

static void
op_zread(struct client *c, uint16_t op, const struct segw_req *r)
{
	(void)op;
	zread_request(client_segd(c), c, r);
}

static const op_handler handlers[SEGW_OPMAX] = {
	[SEGW_CREATE] = op_create,	[SEGW_CTL] = op_ctl,
	[SEGW_CTLREAD] = op_ctlread,	[SEGW_OPEN] = op_open,
	[SEGW_REMOVE] = op_remove,	[SEGW_ATTACH] = op_attach,
	[SEGW_DETACH] = op_detach,	[SEGW_LIST] = op_list,
	[SEGW_STAT] = op_stat,		[SEGW_EXPORT] = op_export,
	[SEGW_UNEXPORT] = op_export,	[SEGW_IMPORT] = op_import,
	[SEGW_UNIMPORT] = op_import,	[SEGW_PEERLS] = op_import,
	[SEGW_RSIGNAL] = op_import,	[SEGW_BOUNCE] = op_import,
	[SEGW_TICKET] = op_import,	[SEGW_REBIND] = op_rebind,
	[SEGW_IMPINFO] = op_import,
	[SEGW_PEERS] = op_peers,	[SEGW_STATS] = op_stats,
	[SEGW_ZALLOC] = op_zio,		[SEGW_ZPOOL] = op_zio,
	[SEGW_FREEREAD] = op_zio,	[SEGW_FREEFD] = op_zio,
	[SEGW_SIGFD] = op_zio,		[SEGW_METRICS] = op_metrics,
	[SEGW_ZRING] = op_zring,	[SEGW_ZREAD] = op_zread,
};

static void
on_request(struct client *c, uint16_t op, const struct segw_req *r)
{
	struct segerr e;

	if (op >= SEGW_OPMAX || handlers[op] == NULL) {
		seterr(&e, EINVAL, "operation %u is not a request", op);
		client_reply_err(c, op, &e);
		return;
	}
	handlers[op](c, op, r);
}

static void
on_io(struct client *c, const struct segw_io *io)
{
	import_io(client_segd(c), c, io);
}

static void
on_addrs(struct client *c, uint16_t op, const struct segw_addrs *a)
{
	if (op == SEGW_ZFREE)
		zio_zfree(client_segd(c), c, a);
	else
		import_rfree(client_segd(c), c, a);
}

static void
on_atomic(struct client *c, const struct segw_atomic *at)
{
	import_atomic(client_segd(c), c, at);
}

static void
on_gone(struct client *c)
{
	struct segd *sd = client_segd(c);
	void **slot = client_slot(c, CLIENT_ATTACH);
	struct attachments *atts = *slot;

	while (atts != NULL && !LIST_EMPTY(atts))
		detach(c, LIST_FIRST(atts));
	free(atts);
	*slot = NULL;
	import_client_gone(sd, c);
	zio_client_gone(sd, c);
	zring_client_gone(c);
	zread_client_gone(c);
}

static const struct client_ops ops = { on_request, on_io, on_addrs,
    on_atomic, on_gone };

int
control_init(struct segd *sd)
{
	return client_init(sd, &ops);
}

void
control_shutdown(struct segd *sd)
{
	client_shutdown(sd);
}
