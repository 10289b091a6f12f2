/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * seg.c: segment(3) operations: create, ctl, data, remove, stat, list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"

int
seg_create(const char *name, unsigned mode)
{
	struct segw_req r;

	if (seg_req_name(&r, name) < 0)
		return -1;
	if (mode & ~0777u)
		return seg_seterr(EINVAL, "bad mode %o: permission bits only",
		    mode);
	r.arg = mode;
	return seg_call(SEGW_CREATE, &r, NULL, NULL, NULL, NULL);
}

int
seg_ctl(const char *name, const char *msg)
{
	struct segw_req r;
	size_t n;

	if (seg_req_name(&r, name) < 0)
		return -1;
	if (msg == NULL || (n = strlen(msg)) > SEGW_MAXTEXT)
		return seg_seterr(EINVAL, "bad ctl message: too long");
	memcpy(r.text, msg, n);
	r.textlen = n;
	return seg_call(SEGW_CTL, &r, NULL, NULL, NULL, NULL);
}

int
seg_ctl_read(const char *name, char *buf, size_t size)
{
	struct segw_req r;
	char text[SEGW_MAXTEXT];
	size_t n = sizeof text;

	if (seg_req_name(&r, name) < 0)
		return -1;
	if (seg_call(SEGW_CTLREAD, &r, NULL, text, &n, NULL) < 0)
		return -1;
	if (buf == NULL || n >= size)
		return seg_seterr(ERANGE, "buffer of %zu bytes too small for "
		    "the ctl message", size);
	memcpy(buf, text, n);
	buf[n] = '\0';
	return (int)n;
}

/* A descriptor of the segment's memory, checked by segd for want. */
static int
open_data(const char *name, int want, uint64_t *len)
{
	struct segw_req r;
	struct segw_info info;
	int fd;

	if (seg_req_name(&r, name) < 0)
		return -1;
	r.arg = (uint32_t)want;
	if (seg_call(SEGW_OPEN, &r, &info, NULL, NULL, &fd) < 0)
		return -1;
	if (fd < 0)
		return seg_seterr(EPROTO, "segd sent no descriptor");
	*len = info.len;
	return fd;
}

/*
 * A descriptor of the segment's data (flags O_RDONLY, O_WRONLY or O_RDWR,
 * nothing else), checked by segd: many pread/pwrite for one round trip.
 */
int
seg_open(const char *name, int flags)
{
	uint64_t len;
	int want;

	switch (flags) {
	case O_RDONLY:
		want = SEGW_RD;
		break;
	case O_WRONLY:
		want = SEGW_WR;
		break;
	case O_RDWR:
		want = SEGW_RD | SEGW_WR;
		break;
	default:
		return seg_seterr(EINVAL, "bad open flags 0x%x: O_RDONLY, "
		    "O_WRONLY or O_RDWR", (unsigned)flags);
	}
	return open_data(name, want, &len);
}

ssize_t
seg_pread(const char *name, void *buf, size_t n, uint64_t off)
{
	uint64_t len;
	size_t done = 0;
	int fd;

	if ((fd = open_data(name, SEGW_RD, &len)) < 0)
		return -1;
	if (off >= len)
		n = 0;
	else if (n > len - off)
		n = (size_t)(len - off);	/* reads stop at the end */
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done,
		    (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			close(fd);
			return seg_seterr(err, "read segment '%s': %s", name,
			    strerror(err));
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	return (ssize_t)done;
}

ssize_t
seg_pwrite(const char *name, const void *buf, size_t n, uint64_t off)
{
	uint64_t len;
	size_t done = 0;
	int fd;

	if ((fd = open_data(name, SEGW_WR, &len)) < 0)
		return -1;
	if (off >= len) {
		close(fd);
		return seg_seterr(EFBIG, "write at 0x%llx starts at or past the "
		    "end of segment '%s' (length 0x%llx)",
		    (unsigned long long)off, name, (unsigned long long)len);
	}
	if (n > len - off)
		n = (size_t)(len - off);	/* cut at the end */
	while (done < n) {
		ssize_t w = pwrite(fd, (const char *)buf + done, n - done,
		    (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : EIO;
			close(fd);
			return seg_seterr(err, "write segment '%s': %s", name,
			    strerror(err));
		}
		done += (size_t)w;
	}
	close(fd);
	return (ssize_t)done;
}

int
seg_remove(const char *name)
{
	return seg_call_name(SEGW_REMOVE, name);
}

void
seg_info_export(const struct segw_info *w, struct seg_info *o)
{
	memset(o, 0, sizeof *o);
	memcpy(o->name, w->name, sizeof o->name);
	strncpy(o->verb, segw_verb_name(w->verb), sizeof o->verb - 1);
	o->va = w->va;
	o->len = w->len;
	o->uid = w->uid;
	o->gid = w->gid;
	o->mode = w->mode;
	o->nattach = w->nattach;
}

int
seg_stat(const char *name, struct seg_info *info)
{
	struct segw_req r;
	struct segw_info w;

	if (seg_req_name(&r, name) < 0)
		return -1;
	if (seg_call(SEGW_STAT, &r, &w, NULL, NULL, NULL) < 0)
		return -1;
	seg_info_export(&w, info);
	return 0;
}

struct listacc {
	struct seg_info *v;
	size_t n, cap;
};

static int
list_add(const struct segw_info *w, const char *t, size_t tl, void *arg)
{
	struct listacc *a = arg;

	(void)t;
	(void)tl;
	if (a->n == a->cap) {
		size_t c = a->cap ? a->cap * 2 : 64;
		struct seg_info *v = realloc(a->v, c * sizeof *v);
		if (v == NULL)
			return seg_seterr(ENOMEM, "out of memory");
		a->v = v;
		a->cap = c;
	}
	seg_info_export(w, &a->v[a->n++]);
	return 0;
}

/* A listing (LIST, PEERLS) into a malloc'd array; returns the count. */
int
seg_list_collect(uint16_t op, const struct segw_req *r, struct seg_info **list)
{
	struct listacc a = { NULL, 0, 0 };

	if (seg_call_list(op, r, list_add, &a) < 0) {
		free(a.v);
		return -1;
	}
	*list = a.v;
	return (int)a.n;
}

int
seg_list(struct seg_info **list)
{
	struct segw_req r;

	memset(&r, 0, sizeof r);
	return seg_list_collect(SEGW_LIST, &r, list);
}
