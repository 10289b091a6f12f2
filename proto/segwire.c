/*
 * segwire.c: encoding and decoding of local frames, and the small parsers
 * both sides share.  Every length read from the wire is checked here.
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
_Static_assert(sizeof(struct segw_imp_wire) == 40, "segw_imp_wire layout");
_Static_assert(sizeof(struct segw_io_wire) == 24, "segw_io_wire layout");
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

size_t
segw_imp_encode(uint8_t *out, size_t size, const struct segw_imp *m)
{
	struct segw_imp_wire w;

	if (size < sizeof w)
		return 0;
	w.handle = htole64(m->handle);
	w.len = htole64(m->len);
	w.rva = htole64(m->rva);
	w.rkey = htole32(m->rkey);
	w.perm = htole32(m->perm);
	w.gen = htole64(m->gen);
	memcpy(out, &w, sizeof w);
	return sizeof w;
}

int
segw_imp_decode(const uint8_t *p, size_t len, struct segw_imp *m)
{
	struct segw_imp_wire w;

	if (len != sizeof w)
		return -1;
	memcpy(&w, p, sizeof w);
	m->handle = le64toh(w.handle);
	m->len = le64toh(w.len);
	m->rva = le64toh(w.rva);
	m->rkey = le32toh(w.rkey);
	m->perm = le32toh(w.perm);
	m->gen = le64toh(w.gen);
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

	if (len < sizeof w) {
		*why = "io request shorter than its header";
		return -1;
	}
	memcpy(&w, p, sizeof w);
	io->handle = le64toh(w.handle);
	io->kind = le16toh(w.kind);
	io->flags = le16toh(w.flags);
	io->n = le32toh(w.n);
	if (io->kind < SEGW_IO_GET || io->kind > SEGW_IO_SIGNAL ||
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

_Static_assert(sizeof(struct segp_hdr_wire) == SEGP_HDRLEN, "segp header");
_Static_assert(sizeof(struct segp_hello) == 80, "segp_hello layout");
_Static_assert(sizeof(struct segp_ent) == 80, "segp_ent layout");
_Static_assert(SEGP_HDRLEN + sizeof(struct segp_free) + SEGP_FREE_MAX * 8 <=
    SEGP_MSGSIZE, "FREE fits");
_Static_assert(SEGP_HDRLEN + sizeof(struct segp_list_rep) +
    SEGP_LIST_MAX * sizeof(struct segp_ent) <= SEGP_MSGSIZE, "LIST_REP fits");

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

long
segp_payload_size(uint16_t type)
{
	switch (type) {
	case SEGP_HELLO:
		return sizeof(struct segp_hello);
	case SEGP_CREDIT:
		return 0;
	case SEGP_LIST:
		return sizeof(struct segp_list);
	case SEGP_IMPORT:
		return sizeof(struct segp_name);
	case SEGP_IMPORT_REP:
		return sizeof(struct segp_import_rep);
	case SEGP_UNIMPORT:
	case SEGP_REVOKE:
	case SEGP_SIGNAL:
		return sizeof(struct segp_id);
	case SEGP_ACK:
		return 0;
	default:
		return -1;	/* LIST_REP, ERROR: checked by their type */
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

/* [A-Za-z0-9._-]{1,64}, and neither "." nor "..". */
int
seg_name_valid(const char *name)
{
	size_t i, n = strnlen(name, SEG_NAMEMAX + 1);

	if (n == 0 || n > SEG_NAMEMAX)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * A whole unsigned number, decimal or 0x hex, of exactly len characters:
 * no sign, no blanks, no trailing bytes, no overflow.
 */
int
seg_parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;
	int base = 10;

	if (len == 0 || len >= sizeof buf || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
		base = 16;
	if (!(buf[base == 16 ? 2 : 0] >= '0' && buf[base == 16 ? 2 : 0] <= '9') &&
	    !(base == 16 && strchr("abcdefABCDEF", buf[2]) != NULL))
		return -1;
	errno = 0;
	v = strtoull(buf, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* $SEGD_SOCKET, else /run/segd/segd.sock for root, else $XDG_RUNTIME_DIR/segd.sock */
int
seg_default_socket(char *buf, size_t size)
{
	const char *e = getenv("SEGD_SOCKET"), *x;
	int n;

	if (e != NULL && *e != '\0')
		n = snprintf(buf, size, "%s", e);
	else if (geteuid() == 0)
		n = snprintf(buf, size, "/run/segd/segd.sock");
	else if ((x = getenv("XDG_RUNTIME_DIR")) != NULL && *x != '\0')
		n = snprintf(buf, size, "%s/segd.sock", x);
	else {
		errno = ENOENT;
		return -1;
	}
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
