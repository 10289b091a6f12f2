/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * namespace.c: the node's segment table and segment(3)'s rules.
 *
 * Names live in a hash table; allocated segments are also kept in an array
 * sorted by address, for the overlap check, for picking an address when
 * ADDR is 0, and for finding the segment an address lies in.  Every change
 * validates first, reserves what it needs, and only then changes state.
 */
#include <sys/mman.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segd.h"

#define NS_NHASH 16384
#define NS_NUIDS 256	/* buckets of the per-owner table */

/* One owner's segments (named and removed-but-held) and allocated bytes. */
struct ns_uid {
	uid_t          uid;
	size_t         nsegs;
	uint64_t       bytes;
	struct ns_uid *next;
};

static uint32_t
hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int
ns_init(struct ns *ns, const struct ns_limits *lim, struct store *st)
{
	memset(ns, 0, sizeof *ns);
	ns->nhash = NS_NHASH;
	ns->hash = calloc(ns->nhash, sizeof *ns->hash);
	if (ns->hash == NULL)
		return -1;
	ns->uids = calloc(NS_NUIDS, sizeof *ns->uids);
	if (ns->uids == NULL) {
		free(ns->hash);
		return -1;
	}
	TAILQ_INIT(&ns->all);
	ns->lim = *lim;
	ns->pagesize = (uint64_t)sysconf(_SC_PAGESIZE);
	ns->store = st;
	return 0;
}

/* owner's entry; made if make (NULL only then, out of memory) */
static struct ns_uid *
uid_get(struct ns *ns, uid_t uid, int make)
{
	struct ns_uid **b = &ns->uids[uid % NS_NUIDS], *u;

	for (u = *b; u != NULL; u = u->next)
		if (u->uid == uid)
			return u;
	if (!make || (u = calloc(1, sizeof *u)) == NULL)
		return NULL;
	u->uid = uid;
	u->next = *b;
	*b = u;
	return u;
}

/* Forget an owner with nothing left. */
static void
uid_tidy(struct ns *ns, struct ns_uid *u)
{
	struct ns_uid **p;

	if (u->nsegs != 0 || u->bytes != 0)
		return;
	for (p = &ns->uids[u->uid % NS_NUIDS]; *p != NULL; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			free(u);
			return;
		}
}

/* Descriptors an allocated segment holds: its file; a pool's three more. */
static size_t
seg_nfds(enum seg_verb v)
{
	if (v == SEG_VERB_NONE)
		return 0;
	return v == SEG_VERB_UMSG || v == SEG_VERB_KMSG ? 4 : 1;
}

/* -N and -U: room for one more segment of uid; 0, or -1 with e set. */
static int
room_seg(struct ns *ns, uid_t uid, struct segerr *e)
{
	struct ns_uid *u;

	if (ns->nheld >= ns->lim.maxsegs)
		return seterr(e, ENOSPC, "too many segments (limit %zu)",
		    ns->lim.maxsegs);
	if (uid != 0 && ns->lim.uid_segs != 0 &&
	    (u = uid_get(ns, uid, 0)) != NULL && u->nsegs >= ns->lim.uid_segs)
		return seterr(e, ENOSPC, "too many segments of uid %u (quota "
		    "%zu)", (unsigned)uid, ns->lim.uid_segs);
	return 0;
}

/* -M, -B and the descriptors: room to allocate len bytes as verb for uid. */
static int
room_bytes(struct ns *ns, uid_t uid, enum seg_verb verb, uint64_t len,
    struct segerr *e)
{
	struct ns_uid *u;

	if (len > ns->lim.maxbytes - ns->bytes || ns->bytes > ns->lim.maxbytes)
		return seterr(e, ENOSPC, "segment memory limit reached: %llu of "
		    "%llu bytes in use", (unsigned long long)ns->bytes,
		    (unsigned long long)ns->lim.maxbytes);
	if (uid != 0 && ns->lim.uid_bytes != 0 &&
	    (u = uid_get(ns, uid, 0)) != NULL &&
	    (len > ns->lim.uid_bytes || u->bytes > ns->lim.uid_bytes - len))
		return seterr(e, ENOSPC, "segment memory quota of uid %u "
		    "reached: %llu of %llu bytes in use", (unsigned)uid,
		    (unsigned long long)u->bytes,
		    (unsigned long long)ns->lim.uid_bytes);
	if (ns->lim.maxfds != 0 && ns->nfds + seg_nfds(verb) > ns->lim.maxfds)
		return seterr(e, ENOSPC, "segd's descriptor limit reached: "
		    "%zu descriptors held by segments", ns->nfds);
	return 0;
}

