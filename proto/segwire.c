/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segwire.c: encoding and decoding of the peer protocol's messages (segd <->
 * segd, and the connect's private data): the one place they are converted,
 * with every length and field checked.  The local frames are in
 * segframe.c, the shared parsers in segparse.c.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segwire.h"

/* ---- the peer protocol ---- */

_Static_assert(sizeof(struct segp_hdr_wire) == SEGP_HDRLEN, "segp header");
_Static_assert(sizeof(struct segp_hello_wire) == 80, "segp_hello layout");
_Static_assert(sizeof(struct segp_name_wire) == 72, "segp_name layout");
_Static_assert(sizeof(struct segp_ent_wire) == 80, "segp_ent layout");
_Static_assert(sizeof(struct segp_alive_wire) == 16, "segp_alive layout");
_Static_assert(sizeof(struct segp_ent3_wire) == 88, "segp_ent3 layout");
_Static_assert(sizeof(struct segp_import_rep_wire) == 40, "import_rep layout");
_Static_assert(sizeof(struct segp_ticket_wire) == 32, "ticket layout");
_Static_assert(sizeof(struct segp_eflags_wire) == 8, "eflags layout");
_Static_assert(sizeof(struct segp_connect_wire) <= SEGP_CONNECT_MAX,
    "connect private data fits");
_Static_assert(sizeof(struct segp_connect_auth_wire) == 40 &&
    sizeof(struct segp_connect_auth_wire) <= SEGP_CONNECT_MAX,
    "keyed connect private data fits");
_Static_assert(sizeof(struct segp_accept_wire) == 24, "accept layout");
_Static_assert(sizeof(struct segp_auth_wire) == SEGP_PROOFLEN, "auth layout");
_Static_assert(SEGP_CONNECT_MACIN == 16 + 24 + 16 + 2, "connect MAC input");
_Static_assert(SEGP_PROOF_MACIN == 16 + 1 + 2 * SEGP_NONCELEN +
    2 * (1 + SEGP_NODEMAX) + 2 * 16, "proof MAC input");
_Static_assert(sizeof(struct segp_free_wire) + SEGP_FREE_MAX * 8 <=
    SEGP_PAYLOADMAX, "FREE fits");
_Static_assert(sizeof(struct segp_list_rep_wire) +
    SEGP_LIST_MAX * sizeof(struct segp_ent_wire) <= SEGP_PAYLOADMAX &&
    sizeof(struct segp_list_rep_wire) +
    SEGP_LIST3_MAX * sizeof(struct segp_ent3_wire) <= SEGP_PAYLOADMAX,
    "LIST_REP fits");
_Static_assert(sizeof(struct segp_error_wire) + SEGW_MAXTEXT <=
    SEGP_PAYLOADMAX, "ERROR fits");
_Static_assert(SEGW_ADDRS_MAX == SEGP_FREE_MAX, "a local free request is "
    "one FREE message");
_Static_assert(SEGP_VERSION_MIN >= 1 && SEGP_VERSION_MIN <= SEGP_VERSION_MAX,
    "peer versions");

void
segp_hdr_encode(uint8_t out[SEGP_HDRLEN], const struct segp_hdr *h)
{
	struct segp_hdr_wire w;

	w.type = htole16(h->type);
	w.flags = htole16(h->flags);
	w.len = htole32(h->len);
	w.credits = htole32(h->credits);
	w.tag = htole32(h->tag);
	memcpy(out, &w, sizeof w);
}

/* The exact payload size of a fixed-size type; -1 for variable ones. */
static long
segp_payload_size(uint16_t type)
{
	switch (type) {
	case SEGP_HELLO:
		return sizeof(struct segp_hello_wire);
	case SEGP_CREDIT:
	case SEGP_ACK:
		return 0;
	case SEGP_LIST:
		return sizeof(struct segp_list_wire);
	case SEGP_IMPORT:
		return sizeof(struct segp_name_wire);
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
	case SEGP_TICKET:
		return sizeof(struct segp_id_wire);
	case SEGP_ALIVE:
		return sizeof(struct segp_alive_wire);
	case SEGP_AUTH:
		return sizeof(struct segp_auth_wire);
	default:
		return -1;	/* LIST_REP, ERROR, FREE: by their counts;
				 * IMPORT_REP, REBIND: with or without a
				 * ticket, flags */
	}
}

