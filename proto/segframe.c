/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segframe.c: encoding and decoding of the local protocol's frames (libseg
 * <-> segd, proto/segwire.h): every length read from a frame is checked
 * here.  The peer protocol's messages are in segwire.c.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segwire.h"

_Static_assert(sizeof(struct segw_req_wire) == 88, "segw_req_wire layout");
_Static_assert(sizeof(struct segw_info_wire) == 104, "segw_info_wire layout");
_Static_assert(sizeof(struct segw_imp_wire) == 48, "segw_imp_wire layout");
_Static_assert(sizeof(struct segw_io_wire) == 24, "segw_io_wire layout");
_Static_assert(sizeof(struct segw_atomic_wire) == 40, "segw_atomic_wire layout");
_Static_assert(SEGW_HDRLEN + 24 + SEGW_IO_MAXN * 24 <= SEGW_HDRLEN + SEGW_MAXPAYLOAD,
    "an io frame fits");

void
segw_hdr_encode(uint8_t out[SEGW_HDRLEN], const struct segw_hdr *h)
{
	uint32_t len = htole32(h->len);
	uint16_t op = htole16(h->op), st = htole16(h->status);

	memcpy(out, &len, 4);
	memcpy(out + 4, &op, 2);
	memcpy(out + 6, &st, 2);
}

long
segw_hdr_parse(const uint8_t *buf, size_t avail, struct segw_hdr *h,
    const char **why)
{
	uint32_t len;
	uint16_t op, st;

	if (avail < SEGW_HDRLEN)
		return 0;
	memcpy(&len, buf, 4);
	memcpy(&op, buf + 4, 2);
	memcpy(&st, buf + 6, 2);
	h->len = le32toh(len);
	h->op = le16toh(op);
	h->status = le16toh(st);
	if (h->len > SEGW_MAXPAYLOAD) {
		*why = "frame longer than the limit";
		return -1;
	}
	if (h->op == 0 || h->op >= SEGW_OPMAX) {
		*why = "unknown operation";
		return -1;
	}
	return (long)(SEGW_HDRLEN + h->len);
}

