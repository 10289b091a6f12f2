/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * attach.c: segattach(2), segdetach and segfree.  A named segment is mapped
 * at the address its ctl message set, with MAP_FIXED_NOREPLACE so nothing
 * already in the process is ever clobbered.  The classes "memory" and
 * "shared" are anonymous, private and shared memory.
 *
 * Linux's exec replaces the whole address space, so every attachment is
 * released by exec: SEG_CEXEC is accepted and always in effect.
 */
#include <sys/mman.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libseg.h"

enum att_kind { ATT_NAMED, ATT_MEMORY, ATT_SHARED };

struct att {
	uintptr_t     va;
	size_t        len;
	enum att_kind kind;
	int           ronly;
	struct att   *next;
};

static pthread_mutex_t att_lock = PTHREAD_MUTEX_INITIALIZER;
static struct att *atts;

static uintptr_t
pagesize(void)
{
	return (uintptr_t)sysconf(_SC_PAGESIZE);
}

static int
att_add(uintptr_t va, size_t len, enum att_kind kind, int ronly)
{
	struct att *a = malloc(sizeof *a);

	if (a == NULL)
		return -1;
	a->va = va;
	a->len = len;
	a->kind = kind;
	a->ronly = ronly;
	pthread_mutex_lock(&att_lock);
	a->next = atts;
	atts = a;
	pthread_mutex_unlock(&att_lock);
	return 0;
}

/* Under att_lock: the attachment holding addr. */
static struct att **
att_find(uintptr_t addr)
{
	struct att **p;

	for (p = &atts; *p; p = &(*p)->next)
		if ((*p)->va <= addr && addr - (*p)->va < (*p)->len)
			return p;
	return NULL;
}

static void
detach_named(uintptr_t va)
{
	seg_call_a(SEGW_DETACH, va);
}

static void *
attach_anon(int attr, const char *class, void *va, size_t len)
{
	enum att_kind kind = strcmp(class, "shared") == 0 ? ATT_SHARED :
	    ATT_MEMORY;
	int prot = attr & SEG_RONLY ? PROT_READ : PROT_READ | PROT_WRITE;
	int flags = MAP_ANONYMOUS | (kind == ATT_SHARED ? MAP_SHARED :
	    MAP_PRIVATE);
	uintptr_t pg = pagesize(), start = (uintptr_t)va & ~(pg - 1), end;
	void *p;

	if (len == 0 || (uintptr_t)va > UINTPTR_MAX - len - pg) {
		seg_seterr(EINVAL, "bad length for class '%s'", class);
		return NULL;
	}
	end = ((uintptr_t)va + len + pg - 1) & ~(pg - 1);
	if (start != 0)
		flags |= MAP_FIXED_NOREPLACE;
	p = mmap((void *)start, end - start, prot, flags, -1, 0);
	if (p == MAP_FAILED || (start != 0 && p != (void *)start)) {
		int err = p == MAP_FAILED ? errno : EEXIST;
		if (p != MAP_FAILED)
			munmap(p, end - start);
		seg_seterr(err == EEXIST ? EADDRINUSE : err, "segattach %s at "
		    "%#lx: %s", class, (unsigned long)start, err == EEXIST ?
		    "address range already in use in this process" :
		    strerror(err));
		return NULL;
	}
	if (att_add((uintptr_t)p, end - start, kind, attr & SEG_RONLY) < 0) {
		munmap(p, end - start);
		seg_seterr(ENOMEM, "out of memory");
		return NULL;
	}
	return p;
}