int
segp_hdr_decode(const uint8_t *buf, size_t got, struct segp_hdr *h,
    const char **why)
{
	struct segp_hdr_wire w;
	long want;

	if (got < SEGP_HDRLEN || got > SEGP_MSGSIZE) {
		*why = "message size out of range";
		return -1;
	}
	memcpy(&w, buf, sizeof w);
	h->type = le16toh(w.type);
	h->flags = le16toh(w.flags);
	h->len = le32toh(w.len);
	h->credits = le32toh(w.credits);
	h->tag = le32toh(w.tag);
	if (h->type == 0 || h->type >= SEGP_TYPEMAX) {
		*why = "unknown message type";
		return -1;
	}
	if ((size_t)h->len != got - SEGP_HDRLEN) {
		*why = "length field does not match the bytes received";
		return -1;
	}
	if (h->credits > SEGP_CREDITS) {
		*why = "more credits returned than buffers exist";
		return -1;
	}
	want = segp_payload_size(h->type);
	if (want >= 0 && (size_t)want != h->len) {
		*why = "payload of the wrong size for its type";
		return -1;
	}
	return 0;
}

/* The first 24 bytes of a keyed connect: what its tag covers of it. */
static void
connect_auth_wire(struct segp_connect_auth_wire *w,
    const struct segp_connect *c)
{
	memset(w, 0, sizeof *w);
	w->magic = htole32(SEGP_CONNECT_AUTH);
	w->vmin = htole16(c->vmin);
	w->vmax = htole16(c->vmax);
	memcpy(w->nonce, c->nonce, sizeof w->nonce);
}

size_t
segp_connect_encode(uint8_t *out, size_t size, const struct segp_connect *c)
{
	struct segp_connect_wire w;
	struct segp_connect_auth_wire a;

	if (c->vmin == 0 || c->vmax < c->vmin)
		return 0;
	if (c->magic == SEGP_CONNECT_AUTH) {
		if (size < sizeof a)
			return 0;
		connect_auth_wire(&a, c);
		memcpy(a.tag, c->tag, sizeof a.tag);
		memcpy(out, &a, sizeof a);
		return sizeof a;
	}
	if (size < sizeof w ||
	    (c->magic != SEGP_CONNECT_CTRL && c->magic != SEGP_CONNECT_DATA))
		return 0;
	memset(&w, 0, sizeof w);
	w.magic = htole32(c->magic);
	w.vmin = htole16(c->vmin);
	w.vmax = htole16(c->vmax);
	if (c->magic == SEGP_CONNECT_DATA) {
		w.grant = htole64(c->grant);
		memcpy(w.ticket, c->ticket, sizeof w.ticket);
	}
	memcpy(out, &w, sizeof w);
	return sizeof w;
}

int
segp_connect_decode(const uint8_t *p, size_t got, struct segp_connect *c,
    const char **why)
{
	struct segp_connect_wire w;
	struct segp_connect_auth_wire a;
	uint32_t magic;

	if (p == NULL || got < sizeof magic) {
		*why = "no segd private data in the connect request";
		return -1;
	}
	memcpy(&magic, p, sizeof magic);
	memset(c, 0, sizeof *c);
	c->magic = le32toh(magic);
	if (c->magic == SEGP_CONNECT_AUTH) {
		if (got < sizeof a) {
			*why = "keyed connect request too short";
			return -1;
		}
		memcpy(&a, p, sizeof a);
		c->vmin = le16toh(a.vmin);
		c->vmax = le16toh(a.vmax);
		memcpy(c->nonce, a.nonce, sizeof c->nonce);
		memcpy(c->tag, a.tag, sizeof c->tag);
	} else if (c->magic == SEGP_CONNECT_CTRL ||
	    c->magic == SEGP_CONNECT_DATA) {
		if (got < sizeof w) {
			*why = "no segd private data in the connect request";
			return -1;
		}
		memcpy(&w, p, sizeof w);
		c->vmin = le16toh(w.vmin);
		c->vmax = le16toh(w.vmax);
		c->grant = le64toh(w.grant);
		memcpy(c->ticket, w.ticket, sizeof c->ticket);
	} else {
		*why = "no segd private data in the connect request";
		return -1;
	}
	if (c->vmin == 0 || c->vmax < c->vmin) {
		*why = "bad versions in the connect request";
		return -1;
	}
	return 0;
}

