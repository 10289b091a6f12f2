/*
 * backing.c: segments' backing files as clients may leave them.
 *
 * A client holding a writable descriptor of NAME.seg (from OPEN or ATTACH)
 * or of a umsg pool's NAME.zio can resize the file or punch holes in it.
 * segd keeps each file at the length it gave it:
 *   - before the file system copies to or from a segment's memory, and
 *     before the free validator reads a pool's state, the file is checked
 *     (store_fit) and put back;
 *   - an inotify watch on the state directory sees every resize, hole or
 *     write(2) of a named segment's files (IN_MODIFY; stores through a
 *     mapping make no event) and puts the file back at once, so growth
 *     cannot bypass -M; removed segments still attached are no longer in
 *     the directory and are checked by a timer;
 *   - pages cut away from a segment may still be pinned by its memory
 *     regions, where importers would write unseen: its exports are
 *     revoked and its local region registered again.
 * What faults anyway (a cut between the check and the access) is caught
 * by guard.c.
 */
#include <sys/inotify.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "segd.h"

#define REMOVED_CHECK_S 2	/* how often removed-but-held files are checked */

static struct {
	struct segd  *sd;
	int           fd;		/* inotify */
	struct event *ev, *timer;
} w = { .fd = -1 };

/* The memory behind s was cut away: what pinned it must not go on. */
static void
cut(struct segd *sd, struct segment *s)
{
	struct segerr e;

	log_warnx("%s: %s: a client cut pages away from the segment's memory: "
	    "restored (they read as zeros)%s", __func__, s->name,
	    s->exp != NULL ? "; its export is revoked" : "");
	export_drop(sd, s);
	if (s->mr != NULL) {
		rdma_seg_dereg(s);
		if (rdma_seg_reg(sd, s, &e) < 0)
			log_warnx("%s: %s: register again: %s", __func__, s->name,
			    e.msg);
	}
}

/*
 * s's backing file back at its length: 0 if it was intact or had only
 * grown (cut back); -1 with errno EIO if pages had been cut away (the
 * caller's access may have seen them go), ENOSPC if they cannot be had
 * again now, or what fstat/ftruncate said.  s must be held.
 */
int
backing_check(struct segd *sd, struct segment *s)
{
	int r;

	if (s->fd < 0 || s->verb == SEG_VERB_NONE)
		return 0;
	if ((r = store_fit(s->fd, s->len)) < 0) {
		int err = errno;
		log_warnx("%s: %s: restore the backing file to %llu bytes: %s",
		    __func__, s->name, (unsigned long long)s->len,
		    strerror(err));
		errno = err;
		return -1;
	}
	if (r & STORE_GROWN)
		log_warnx("%s: %s: a client grew the backing file past %llu "
		    "bytes: cut back", __func__, s->name,
		    (unsigned long long)s->len);
	if (r & STORE_CUT) {
		seg_hold(s);
		cut(sd, s);
		seg_put(&sd->ns, s);
		errno = EIO;
		return -1;
	}
	return 0;
}

/* NAME.seg or NAME.zio changed: check the segment of that name. */
static void
changed(struct segd *sd, const char *file)
{
	char name[SEG_NAMEMAX + 1];
	const char *dot = strrchr(file, '.');
	struct segment *s;
	size_t n;

	if (dot == NULL || (strcmp(dot, ".seg") != 0 && strcmp(dot, ".zio") != 0))
		return;
	n = (size_t)(dot - file);
	if (n == 0 || n > SEG_NAMEMAX)
		return;
	memcpy(name, file, n);
	name[n] = '\0';
	if ((s = ns_lookup(&sd->ns, name)) == NULL)
		return;
	if (dot[1] == 's')
		backing_check(sd, s);
	else
		zio_state_fit(s);
}

/* Every segment, or only those removed but still held. */
static void
check_all(struct segd *sd, int removed_only)
{
	struct segment *s, *next;

	for (s = TAILQ_FIRST(&sd->ns.all); s != NULL; s = next) {
		seg_hold(s);	/* a revoked export may drop its last other */
		if (!removed_only || !s->named) {
			backing_check(sd, s);
			zio_state_fit(s);
		}
		next = TAILQ_NEXT(s, entry);	/* only s can go below */
		seg_put(&sd->ns, s);
	}
}

static void
watch_cb(int fd, short ev, void *arg)
{
	char buf[64 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	struct segd *sd = arg;
	ssize_t r;
	size_t i;

	(void)ev;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		for (i = 0; i + sizeof(struct inotify_event) <= (size_t)r;) {
			const struct inotify_event *ie = (void *)(buf + i);
			i += sizeof *ie + ie->len;
			if (i > (size_t)r)
				break;
			if (ie->mask & IN_Q_OVERFLOW)
				check_all(sd, 0);
			else if (ie->len > 0 && memchr(ie->name, '\0', ie->len))
				changed(sd, ie->name);
		}
	if (r < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("%s: read inotify", __func__);
}

static void
timer_cb(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	check_all(arg, 1);
}

/* Watch the state directory (after ns_load); -1 if it cannot be. */
int
backing_watch(struct segd *sd)
{
	struct timeval tv = { REMOVED_CHECK_S, 0 };
	char path[64];

	w.sd = sd;
	if ((w.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("%s: inotify_init1", __func__);
		return -1;
	}
	/* the directory segd opened, not whatever has its name now */
	snprintf(path, sizeof path, "/proc/self/fd/%d", sd->store.dirfd);
	if (inotify_add_watch(w.fd, path, IN_MODIFY | IN_ONLYDIR) < 0) {
		log_warn("%s: watch %s", __func__, sd->store.dir);
		goto fail;
	}
	w.ev = event_new(sd->base, w.fd, EV_READ | EV_PERSIST, watch_cb, sd);
	w.timer = event_new(sd->base, -1, EV_PERSIST, timer_cb, sd);
	if (w.ev == NULL || w.timer == NULL || event_add(w.ev, NULL) < 0 ||
	    event_add(w.timer, &tv) < 0) {
		log_warnx("%s: event_new failed", __func__);
		goto fail;
	}
	check_all(sd, 0);	/* what happened while segd was not watching */
	return 0;
fail:
	backing_unwatch();
	return -1;
}

void
backing_unwatch(void)
{
	if (w.ev != NULL)
		event_free(w.ev);
	if (w.timer != NULL)
		event_free(w.timer);
	if (w.fd >= 0)
		close(w.fd);
	w.ev = w.timer = NULL;
	w.fd = -1;
}
