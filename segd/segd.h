/*
 * segd.h: segd's one internal header; prototypes are grouped by file.
 */
#ifndef SEGD_H
#define SEGD_H

#include <sys/queue.h>
#include <sys/types.h>
#include <stdarg.h>
#include <stdint.h>

#include "segwire.h"

struct event_base;
struct event;

#define SEGD_MAXGROUPS    64
#define SEGD_MAXCLIENTS   4096
#define SEGD_DEF_MAXSEGS  65536
#define SEGD_AUTO_BASE    0x100000000000ULL   /* where ADDR 0 segments go */
#define SEGD_USER_TOP     0x800000000000ULL   /* end of x86-64/arm64 user space */

/* An error for the caller: an errno value and the message it is shown. */
struct segerr {
	int  code;
	char msg[SEGW_MAXTEXT];
};

/* Who is asking, from SO_PEERCRED (and /proc for supplementary groups). */
struct cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int   ngroups;
	gid_t groups[SEGD_MAXGROUPS];
};

/*
 * A segment.  References (refs) are held by:
 *   - the name table, one while the segment is named (dropped by remove);
 *   - each attachment by a client connection, one each.
 * The last seg_put() unmaps and closes the backing memory.  A removed
 * segment keeps its address reserved until then, since attached processes
 * still use it.
 */
struct segment {
	char            name[SEG_NAMEMAX + 1];
	uid_t           uid;
	gid_t           gid;
	mode_t          mode;
	enum seg_verb   verb;     /* SEG_VERB_NONE until ctl sets the address */
	uint64_t        va, len;
	int             fd;       /* backing file; -1 until allocated */
	void           *map;      /* segd's own mapping at va */
	unsigned        nattach;
	unsigned        refs;
	int             named;
	struct segment *hnext;    /* name hash chain */
	TAILQ_ENTRY(segment) entry;
};
TAILQ_HEAD(seglist, segment);

struct store {
	char dir[256];
	int  dirfd;
};

struct ns_limits {
	size_t   maxsegs;
	uint64_t maxbytes;
};

struct ns {
	struct segment  **hash;
	size_t            nhash;
	struct segment  **byaddr;   /* allocated segments, sorted by va */
	size_t            naddr, caddr;
	struct seglist    all;      /* named and removed-but-held */
	size_t            nsegs;    /* named segments */
	uint64_t          bytes;    /* allocated bytes, removed-but-held too */
	struct ns_limits  lim;
	uint64_t          pagesize;
	struct store     *store;
};

struct ctlmsg {
	enum seg_verb verb;
	uint64_t      va, len;    /* rounded; va 0 = segd picks */
};

struct segd {
	struct event_base *base;
	struct ns          ns;
	struct store       store;
	const char        *sockpath;
	int                foreground;
};

/* log.c */
void log_init(int foreground, int verbose);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
int  seterr(struct segerr *, int code, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* ctl.c */
int  ctl_parse(const char *msg, size_t len, uint64_t pagesize,
    struct ctlmsg *, struct segerr *);
int  ctl_format(char *buf, size_t size, enum seg_verb, uint64_t va,
    uint64_t len);

/* perm.c */
int  perm_ok(const struct cred *, uid_t uid, gid_t gid, mode_t mode, int want);
int  perm_check(const struct cred *, const struct segment *, int want,
    struct segerr *);
int  cred_from_socket(int fd, struct cred *);

/* store.c */
int  store_open(struct store *, const char *dir, struct segerr *);
void store_close(struct store *);
int  store_alloc(struct store *, const char *name, uint64_t len,
    struct segerr *);
int  store_save(struct store *, const struct segment *, struct segerr *);
void store_unlink(struct store *, const char *name);
void store_drop_data(struct store *, const char *name);
int  store_open_data(struct store *, const char *name, int flags);
int  store_load(struct store *, struct ns *);

/* namespace.c */
int  ns_init(struct ns *, const struct ns_limits *, struct store *);
void ns_shutdown(struct ns *);
struct segment *ns_lookup(struct ns *, const char *name);
struct segment *ns_create(struct ns *, const char *name, mode_t mode,
    const struct cred *, struct segerr *);
int  ns_setaddr(struct ns *, struct segment *, const struct ctlmsg *,
    struct segerr *);
int  ns_remove(struct ns *, struct segment *, const struct cred *,
    struct segerr *);
int  ns_restore(struct ns *, const struct segment *proto, struct segerr *);
struct segment *ns_find_range(struct ns *, uint64_t va, uint64_t len);
void seg_hold(struct segment *);
void seg_put(struct ns *, struct segment *);
void seg_to_info(const struct segment *, struct segw_info *);

/* control.c */
int  control_init(struct segd *);
void control_shutdown(struct segd *);

#endif