size_t
segp_accept_encode(uint8_t *out, size_t size,
    const uint8_t nonce[SEGP_NONCELEN])
{
	struct segp_accept_wire w;

	if (size < sizeof w)
		return 0;
	memset(&w, 0, sizeof w);
	w.magic = htole32(SEGP_CONNECT_AUTH);
	memcpy(w.nonce, nonce, sizeof w.nonce);
	memcpy(out, &w, sizeof w);
	return sizeof w;
}

int
segp_accept_decode(const uint8_t *p, size_t got,
    uint8_t nonce[SEGP_NONCELEN], const char **why)
{
	struct segp_accept_wire w;

	if (p == NULL || got < sizeof w) {
		*why = "no nonce in the accept (the peer has no cluster key?)";
		return -1;
	}
	memcpy(&w, p, sizeof w);
	if (le32toh(w.magic) != SEGP_CONNECT_AUTH || w.pad != 0) {
		*why = "no nonce in the accept (the peer has no cluster key?)";
		return -1;
	}
	memcpy(nonce, w.nonce, SEGP_NONCELEN);
	return 0;
}

static const char connect_label[16] = "segd-connect-v1";
static const char proof_label[16] = "segd-proof-v1";

void
segp_connect_macin(uint8_t out[SEGP_CONNECT_MACIN],
    const struct segp_connect *c, const uint8_t addr[16], uint16_t port)
{
	struct segp_connect_auth_wire w;
	uint16_t p = htole16(port);

	connect_auth_wire(&w, c);
	memcpy(out, connect_label, 16);
	memcpy(out + 16, &w, 24);	/* magic, versions, nonce */
	memcpy(out + 40, addr, 16);
	memcpy(out + 56, &p, 2);
}

/* A node name as its length byte and SEGP_NODEMAX bytes, zero-padded. */
static uint8_t *
macin_node(uint8_t *out, const char *node)
{
	size_t nl = strnlen(node, SEGP_NODEMAX + 1);

	out[0] = (uint8_t)nl;
	memset(out + 1, 0, SEGP_NODEMAX);
	memcpy(out + 1, node, nl);
	return out + 1 + SEGP_NODEMAX;
}

int
segp_proof_macin(uint8_t out[SEGP_PROOF_MACIN], const struct segp_proof_in *in)
{
	uint8_t *o = out;

	if (!seg_node_valid(in->prover) || !seg_node_valid(in->verifier) ||
	    (in->role != SEGP_ROLE_CONNECT && in->role != SEGP_ROLE_ACCEPT))
		return -1;
	memcpy(o, proof_label, 16);
	o[16] = in->role;
	memcpy(o + 17, in->cnonce, SEGP_NONCELEN);
	memcpy(o + 17 + SEGP_NONCELEN, in->snonce, SEGP_NONCELEN);
	o = macin_node(o + 17 + 2 * SEGP_NONCELEN, in->prover);
	o = macin_node(o, in->verifier);
	memcpy(o, in->paddr, 16);
	memcpy(o + 16, in->vaddr, 16);
	return 0;
}

uint32_t
segp_version_pick(uint32_t amin, uint32_t amax, uint32_t bmin, uint32_t bmax)
{
	uint32_t hi = amax < bmax ? amax : bmax;
	uint32_t lo = amin > bmin ? amin : bmin;

	return hi >= lo ? hi : 0;
}

/* A name field of the wire (nl bytes of src) into dst, checked by valid. */
static int
wire_name(char *dst, size_t dsize, const uint8_t *src, unsigned nl,
    int (*valid)(const char *))
{
	if (nl == 0 || nl >= dsize || memchr(src, '\0', nl) != NULL)
		return -1;
	memcpy(dst, src, nl);
	dst[nl] = '\0';
	return valid(dst) ? 0 : -1;
}

static int
perm_valid(unsigned perm)
{
	return perm == SEGW_RD || perm == (SEGW_RD | SEGW_WR);
}

static int
hello_valid(const struct segp_hello *h)
{
	return h->vmin >= 1 && h->vmax >= h->vmin && seg_node_valid(h->node);
	return h->vmin >= 1 && h->vmax >= h->vmin && h->port != 0 &&
	    seg_node_valid(h->node);
}