static int
name_copy_in(char *dst, const uint8_t *src, unsigned len, const char **why)
{
	if (len > SEG_NAMEMAX) {
		*why = "name length out of range";
		return -1;
	}
	if (memchr(src, '\0', len) != NULL) {
		*why = "name contains NUL";
		return -1;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

size_t
segw_req_encode(uint8_t *out, size_t size, const struct segw_req *r)
{
	struct segw_req_wire w;
	size_t nl = strnlen(r->name, SEG_NAMEMAX);

	if (size < sizeof w + r->textlen || r->textlen > SEGW_MAXTEXT)
		return 0;
	memset(&w, 0, sizeof w);
	memcpy(w.name, r->name, nl);
	w.namelen = htole16((uint16_t)nl);
	w.arg = htole32(r->arg);
	w.a = htole64(r->a);
	w.b = htole64(r->b);
	memcpy(out, &w, sizeof w);
	memcpy(out + sizeof w, r->text, r->textlen);
	return sizeof w + r->textlen;
}

int
segw_req_decode(uint16_t op, const uint8_t *p, size_t len,
    struct segw_req *r, const char **why)
{
	struct segw_req_wire w;

	if (len < sizeof w) {
		*why = "request shorter than its header";
		return -1;
	}
	if (!SEGW_OP_HAS_TEXT(op) && len != sizeof w) {
		*why = "request has trailing bytes";
		return -1;
	}
	if (len - sizeof w > SEGW_MAXTEXT) {
		*why = "request text longer than the limit";
		return -1;
	}
	memcpy(&w, p, sizeof w);
	memset(r, 0, sizeof *r);
	if (name_copy_in(r->name, w.name, le16toh(w.namelen), why) < 0)
		return -1;
	r->arg = le32toh(w.arg);
	r->a = le64toh(w.a);
	r->b = le64toh(w.b);
	r->textlen = len - sizeof w;
	memcpy(r->text, p + sizeof w, r->textlen);
	r->text[r->textlen] = '\0';
	if (memchr(r->text, '\0', r->textlen) != NULL) {
		*why = "request text contains NUL";
		return -1;
	}
	return 0;
}

size_t
segw_info_encode(uint8_t *out, size_t size, const struct segw_info *in,
    const char *text, size_t textlen)
{
	struct segw_info_wire w;
	size_t nl = strnlen(in->name, SEG_NAMEMAX);

	if (textlen > SEGW_MAXTEXT || size < sizeof w + textlen)
		return 0;
	memset(&w, 0, sizeof w);
	memcpy(w.name, in->name, nl);
	w.namelen = htole16((uint16_t)nl);
	w.verb = in->verb;
	w.flags = in->flags;
	w.mode = htole32(in->mode);
	w.uid = htole32(in->uid);
	w.gid = htole32(in->gid);
	w.nattach = htole32(in->nattach);
	w.va = htole64(in->va);
	w.len = htole64(in->len);
	memcpy(out, &w, sizeof w);
	if (textlen)
		memcpy(out + sizeof w, text, textlen);
	return sizeof w + textlen;
}

int
segw_info_decode(const uint8_t *p, size_t len, struct segw_info *o,
    const char **text, size_t *textlen, const char **why)
{
	struct segw_info_wire w;

	if (len < sizeof w || len - sizeof w > SEGW_MAXTEXT) {
		*why = "reply length out of range";
		return -1;
	}
	memcpy(&w, p, sizeof w);
	memset(o, 0, sizeof *o);
	if (name_copy_in(o->name, w.name, le16toh(w.namelen), why) < 0)
		return -1;
	if (w.verb >= SEG_VERB_MAX) {
		*why = "reply has an unknown segment kind";
		return -1;
	}
	o->verb = w.verb;
	o->flags = w.flags;
	o->mode = le32toh(w.mode);
	o->uid = le32toh(w.uid);
	o->gid = le32toh(w.gid);
	o->nattach = le32toh(w.nattach);
	o->va = le64toh(w.va);
	o->len = le64toh(w.len);
	if (text) {
		*text = (const char *)p + sizeof w;
		*textlen = len - sizeof w;
	}
	return 0;
}

_Static_assert(sizeof(struct segw_direct_wire) == 88, "segw_direct layout");

size_t
segw_imp_encode(uint8_t *out, size_t size, const struct segw_imp *m)
{
	struct segw_imp_wire w;
	struct segw_direct_wire d;
	size_t al = strnlen(m->addr, SEGW_ADDRLEN);

	if (size < sizeof w + (m->direct ? sizeof d : 0) ||
	    (m->direct && (al == 0 || al == SEGW_ADDRLEN)) ||
	    (m->eflags & ~SEGW_EXP_ALL) != 0)
		return 0;
	w.handle = htole64(m->handle);
	w.len = htole64(m->len);
	w.rva = htole64(m->rva);
	w.rkey = htole32(m->rkey);
	w.perm = htole32(m->perm);
	w.gen = htole64(m->gen);
	w.eflags = htole32(m->eflags);
	w.pad = 0;
	memcpy(out, &w, sizeof w);
	if (!m->direct)
		return sizeof w;
	memset(&d, 0, sizeof d);
	d.grant = htole64(m->grant);
	memcpy(d.ticket, m->ticket, sizeof d.ticket);
	d.drkey = htole32(m->drkey);
	d.deadline_ms = htole32(m->deadline_ms);
	d.port = htole16(m->port);
	d.addrlen = htole16((uint16_t)al);
	memcpy(d.addr, m->addr, al);
	memcpy(out + sizeof w, &d, sizeof d);
	return sizeof w + sizeof d;
}

/* The direct path's part of an import reply; -1 if malformed. */
static int
direct_decode(const uint8_t *p, struct segw_imp *m)
{
	struct segw_direct_wire d;
	unsigned al;

	memcpy(&d, p, sizeof d);
	al = le16toh(d.addrlen);
	if (al == 0 || al >= SEGW_ADDRLEN || d.pad != 0 || d.port == 0 ||
	    memchr(d.addr, '\0', al) != NULL)
		return -1;
	m->direct = 1;
	m->grant = le64toh(d.grant);
	memcpy(m->ticket, d.ticket, sizeof m->ticket);
	m->drkey = le32toh(d.drkey);
	m->deadline_ms = le32toh(d.deadline_ms);
	m->port = le16toh(d.port);
	memcpy(m->addr, d.addr, al);
	m->addr[al] = '\0';
	return 0;
}

int
segw_imp_decode(const uint8_t *p, size_t len, struct segw_imp *m)
{
	struct segw_imp_wire w;

	if (len != sizeof w && len != sizeof w + sizeof(struct segw_direct_wire))
		return -1;
	memcpy(&w, p, sizeof w);
	memset(m, 0, sizeof *m);
	if (len > sizeof w && direct_decode(p + sizeof w, m) < 0)
		return -1;
	m->handle = le64toh(w.handle);
	m->len = le64toh(w.len);
	m->rva = le64toh(w.rva);
	m->rkey = le32toh(w.rkey);
	m->perm = le32toh(w.perm);
	m->gen = le64toh(w.gen);
	m->eflags = le32toh(w.eflags);
	if ((m->eflags & ~SEGW_EXP_ALL) != 0 || w.pad != 0)
		return -1;
	return 0;
}

size_t
segw_io_encode(uint8_t *out, size_t size, const struct segw_io *io)
{
	struct segw_io_wire w;
	size_t i, need;

	if (io->n > SEGW_IO_MAXN)
		return 0;
	need = sizeof w + io->n * sizeof(struct segw_iov_wire);
	if (size < need)
		return 0;
	memset(&w, 0, sizeof w);
	w.handle = htole64(io->handle);
	w.kind = htole16(io->kind);
	w.flags = htole16(io->flags);
	w.n = htole32(io->n);
	memcpy(out, &w, sizeof w);
	for (i = 0; i < io->n; i++) {
		struct segw_iov_wire v;
		v.off = htole64(io->iov[i].off);
		v.va = htole64(io->iov[i].va);
		v.len = htole64(io->iov[i].len);
		memcpy(out + sizeof w + i * sizeof v, &v, sizeof v);
	}
	return need;
}

int
segw_io_decode(const uint8_t *p, size_t len, struct segw_io *io,
    const char **why)
{
	struct segw_io_wire w;
	size_t i;

	if (segw_head(&w, sizeof w, p, len, why,
	    "io request shorter than its header") < 0)
		return -1;
	io->handle = le64toh(w.handle);
	io->kind = le16toh(w.kind);
	io->flags = le16toh(w.flags);
	io->n = le32toh(w.n);
	if (io->kind < SEGW_IO_GET || io->kind >= SEGW_IO_KINDMAX ||
	    (io->flags & ~SEGW_IO_BOUNCE) != 0) {
		*why = "io request of unknown kind or flags";
		return -1;
	}
	if (io->n > SEGW_IO_MAXN ||
	    len != sizeof w + (size_t)io->n * sizeof(struct segw_iov_wire)) {
		*why = "io request length does not match its count";
		return -1;
	}
	for (i = 0; i < io->n; i++) {
		struct segw_iov_wire v;
		memcpy(&v, p + sizeof w + i * sizeof v, sizeof v);
		io->iov[i].off = le64toh(v.off);
		io->iov[i].va = le64toh(v.va);
		io->iov[i].len = le64toh(v.len);
	}
	return 0;
}

size_t
segw_atomic_encode(uint8_t *out, size_t size, const struct segw_atomic *at)
{
	struct segw_atomic_wire w;

	if (size < sizeof w || at->kind < SEGW_AT_CAS ||
	    at->kind >= SEGW_AT_KINDMAX)
		return 0;
	memset(&w, 0, sizeof w);
	w.handle = htole64(at->handle);
	w.kind = htole16(at->kind);
	w.off = htole64(at->off);
	w.a = htole64(at->a);
	w.b = htole64(at->b);
	memcpy(out, &w, sizeof w);
	return sizeof w;
}

int
segw_atomic_decode(const uint8_t *p, size_t len, struct segw_atomic *at,
    const char **why)
{
	struct segw_atomic_wire w;

	if (len != sizeof w) {
		*why = "atomic request of the wrong size";
		return -1;
	}
	memcpy(&w, p, sizeof w);
	at->handle = le64toh(w.handle);
	at->kind = le16toh(w.kind);
	at->off = le64toh(w.off);
	at->a = le64toh(w.a);
	at->b = le64toh(w.b);
	if (at->kind < SEGW_AT_CAS || at->kind >= SEGW_AT_KINDMAX ||
	    w.pad != 0 || w.pad2 != 0) {
		*why = "atomic request of unknown kind";
		return -1;
	}
	return 0;
}

size_t
segw_addrs_encode(uint8_t *out, size_t size, const struct segw_addrs *a)
{
	struct segw_addrs_wire w;
	size_t need;

	if (a->n == 0 || a->n > SEGW_ADDRS_MAX)
		return 0;
	need = sizeof w + (size_t)a->n * 8;
	if (size < need)
		return 0;
	memset(&w, 0, sizeof w);
	w.handle = htole64(a->handle);
	w.n = htole32(a->n);
	memcpy(out, &w, sizeof w);
	segw_le64s_put(out + sizeof w, a->addrs, a->n);
	return need;
}

int
segw_addrs_decode(const uint8_t *p, size_t len, struct segw_addrs *a,
    const char **why)
{
	struct segw_addrs_wire w;

	if (segw_head(&w, sizeof w, p, len, why,
	    "address list shorter than its header") < 0)
		return -1;
	a->handle = le64toh(w.handle);
	a->n = le32toh(w.n);
	if (a->n == 0 || a->n > SEGW_ADDRS_MAX || w.pad != 0 ||
	    len != sizeof w + (size_t)a->n * 8) {
		*why = "address list length does not match its count";
		return -1;
	}
	segw_le64s_get(a->addrs, p + sizeof w, a->n);
	return 0;
}

/* n addresses to the wire in place; the byte length. */
size_t
segw_u64s_encode(uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = htole64(v[i]);
	return n * sizeof *v;
}

int
segw_head(void *w, size_t size, const uint8_t *p, size_t len,
    const char **why, const char *what)
{
	if (len < size) {
		*why = what;
		return -1;
	}
	memcpy(w, p, size);
	return 0;
}

size_t
segw_le64s_put(uint8_t *out, const uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t le = htole64(v[i]);
		memcpy(out + i * sizeof le, &le, sizeof le);
	}
	return n * sizeof *v;
}

void
segw_le64s_get(uint64_t *v, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(&v[i], p + i * sizeof *v, sizeof *v);
		v[i] = le64toh(v[i]);
	}
}

/* len bytes received into v, to host order in place; -1 if malformed. */
int
segw_u64s_decode(uint64_t *v, size_t len, size_t max, size_t *n)
{
	size_t i;

	if (len % sizeof *v != 0 || len / sizeof *v > max)
		return -1;
	*n = len / sizeof *v;
	for (i = 0; i < *n; i++)
		v[i] = le64toh(v[i]);
	return 0;
}

size_t
segw_version_encode(uint8_t *out, size_t size, uint32_t version)
{
	struct segw_version_wire w = { htole32(version), 0 };

	if (size < sizeof w)
		return 0;
	memcpy(out, &w, sizeof w);
	return sizeof w;
}

int
segw_version_decode(const uint8_t *p, size_t len, uint32_t *version)
{
	struct segw_version_wire w;

	if (len != sizeof w)
		return -1;
	memcpy(&w, p, sizeof w);
	if (w.pad != 0)
		return -1;
	*version = le32toh(w.version);
	return 0;
}