void *
seg_attach(int attr, const char *class, void *va, size_t len)
{
	struct segw_req r;
	struct segw_info info;
	int prot, fd;
	void *p;

	if (attr & ~(SEG_RONLY | SEG_CEXEC)) {
		seg_seterr(EINVAL, "bad attributes %#x", (unsigned)attr);
		return NULL;
	}
	if (class == NULL) {
		seg_seterr(EINVAL, "no segment class");
		return NULL;
	}
	if (strcmp(class, "memory") == 0 || strcmp(class, "shared") == 0)
		return attach_anon(attr, class, va, len);
	/* a named segment: va and len are ignored, as segattach(2) says */
	if (seg_req_name(&r, class) < 0)
		return NULL;
	r.arg = (uint32_t)attr;
	if (seg_call(SEGW_ATTACH, &r, &info, NULL, NULL, &fd) < 0)
		return NULL;
	if (fd < 0) {
		detach_named(info.va);
		seg_seterr(EPROTO, "segd sent no descriptor");
		return NULL;
	}
	prot = attr & SEG_RONLY ? PROT_READ : PROT_READ | PROT_WRITE;
	p = mmap((void *)(uintptr_t)info.va, info.len, prot,
	    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	close(fd);
	if (p == MAP_FAILED || p != (void *)(uintptr_t)info.va) {
		int err = p == MAP_FAILED ? errno : EEXIST;
		if (p != MAP_FAILED)
			munmap(p, info.len);
		detach_named(info.va);
		seg_seterr(err == EEXIST ? EADDRINUSE : err, "segattach %s: "
		    "0x%llx-0x%llx: %s", class, (unsigned long long)info.va,
		    (unsigned long long)(info.va + info.len), err == EEXIST ?
		    "address range already in use in this process" :
		    strerror(err));
		return NULL;
	}
	if (att_add((uintptr_t)p, info.len, ATT_NAMED, attr & SEG_RONLY) < 0) {
		munmap(p, info.len);
		detach_named(info.va);
		seg_seterr(ENOMEM, "out of memory");
		return NULL;
	}
	return p;
}

int
seg_att_contains(uintptr_t va, size_t len)
{
	uintptr_t base;
	size_t alen;

	return seg_att_range(va, len, &base, &alen);
}

/* The named attachment holding [va, va+len): 1, with its range. */
int
seg_att_range(uintptr_t va, size_t len, uintptr_t *base, size_t *alen)
{
	struct att **pp;
	int r = 0;

	if (len == 0 || va > UINTPTR_MAX - len)
		return 0;
	pthread_mutex_lock(&att_lock);
	pp = att_find(va);
	if (pp != NULL && (*pp)->kind == ATT_NAMED &&
	    va + len - (*pp)->va <= (*pp)->len) {
		*base = (*pp)->va;
		*alen = (*pp)->len;
		r = 1;
	}
	pthread_mutex_unlock(&att_lock);
	return r;
}

int
seg_detach(void *addr)
{
	struct att **pp, *a;

	pthread_mutex_lock(&att_lock);
	if ((pp = att_find((uintptr_t)addr)) == NULL) {
		pthread_mutex_unlock(&att_lock);
		return seg_seterr(EINVAL, "segdetach: no segment attached at %p",
		    addr);
	}
	a = *pp;
	*pp = a->next;
	pthread_mutex_unlock(&att_lock);
	if (a->kind == ATT_NAMED)
		dp_att_gone(a->va, a->len);	/* its registrations, first */
	munmap((void *)a->va, a->len);
	if (a->kind == ATT_NAMED)
		detach_named(a->va);	/* segd may be gone; the unmap stands */
	free(a);
	return 0;
}

int
seg_free(void *va, size_t len)
{
	uintptr_t pg = pagesize(), start = (uintptr_t)va & ~(pg - 1), end;
	struct att **pp;
	int advice, ronly;

	if (len == 0 || (uintptr_t)va > UINTPTR_MAX - len - pg)
		return seg_seterr(EINVAL, "segfree: bad length");
	end = ((uintptr_t)va + len + pg - 1) & ~(pg - 1);
	pthread_mutex_lock(&att_lock);
	pp = att_find(start);
	if (pp == NULL || end - (*pp)->va > (*pp)->len) {
		pthread_mutex_unlock(&att_lock);
		return seg_seterr(EINVAL, "segfree: %p+%#zx is not inside one "
		    "attached segment", va, len);
	}
	advice = (*pp)->kind == ATT_MEMORY ? MADV_DONTNEED : MADV_REMOVE;
	ronly = (*pp)->ronly;
	pthread_mutex_unlock(&att_lock);
	if (ronly)
		return seg_seterr(EACCES, "segfree: segment attached read-only");
	/* shared memory: the pages go back and read as zeros everywhere */
	if (madvise((void *)start, end - start, advice) < 0)
		return seg_seterr(errno, "segfree: madvise: %s", strerror(errno));
	return 0;
}