static size_t
hello_encode(uint8_t *out, const struct segp_hello *h)
{
	struct segp_hello_wire w;
	size_t nl = strlen(h->node);

	memset(&w, 0, sizeof w);
	w.vmin = htole32(h->vmin);
	/* a version-1 peer reads vmin alone and wants the field after zero */
	w.vmax = htole32(h->vmax > 1 ? h->vmax : 0);
	w.caps = htole32(h->caps);
	w.port = htole16(h->port);
	w.nodelen = htole16((uint16_t)nl);
	memcpy(w.node, h->node, nl);
	memcpy(out, &w, sizeof w);
	return sizeof w;
}

static int
hello_decode(const uint8_t *p, struct segp_hello *h, const char **why)
{
	struct segp_hello_wire w;

	memcpy(&w, p, sizeof w);
	h->vmin = le32toh(w.vmin);
	h->vmax = le32toh(w.vmax);
	if (h->vmax == 0 && h->vmin == 1)	/* a version-1 peer */
		h->vmax = 1;
	h->caps = le32toh(w.caps);
	h->port = le16toh(w.port);
	if (wire_name(h->node, sizeof h->node, w.node, le16toh(w.nodelen),
	    seg_node_valid) < 0) {
		*why = "bad node name in hello";
		return -1;
	}
	if (!hello_valid(h)) {
		*why = "bad versions in hello";
		*why = "bad versions or port in hello";
		return -1;
	}
	return 0;
}

/* without its address (withva 0), va must be 0 */
static int
ent_valid(const struct segp_ent *e, int withva)
{
	return seg_name_valid(e->name) && perm_valid(e->perm) &&
	    e->verb > SEG_VERB_NONE && e->verb < SEG_VERB_MAX &&
	    (e->eflags & ~SEGW_EXP_ALL) == 0 &&
	    (withva ? e->va != 0 && e->va <= UINT64_MAX - e->len : e->va == 0);
}

static size_t
ent_size(int withva)
{
	return withva ? sizeof(struct segp_ent3_wire) :
	    sizeof(struct segp_ent_wire);
}

static uint32_t
list_max(int withva)
{
	return withva ? SEGP_LIST3_MAX : SEGP_LIST_MAX;
}

static size_t
list_rep_encode(uint8_t *out, const struct segp_list_rep *r)
{
	struct segp_list_rep_wire w = { htole32(r->next), htole32(r->n) };
	size_t es = ent_size(r->withva);
	uint32_t i;

	memcpy(out, &w, sizeof w);
	for (i = 0; i < r->n; i++) {
		const struct segp_ent *e = &r->ent[i];
		struct segp_ent3_wire ew;
		size_t nl = strlen(e->name);

		memset(&ew, 0, sizeof ew);
		ew.e.namelen = htole16((uint16_t)nl);
		ew.e.perm = e->perm;
		ew.e.verb = e->verb;
		ew.e.eflags = htole32(e->eflags);
		ew.e.len = htole64(e->len);
		memcpy(ew.e.name, e->name, nl);
		ew.va = htole64(e->va);
		memcpy(out + sizeof w + i * es, &ew, es);
	}
	return sizeof w + r->n * es;
}

static int
list_rep_decode(const uint8_t *p, size_t len, struct segp_list_rep *r,
    const char **why)
{
	struct segp_list_rep_wire w;
	uint32_t i;

	if (segw_head(&w, sizeof w, p, len, why,
	    "list reply shorter than its header") < 0)
		return -1;
	r->next = le32toh(w.next);
	r->n = le32toh(w.n);
	r->withva = r->n > 0 && r->n <= SEGP_LIST3_MAX &&
	    len == sizeof w + r->n * ent_size(1);
	if (r->n > list_max(r->withva) ||
	    len != sizeof w + r->n * ent_size(r->withva)) {
		*why = "list reply length does not match its count";
		return -1;
	}
	for (i = 0; i < r->n; i++) {
		struct segp_ent3_wire ew;
		struct segp_ent *e = &r->ent[i];
		size_t es = ent_size(r->withva);

		memset(&ew, 0, sizeof ew);
		memcpy(&ew, p + sizeof w + i * es, es);
		e->perm = ew.e.perm;
		e->verb = ew.e.verb;
		e->eflags = le32toh(ew.e.eflags);
		e->len = le64toh(ew.e.len);
		e->va = le64toh(ew.va);
		if (wire_name(e->name, sizeof e->name, ew.e.name,
		    le16toh(ew.e.namelen), seg_name_valid) < 0 ||
		    !ent_valid(e, r->withva)) {
			*why = "bad entry in list reply";
			return -1;
		}
	}
	return 0;
}