/* Count s (whose owner entry exists) in or out of the totals. */
static void
count_seg(struct ns *ns, const struct segment *s, int sign)
{
	struct ns_uid *u = uid_get(ns, s->uid, 0);

	if (sign > 0) {
		ns->nheld++;
		u->nsegs++;
		return;
	}
	ns->nheld--;
	u->nsegs--;
	if (s->verb != SEG_VERB_NONE) {
		ns->bytes -= s->len;
		ns->nfds -= seg_nfds(s->verb);
		u->bytes -= s->len;
	}
	uid_tidy(ns, u);
}

static void
count_bytes(struct ns *ns, const struct segment *s)
{
	ns->bytes += s->len;
	ns->nfds += seg_nfds(s->verb);
	uid_get(ns, s->uid, 0)->bytes += s->len;
}

static void
seg_release(struct segment *s)
{
	if (s->map != NULL && munmap(s->map, s->len) < 0)
		log_warn("%s: munmap %s", __func__, s->name);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

void
ns_shutdown(struct ns *ns)
{
	struct segment *s;
	struct ns_uid *u;
	size_t i;

	while ((s = TAILQ_FIRST(&ns->all)) != NULL) {
		TAILQ_REMOVE(&ns->all, s, entry);
		if (ns->on_free)
			ns->on_free(ns->hookctx, s);
		seg_release(s);
	}
	for (i = 0; ns->uids != NULL && i < NS_NUIDS; i++)
		while ((u = ns->uids[i]) != NULL) {
			ns->uids[i] = u->next;
			free(u);
		}
	free(ns->uids);
	free(ns->hash);
	free(ns->byaddr);
	memset(ns, 0, sizeof *ns);
}

struct segment *
ns_lookup(struct ns *ns, const char *name)
{
	struct segment *s;

	for (s = ns->hash[hash_name(name) % ns->nhash]; s; s = s->hnext)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* The segment called name; NULL with e. */
struct segment *
ns_find(struct ns *ns, const char *name, struct segerr *e)
{
	struct segment *s = ns_lookup(ns, name);

	if (s == NULL)
		seterr(e, ENOENT, "segment '%s' does not exist", name);
	return s;
}

/* The segment called name, whose address is set; NULL with e (the spec's
 * words). */
struct segment *
ns_lookup_allocated(struct ns *ns, const char *name, struct segerr *e)
{
	struct segment *s = ns_find(ns, name, e);

	if (s != NULL && s->verb == SEG_VERB_NONE) {
		seterr(e, ENXIO, "segment not yet allocated");
		return NULL;
	}
	return s;
}

static void
hash_insert(struct ns *ns, struct segment *s)
{
	struct segment **b = &ns->hash[hash_name(s->name) % ns->nhash];

	s->hnext = *b;
	*b = s;
}

static void
hash_remove(struct ns *ns, struct segment *s)
{
	struct segment **p = &ns->hash[hash_name(s->name) % ns->nhash];

	for (; *p; p = &(*p)->hnext)
		if (*p == s) {
			*p = s->hnext;
			return;
		}
}

/* A new segment into the name table, which holds its first reference. */
static void
ns_enter(struct ns *ns, struct segment *s)
{
	s->refs = 1;
	s->named = 1;
	hash_insert(ns, s);
	TAILQ_INSERT_TAIL(&ns->all, s, entry);
	ns->nsegs++;
	count_seg(ns, s, 1);
}

/* Index of the first allocated segment whose end lies above va. */
static size_t
addr_search(const struct ns *ns, uint64_t va)
{
	size_t lo = 0, hi = ns->naddr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct segment *s = ns->byaddr[mid];
		if (s->va + s->len <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The segment that overlaps [va, va+len), if any. */
static struct segment *
addr_overlap(const struct ns *ns, uint64_t va, uint64_t len)
{
	size_t i = addr_search(ns, va);

	if (i < ns->naddr && ns->byaddr[i]->va < va + len)
		return ns->byaddr[i];
	return NULL;
}

/* The segment that contains all of [va, va+len), if any. */
struct segment *
ns_find_range(struct ns *ns, uint64_t va, uint64_t len)
{
	struct segment *s;

	if (len == 0 || va > UINT64_MAX - len)
		return NULL;
	s = addr_overlap(ns, va, len);
	if (s != NULL && s->va <= va && va + len <= s->va + s->len)
		return s;
	return NULL;
}

static int
addr_reserve(struct ns *ns)
{
	struct segment **n;
	size_t c;

	if (ns->naddr < ns->caddr)
		return 0;
	c = ns->caddr ? ns->caddr * 2 : 64;
	if ((n = realloc(ns->byaddr, c * sizeof *n)) == NULL)
		return -1;
	ns->byaddr = n;
	ns->caddr = c;
	return 0;
}

/* Only after addr_reserve() succeeded: cannot fail. */
static void
addr_insert(struct ns *ns, struct segment *s)
{
	size_t i = addr_search(ns, s->va);

	memmove(&ns->byaddr[i + 1], &ns->byaddr[i],
	    (ns->naddr - i) * sizeof *ns->byaddr);
	ns->byaddr[i] = s;
	ns->naddr++;
}

static void
addr_remove(struct ns *ns, struct segment *s)
{
	size_t i = addr_search(ns, s->va);

	if (i < ns->naddr && ns->byaddr[i] == s) {
		memmove(&ns->byaddr[i], &ns->byaddr[i + 1],
		    (ns->naddr - i - 1) * sizeof *ns->byaddr);
		ns->naddr--;
	}
}

/* The lowest free range of len bytes at or above from, or 0. */
static uint64_t
addr_pick(const struct ns *ns, uint64_t len, uint64_t from)
{
	uint64_t cand = from;
	size_t i;

	for (i = addr_search(ns, cand); i < ns->naddr; i++) {
		const struct segment *s = ns->byaddr[i];
		if (cand + len <= s->va)
			break;
		cand = s->va + s->len;
	}
	if (cand > SEGD_USER_TOP || len > SEGD_USER_TOP - cand)
		return 0;
	return cand;
}

/*
 * Whether [off, off+len) of s (page-aligned) is resident in memory, so
 * registering it pins without faulting pages in (SEGW_EXP_DONTWAIT):
 * 1 yes, 0 no, -1 with errno.  mincore(2) on segd's mapping, a chunk of
 * pages at a time.
 */
int
seg_resident(const struct segment *s, uint64_t off, uint64_t len,
    uint64_t pagesize)
{
	unsigned char vec[4096];
	uint64_t at, n, i;

	for (at = off; at < off + len; at += n * pagesize) {
		n = (off + len - at + pagesize - 1) / pagesize;
		if (n > sizeof vec)
			n = sizeof vec;
		if (mincore((char *)s->map + at, n * pagesize, vec) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (!(vec[i] & 1))
				return 0;
	}
	return 1;
}

void
seg_hold(struct segment *s)
{
	s->refs++;
}

void
seg_put(struct ns *ns, struct segment *s)
{
	if (s->refs == 0) {
		log_warnx("%s: %s: reference count underflow", __func__, s->name);
		return;
	}
	if (--s->refs > 0)
		return;
	if (s->verb != SEG_VERB_NONE)
		addr_remove(ns, s);
	count_seg(ns, s, -1);
	TAILQ_REMOVE(&ns->all, s, entry);
	if (ns->on_free)
		ns->on_free(ns->hookctx, s);
	seg_release(s);
}

struct segment *
ns_create(struct ns *ns, const char *name, mode_t mode, const struct cred *c,
    struct segerr *e)
{
	struct segment *s;

	if (!seg_name_valid(name)) {
		seterr(e, EINVAL, "bad segment name: use 1 to %d of "
		    "[A-Za-z0-9._-], not '.' or '..'", SEG_NAMEMAX);
		return NULL;
	}
	if (ns_lookup(ns, name) != NULL) {
		seterr(e, EEXIST, "segment '%s' already exists", name);
		return NULL;
	}
	if (room_seg(ns, c->uid, e) < 0)
		return NULL;
	if ((s = calloc(1, sizeof *s)) == NULL || uid_get(ns, c->uid, 1) ==
	    NULL) {
		free(s);
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	strcpy(s->name, name);
	s->uid = c->uid;
	s->gid = c->gid;
	s->mode = mode & 0777;
	s->verb = SEG_VERB_NONE;
	s->fd = -1;
	if (store_save(ns->store, s, e) < 0) {
		free(s);
		return NULL;
	}
	ns_enter(ns, s);
	return s;
}

/* Map fd at exactly va in segd, never replacing anything already there. */
static void *
map_fixed(int fd, uint64_t va, uint64_t len)
{
	void *p = mmap((void *)(uintptr_t)va, len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (p != (void *)(uintptr_t)va) {	/* a kernel that took it as a hint */
		munmap(p, len);
		errno = EEXIST;
		return NULL;
	}
	return p;
}

int
ns_setaddr(struct ns *ns, struct segment *s, const struct ctlmsg *m,
    struct segerr *e)
{
	struct segment *o;
	uint64_t va = m->va;
	void *map = NULL;
	int fd, tries, hooked;

	if (s->verb != SEG_VERB_NONE)
		return seterr(e, EBUSY, "segment '%s' already allocated: its "
		    "address and length cannot be reset", s->name);
	if (room_bytes(ns, s->uid, m->verb, m->len, e) < 0)
		return -1;
	if (va != 0 && (o = addr_overlap(ns, va, m->len)) != NULL)
		return seterr(e, EADDRINUSE, "address range 0x%llx-0x%llx "
		    "overlaps segment '%s'", (unsigned long long)va,
		    (unsigned long long)(va + m->len), o->name);
	if (addr_reserve(ns) < 0)
		return seterr(e, ENOMEM, "out of memory");
	if ((fd = store_alloc(ns->store, s->name, m->len, e)) < 0)
		return -1;
	if (va != 0)
		map = map_fixed(fd, va, m->len);
	else {
		/* ADDR 0: the lowest free range segd can also map itself */
		uint64_t from = SEGD_AUTO_BASE;
		for (tries = 0; tries < 64 && map == NULL; tries++) {
			if ((va = addr_pick(ns, m->len, from)) == 0) {
				errno = ENOMEM;
				break;
			}
			if ((map = map_fixed(fd, va, m->len)) == NULL &&
			    errno != EEXIST)
				break;
			from = va + 64ULL * 1024 * 1024 * 1024;
		}
	}
	if (map == NULL) {
		int err = errno;
		close(fd);
		store_drop_data(ns->store, s->name);
		if (err == EEXIST)
			return seterr(e, EADDRINUSE, "address range 0x%llx-0x%llx "
			    "is in use in segd", (unsigned long long)va,
			    (unsigned long long)(va + m->len));
		return seterr(e, err, "map segment: %s", strerror(err));
	}
	s->verb = m->verb;
	s->va = va;
	s->len = m->len;
	s->fd = fd;
	s->map = map;
	if (ns->on_alloc && ns->on_alloc(ns->hookctx, s, e) < 0)
		hooked = 0;
	else if (store_save(ns->store, s, e) < 0)
		hooked = 1;
	else
		hooked = -1;	/* success */
	if (hooked >= 0) {
		if (hooked && ns->on_free)
			ns->on_free(ns->hookctx, s);
		munmap(map, m->len);
		close(fd);
		s->verb = SEG_VERB_NONE;
		s->va = s->len = 0;
		s->fd = -1;
		s->map = NULL;
		store_drop_data(ns->store, s->name);
		return -1;
	}
	addr_insert(ns, s);
	count_bytes(ns, s);
	return 0;
}

int
ns_remove(struct ns *ns, struct segment *s, const struct cred *c,
    struct segerr *e)
{
	if (c->uid != 0 && c->uid != s->uid)
		return seterr(e, EPERM, "permission denied: only the owner "
		    "(uid %u) or root may remove segment '%s'",
		    (unsigned)s->uid, s->name);
	hash_remove(ns, s);
	s->named = 0;
	ns->nsegs--;
	store_unlink(ns->store, s->name);
	if (ns->on_remove)
		ns->on_remove(ns->hookctx, s);
	seg_put(ns, s);		/* the name table's reference */
	return 0;
}

/* A segment found again in the state directory; takes over p->fd. */
int
ns_restore(struct ns *ns, const struct segment *p, struct segerr *e)
{
	struct segment *s, *o;
	void *map = NULL;

	if (!seg_name_valid(p->name) || ns_lookup(ns, p->name) != NULL)
		return seterr(e, EINVAL, "bad or duplicate name");
	/* a previous segd's segments: -N holds, quotas do not refuse them */
	if (ns->nheld >= ns->lim.maxsegs)
		return seterr(e, ENOSPC, "too many segments (limit %zu)",
		    ns->lim.maxsegs);
	if (uid_get(ns, p->uid, 1) == NULL)
		return seterr(e, ENOMEM, "out of memory");
	if (p->verb != SEG_VERB_NONE) {
		if (p->len == 0 || p->va % ns->pagesize || p->len % ns->pagesize ||
		    p->va > SEGD_USER_TOP || p->len > SEGD_USER_TOP - p->va)
			return seterr(e, EINVAL, "bad address or length");
		if ((o = addr_overlap(ns, p->va, p->len)) != NULL)
			return seterr(e, EADDRINUSE, "overlaps segment '%s'",
			    o->name);
		if (p->len > ns->lim.maxbytes - ns->bytes ||
		    ns->bytes > ns->lim.maxbytes)
			return seterr(e, ENOSPC, "segment memory limit reached");
		if (ns->lim.maxfds != 0 &&
		    ns->nfds + seg_nfds(p->verb) > ns->lim.maxfds)
			return seterr(e, ENOSPC, "segd's descriptor limit "
			    "reached");
		if (addr_reserve(ns) < 0)
			return seterr(e, ENOMEM, "out of memory");
		if ((map = map_fixed(p->fd, p->va, p->len)) == NULL)
			return seterr(e, errno, "map: %s", strerror(errno));
	}
	if ((s = malloc(sizeof *s)) == NULL) {
		if (map != NULL)
			munmap(map, p->len);
		return seterr(e, ENOMEM, "out of memory");
	}
	*s = *p;
	s->map = map;
	s->mr = NULL;
	s->exp = NULL;
	if (map != NULL && ns->on_alloc && ns->on_alloc(ns->hookctx, s, e) < 0) {
		munmap(map, p->len);
		free(s);
		return -1;
	}
	s->nattach = 0;
	ns_enter(ns, s);
	if (s->verb != SEG_VERB_NONE) {
		addr_insert(ns, s);
		count_bytes(ns, s);
	}
	return 0;
}

static int
restore_cb(void *arg, const struct segment *s, struct segerr *e)
{
	return ns_restore(arg, s, e);
}

/*
 * The segments a previous segd left in the state directory; then each is
 * handed to on_restored, once all are there (an export bound to another
 * segment finds it whatever order they were read in).
 */
int
ns_load(struct ns *ns)
{
	struct segment *s;
	int n = store_load(ns->store, restore_cb, ns);

	if (ns->on_restored)
		TAILQ_FOREACH(s, &ns->all, entry)
			ns->on_restored(ns->hookctx, s);
	return n;
}

void
seg_to_info(const struct segment *s, struct segw_info *i)
{
	memset(i, 0, sizeof *i);
	strcpy(i->name, s->name);
	i->verb = (uint8_t)s->verb;
	i->flags = s->named ? 0 : SEGW_INFO_REMOVED;
	i->mode = (uint32_t)s->mode;
	i->uid = (uint32_t)s->uid;
	i->gid = (uint32_t)s->gid;
	i->nattach = s->nattach;
	i->va = s->va;
	i->len = s->len;
}
