/*
 * share.c: the socket's fair shares per uid (struct client_limits).  Each
 * uid's connections, reply bytes queued and descriptors queued in replies
 * are counted here, and those of every uid but root together; client.c
 * asks whether a new connection may come and whether a client may be read.
 * Root is held only by the total of connections, of which some are kept
 * for it.  Freed output is given back to the system (malloc_trim) once a
 * lot of it has been freed.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "segd.h"

#define ROOT_RESERVE 64		/* connections only root may take */
#define NUIDS        256	/* buckets of the per-uid table */
#define TRIM_BYTES   (4u << 20)	/* freed buffers that call for a trim */

struct share {
	uid_t         uid;
	unsigned      nclients, nfds;
	uint64_t      out;
	struct share *next;
};

static struct {
	const struct client_limits *lim;
	struct share  *uids[NUIDS];
	unsigned       nclients, nusers;	/* nusers: not root's */
	uint64_t       out, freed;		/* out: not root's */
	unsigned       nfds;			/* not root's */
	struct event  *trim;
	long           refused_at;		/* last logged refusal (s) */
} sh;

static void
trim_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	sh.freed = 0;
	malloc_trim(0);
}

int
share_init(struct segd *sd)
{
	sh.lim = &sd->clim;
	if ((sh.trim = evtimer_new(sd->base, trim_cb, NULL)) == NULL) {
		log_warnx("%s: evtimer_new failed", __func__);
		return -1;
	}
	return 0;
}

void
share_shutdown(void)
{
	if (sh.trim != NULL)
		event_free(sh.trim);
	sh.trim = NULL;
}

static long
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

/* Whether one more connection of u's uid fits; logs a refusal. */
static int
admit(const struct cred *cr, const struct share *u)
{
	const struct client_limits *l = sh.lim;
	const char *why = NULL;
	long now;

	if (sh.nclients >= l->maxclients)
		why = "too many clients";
	else if (cr->uid != 0 && sh.nusers >= l->maxclients - ROOT_RESERVE)
		why = "too many clients; the rest are kept for root";
	else if (cr->uid != 0 && u->nclients >= l->uid_clients)
		why = "too many clients of this uid";
	if (why == NULL)
		return 1;
	if ((now = mono_seconds()) != sh.refused_at) {	/* a line a second */
		sh.refused_at = now;
		log_warnx("%s: client pid %d uid %u: %s (limit %u, %u of a "
		    "uid); refused", __func__, (int)cr->pid, (unsigned)cr->uid,
		    why, l->maxclients, l->uid_clients);
	}
	return 0;
}

struct share *
share_join(const struct cred *cr)
{
	struct share **b = &sh.uids[cr->uid % NUIDS], *u;

	for (u = *b; u != NULL; u = u->next)
		if (u->uid == cr->uid)
			break;
	if (u != NULL && !admit(cr, u))
		return NULL;
	if (u == NULL) {
		struct share none = { .uid = cr->uid };
		if (!admit(cr, &none) || (u = calloc(1, sizeof *u)) == NULL)
			return NULL;
		u->uid = cr->uid;
		u->next = *b;
		*b = u;
	}
	u->nclients++;
	sh.nclients++;
	if (u->uid != 0)
		sh.nusers++;
	return u;
}

void
share_leave(struct share *u)
{
	struct share **p;

	sh.nclients--;
	if (u->uid != 0)
		sh.nusers--;
	if (--u->nclients > 0)
		return;
	for (p = &sh.uids[u->uid % NUIDS]; *p != NULL; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			free(u);
			return;
		}
}

void
share_freed(size_t n)
{
	sh.freed += n;
	if (sh.freed >= TRIM_BYTES && sh.trim != NULL &&
	    !evtimer_pending(sh.trim, NULL)) {
		struct timeval tv = { 0, 200000 };	/* batch the frees */
		evtimer_add(sh.trim, &tv);
	}
}

void
share_out(struct share *u, int64_t n)
{
	u->out += (uint64_t)n;
	if (u->uid != 0)
		sh.out += (uint64_t)n;
	if (n < 0)
		share_freed((size_t)-n);
}

void
share_fd(struct share *u, int n)
{
	u->nfds += (unsigned)n;
	if (u->uid != 0)
		sh.nfds += (unsigned)n;
}

int
share_full(const struct share *u)
{
	const struct client_limits *l = sh.lim;

	if (u->uid == 0)
		return 0;
	return u->out >= l->uid_out || sh.out >= l->total_out ||
	    u->nfds >= l->uid_fds || sh.nfds >= l->total_fds;
}