static int
import_rep_valid(const struct segp_import_rep *r)
{
	return r->len != 0 && r->va <= UINT64_MAX - r->len &&
	    perm_valid(r->perm) && (r->eflags & ~SEGW_EXP_ALL) == 0 &&
	    (r->witheflags || r->eflags == 0);
}

/* IMPORT_REP's bytes: the reply, [the ticket], [the export's flags] */
static size_t
import_rep_size(const struct segp_import_rep *r)
{
	return sizeof(struct segp_import_rep_wire) +
	    (r->direct ? sizeof(struct segp_ticket_wire) : 0) +
	    (r->witheflags ? sizeof(struct segp_eflags_wire) : 0);
}

static size_t
import_rep_encode(uint8_t *out, const struct segp_import_rep *r)
{
	struct segp_import_rep_wire w;
	struct segp_ticket_wire t;
	struct segp_eflags_wire f = { htole32(r->eflags), 0 };
	size_t at = sizeof w;

	w.id = htole64(r->id);
	w.va = htole64(r->va);
	w.len = htole64(r->len);
	w.gen = htole64(r->gen);
	w.rkey = htole32(r->rkey);
	w.perm = htole32(r->perm);
	memcpy(out, &w, sizeof w);
	if (r->direct) {
		memset(&t, 0, sizeof t);
		t.grant = htole64(r->grant);
		memcpy(t.ticket, r->ticket, sizeof t.ticket);
		t.drkey = htole32(r->drkey);
		memcpy(out + at, &t, sizeof t);
		at += sizeof t;
	}
	if (r->witheflags) {
		memcpy(out + at, &f, sizeof f);
		at += sizeof f;
	}
	return at;
}

static int
import_rep_decode(const uint8_t *p, size_t len, struct segp_import_rep *r,
    const char **why)
{
	struct segp_import_rep_wire w;
	struct segp_ticket_wire t;
	struct segp_eflags_wire f;

	/* the four sizes differ: 40, 48 (flags), 72 (ticket), 80 (both) */
	if (len != sizeof w && len != sizeof w + sizeof t &&
	    len != sizeof w + sizeof f && len != sizeof w + sizeof t + sizeof f) {
		*why = "import reply of the wrong size";
		return -1;
	}
	memcpy(&w, p, sizeof w);
	memset(r, 0, sizeof *r);
	if ((len - sizeof w) % sizeof t != 0) {
		memcpy(&f, p + len - sizeof f, sizeof f);
		if (f.pad != 0) {
			*why = "bad export flags in import reply";
			return -1;
		}
		r->witheflags = 1;
		r->eflags = le32toh(f.eflags);
		len -= sizeof f;
	}
	r->id = le64toh(w.id);
	r->va = le64toh(w.va);
	r->len = le64toh(w.len);
	r->gen = le64toh(w.gen);
	r->rkey = le32toh(w.rkey);
	r->perm = le32toh(w.perm);
	if (len > sizeof w) {
		memcpy(&t, p + sizeof w, sizeof t);
		if (t.pad != 0) {
			*why = "bad ticket in import reply";
			return -1;
		}
		r->direct = 1;
		r->grant = le64toh(t.grant);
		memcpy(r->ticket, t.ticket, sizeof r->ticket);
		r->drkey = le32toh(t.drkey);
	}
	if (!import_rep_valid(r)) {
		*why = "bad length, address, grant or flags in import reply";
		return -1;
	}
	return 0;
}

static size_t
error_encode(uint8_t *out, const struct segp_error *e)
{
	size_t tl = strnlen(e->text, SEGW_MAXTEXT);
	struct segp_error_wire w = { htole32(e->code), htole32((uint32_t)tl) };

	memcpy(out, &w, sizeof w);
	memcpy(out + sizeof w, e->text, tl);
	return sizeof w + tl;
}

static int
error_decode(const uint8_t *p, size_t len, struct segp_error *e,
    const char **why)
{
	struct segp_error_wire w;
	uint32_t tl;

	if (segw_head(&w, sizeof w, p, len, why,
	    "error shorter than its header") < 0)
		return -1;
	e->code = le32toh(w.code);
	tl = le32toh(w.textlen);
	if (tl > SEGW_MAXTEXT || tl != len - sizeof w ||
	    memchr(p + sizeof w, '\0', tl) != NULL) {
		*why = "error text length does not match";
		return -1;
	}
	if (e->code == 0 || e->code > 4095) {
		*why = "error code out of range";
		return -1;
	}
	memcpy(e->text, p + sizeof w, tl);
	e->text[tl] = '\0';
	return 0;
}

static size_t
free_encode(uint8_t *out, const struct segp_free *f)
{
	struct segp_free_wire w = { htole64(f->id), htole32(f->n),
	    htole32(f->seq) };

	memcpy(out, &w, sizeof w);
	return sizeof w + segw_le64s_put(out + sizeof w, f->addrs, f->n);
}

static int
free_decode(const uint8_t *p, size_t len, struct segp_free *f,
    const char **why)
{
	struct segp_free_wire w;

	if (segw_head(&w, sizeof w, p, len, why,
	    "free shorter than its header") < 0)
		return -1;
	f->id = le64toh(w.id);
	f->n = le32toh(w.n);
	f->seq = le32toh(w.seq);
	if (f->n == 0 || f->n > SEGP_FREE_MAX || len != sizeof w + f->n * 8) {
		*why = "free length does not match its count";
		return -1;
	}
	segw_le64s_get(f->addrs, p + sizeof w, f->n);
	return 0;
}

/* The bytes type needs for m, 0 when m is not what a receiver accepts. */
static size_t
segp_msg_size(uint16_t type, const union segp_msg *m)
{
	uint32_t i;

	switch (type) {
	case SEGP_LIST_REP:
		if (m->list_rep.n > list_max(m->list_rep.withva))
			return 0;
		for (i = 0; i < m->list_rep.n; i++)
			if (!ent_valid(&m->list_rep.ent[i], m->list_rep.withva))
				return 0;
		return sizeof(struct segp_list_rep_wire) +
		    m->list_rep.n * ent_size(m->list_rep.withva);
	case SEGP_ERROR:
		if (m->error.code == 0 || m->error.code > 4095)
			return 0;
		return sizeof(struct segp_error_wire) +
		    strnlen(m->error.text, SEGW_MAXTEXT);
	case SEGP_FREE:
		if (m->free.n == 0 || m->free.n > SEGP_FREE_MAX)
			return 0;
		return sizeof(struct segp_free_wire) + m->free.n * 8;
	case SEGP_HELLO:
		return hello_valid(&m->hello) ? sizeof(struct segp_hello_wire) : 0;
	case SEGP_IMPORT:
		return seg_name_valid(m->name) ? sizeof(struct segp_name_wire) : 0;
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		return import_rep_valid(&m->import_rep) ?
		    import_rep_size(&m->import_rep) : 0;
	default:
		return type > 0 && type < SEGP_TYPEMAX ?
		    (size_t)segp_payload_size(type) : 0;
	}
}

size_t
segp_msg_encode(uint8_t *out, size_t size, uint16_t type,
    const union segp_msg *m)
{
	size_t need = segp_msg_size(type, m);

	if ((need == 0 && type != SEGP_CREDIT && type != SEGP_ACK) ||
	    need > size)
		return 0;
	switch (type) {
	case SEGP_HELLO:
		return hello_encode(out, &m->hello);
	case SEGP_LIST: {
		struct segp_list_wire w = { htole32(m->cursor), 0 };
		memcpy(out, &w, sizeof w);
		return sizeof w;
	}
	case SEGP_LIST_REP:
		return list_rep_encode(out, &m->list_rep);
	case SEGP_IMPORT: {
		struct segp_name_wire w;
		size_t nl = strlen(m->name);
		memset(&w, 0, sizeof w);
		w.namelen = htole16((uint16_t)nl);
		memcpy(w.name, m->name, nl);
		memcpy(out, &w, sizeof w);
		return sizeof w;
	}
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		return import_rep_encode(out, &m->import_rep);
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
	case SEGP_TICKET: {
		struct segp_id_wire w = { htole64(m->id) };
		memcpy(out, &w, sizeof w);
		return sizeof w;
	}
	case SEGP_ALIVE: {
		struct segp_alive_wire w = { htole64(m->alive.id),
		    htole64(m->alive.holder) };
		memcpy(out, &w, sizeof w);
		return sizeof w;
	}
	case SEGP_AUTH:
		memcpy(out, m->proof, SEGP_PROOFLEN);
		return SEGP_PROOFLEN;
	case SEGP_ERROR:
		return error_encode(out, &m->error);
	case SEGP_FREE:
		return free_encode(out, &m->free);
	default:		/* CREDIT, ACK */
		return 0;
	}
}

int
segp_msg_decode(uint16_t type, const uint8_t *p, size_t len,
    union segp_msg *m, const char **why)
{
	long want = type > 0 && type < SEGP_TYPEMAX ? segp_payload_size(type) :
	    -2;

	if (want == -2 || (want >= 0 && (size_t)want != len) ||
	    len > SEGP_PAYLOADMAX) {
		*why = want == -2 ? "unknown message type" :
		    "payload of the wrong size for its type";
		return -1;
	}
	switch (type) {
	case SEGP_HELLO:
		return hello_decode(p, &m->hello, why);
	case SEGP_LIST: {
		struct segp_list_wire w;
		memcpy(&w, p, sizeof w);
		m->cursor = le32toh(w.cursor);
		return 0;
	}
	case SEGP_LIST_REP:
		return list_rep_decode(p, len, &m->list_rep, why);
	case SEGP_IMPORT: {
		struct segp_name_wire w;
		memcpy(&w, p, sizeof w);
		if (wire_name(m->name, sizeof m->name, w.name,
		    le16toh(w.namelen), seg_name_valid) < 0) {
			*why = "bad segment name in import";
			return -1;
		}
		return 0;
	}
	case SEGP_IMPORT_REP:
	case SEGP_REBIND:
		return import_rep_decode(p, len, &m->import_rep, why);
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
	case SEGP_TICKET: {
		struct segp_id_wire w;
		memcpy(&w, p, sizeof w);
		m->id = le64toh(w.id);
		return 0;
	}
	case SEGP_ALIVE: {
		struct segp_alive_wire w;
		memcpy(&w, p, sizeof w);
		m->alive.id = le64toh(w.id);
		m->alive.holder = le64toh(w.holder);
		return 0;
	}
	case SEGP_AUTH:
		memcpy(m->proof, p, SEGP_PROOFLEN);
		return 0;
	case SEGP_ERROR:
		return error_decode(p, len, &m->error, why);
	case SEGP_FREE:
		return free_decode(p, len, &m->free, why);
	default:		/* CREDIT, ACK: no payload */
		return 0;
	}
}

const char *
segw_verb_name(unsigned verb)
{
	static const char *names[SEG_VERB_MAX] = {
		[SEG_VERB_NONE] = "-", [SEG_VERB_VA] = "va",
		[SEG_VERB_ADDR] = "addr", [SEG_VERB_UMSG] = "umsg",
		[SEG_VERB_KMSG] = "kmsg",
	};

	return verb < SEG_VERB_MAX ? names[verb] : "?";
}


const char *
segp_type_name(uint16_t type)
{
	static const char *names[SEGP_TYPEMAX] = {
		[SEGP_HELLO] = "hello", [SEGP_CREDIT] = "credit",
		[SEGP_LIST] = "list", [SEGP_LIST_REP] = "list_rep",
		[SEGP_IMPORT] = "import", [SEGP_IMPORT_REP] = "import_rep",
		[SEGP_UNIMPORT] = "unimport", [SEGP_REVOKE] = "revoke",
		[SEGP_ERROR] = "error", [SEGP_FREE] = "free",
		[SEGP_SIGNAL] = "signal", [SEGP_ACK] = "ack",
		[SEGP_TICKET] = "ticket", [SEGP_REBIND] = "rebind",
		[SEGP_ALIVE] = "alive",
		[SEGP_AUTH] = "auth",
	};

	return type < SEGP_TYPEMAX && names[type] != NULL ? names[type] : "?";
}
