/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segd.h: segd's one internal header; prototypes are grouped by file.
 */
#ifndef SEGD_H
#define SEGD_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#include "segwire.h"

struct event_base;
struct event;
struct ibv_mr;
struct ibv_pd;
struct ibv_context;
struct ibv_comp_channel;
struct ibv_send_wr;
struct rdma_cm_id;
struct rdma_event_channel;
struct export;
struct client;
struct creq;
struct peer;
struct zseg;
struct auth;

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
 *   - each attachment by a client connection, one each (control.c);
 *   - its export, one while it is exported (export.c);
 *   - the export bound to its memory (its own, or another segment's after
 *     seg_rebind), one while bound (export.c);
 *   - each remote io in flight that uses it as zero-copy memory, one per
 *     entry of the io (import.c);
 *   - each open file of the file system, one each (fs_io.c);
 *   - each read of its free file waiting for an address (fs_free.c);
 *   - each client's read ring of its free, one each (zread.c).
 * The last seg_put() unmaps and closes the
 * backing memory.  A removed segment keeps its address reserved until
 * then, since attached processes still use it.
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
	unsigned        nattach;  /* attachments by clients of this segd */
	unsigned        refs;
	int             named;
	struct ibv_mr  *mr;       /* local access, for zero-copy get/put */
	struct export  *exp;      /* set while exported */
	struct zseg    *zio;      /* umsg/kmsg pool, free queue, signals */
	/* times: data's is its backing file's mtime (see seg_touch) */
	unsigned        nwriters; /* writable attachments (control.c) */
	int             fs_written; /* data written through the mount since
				     * its time was stamped (fs*.c) */
	struct timespec ctl_mtime, free_mtime;  /* the mount's; 0: unset */
	struct segment *hnext;    /* name hash chain */
	TAILQ_ENTRY(segment) entry;
};
TAILQ_HEAD(seglist, segment);

struct store {
	char dir[256];
	int  dirfd;
};

/* Limits on segments; the per-uid quotas do not apply to root (0: none). */
struct ns_limits {
	size_t   maxsegs;	/* -N: named and removed-but-held segments */
	uint64_t maxbytes;	/* -M */
	size_t   uid_segs;	/* -U: segments of one owner */
	uint64_t uid_bytes;	/* -B: bytes of one owner */
	size_t   maxfds;	/* descriptors segments may hold (0: no limit) */
};
struct ns_uid;	/* one owner's segments and bytes (namespace.c) */

struct ns {
	struct segment  **hash;
	size_t            nhash;
	struct segment  **byaddr;   /* allocated segments, sorted by va */
	size_t            naddr, caddr;
	struct seglist    all;      /* named and removed-but-held */
	size_t            nsegs;    /* named segments */
	size_t            nheld;    /* named and removed-but-held: for -N */
	size_t            nfds;     /* descriptors held by segments */
	struct ns_uid   **uids;     /* per-owner use, for the quotas */
	uint64_t          bytes;    /* allocated bytes, removed-but-held too */
	struct ns_limits  lim;
	uint64_t          pagesize;
	struct store     *store;
	/* RDMA's part of a segment's life; all may be NULL */
	void             *hookctx;
	int             (*on_alloc)(void *, struct segment *, struct segerr *);
	void            (*on_remove)(void *, struct segment *);
	void            (*on_free)(void *, struct segment *);
	void            (*on_restored)(void *, struct segment *);	/* ns_load */
};

struct ctlmsg {
	enum seg_verb verb;
	uint64_t      va, len;    /* rounded; va 0 = segd picks */
};

/* The RDMA device segd serves (rdma.c); present with -l. */
struct rdma {
	struct rdma_event_channel *cm_ch;
	struct rdma_cm_id         *listen_id;
	struct ibv_context        *verbs;
	struct ibv_pd             *pd;
	struct ibv_comp_channel   *comp_ch;
	struct sockaddr_storage    addr;
	char                       host[INET6_ADDRSTRLEN + 1];
	uint16_t                   port;
	char                       devname[64];
	unsigned                   max_rd_atom, max_qp_wr;
	uint64_t                  *scratch;	/* target of barrier reads */
	struct ibv_mr             *scratch_mr;
};

/*
 * A remote operation: a request message awaiting its reply, or RDMA work
 * requests posted on a peer's queue pair.  It holds a reference to its
 * peer from rop_submit() until rop_done() or its failure.
 */
struct rop;
struct rop_ops {
	/*
	 * The peer is ready, or a round completed: rop_send(), rop_post() or
	 * rop_done().  Returns 1 when rop_post() found no room (r waits).
	 */
	int  (*start)(struct rop *);
	/* a reply (IMPORT_REP, LIST_REP, ERROR, ACK) with this rop's tag */
	void (*reply)(struct rop *, uint16_t type, const union segp_msg *);
	/* the peer failed it (deadline, connection lost); the rop is done */
	void (*fail)(struct rop *, int code, const char *msg);
};
struct rop {
	TAILQ_ENTRY(rop)      entry;
	struct peer          *peer;
	const struct rop_ops *ops;
	uint32_t              tag;
	unsigned              round;	/* send-queue slots of the round in flight */
	int                   active;	/* on the peer's active list */
	struct event         *timer;
};

/*
 * The socket's fair shares (client.c).  Root is held only by maxclients;
 * every other uid by its share and, all of them together, by the totals.
 */
struct client_limits {
	unsigned maxclients;	/* connections in all */
	unsigned uid_clients;	/* -C: connections of one uid */
	uint64_t uid_out;	/* -Q: reply bytes queued for one uid */
	uint64_t total_out;	/* reply bytes queued for all uids but root */
	unsigned uid_fds;	/* descriptors queued in one uid's replies */
	unsigned total_fds;	/* the same for all uids but root */
	unsigned idle_ms;	/* -I: a frame begun must end within this */
};

/* the event loop's priorities (libevent: a lower number goes first, and an
 * event runs only in a turn where none of a lower number is ready) */
#define SEGD_NPRIO       3
#define SEGD_PRIO_NORMAL 1	/* every event's (libevent's default: half) */
#define SEGD_PRIO_IDLE   2	/* when nothing else is ready */

struct segd {
	struct event_base *base;
	struct client_limits clim;
	struct ns          ns;
	struct store       store;
	const char        *sockpath;
	int                foreground;
	struct rdma       *rdma;        /* NULL without -l */
	const char        *listen;      /* -l ADDR[:PORT] */
	const char        *device;      /* -D DEVICE */
	char               node[SEGP_NODEMAX + 1];
	unsigned           deadline_ms; /* every remote operation's */
	unsigned           ticket_ms;   /* a data-path ticket's lifetime */
	const char        *keyfile;     /* -k KEYFILE */
	struct auth       *auth;        /* the cluster key; NULL without -k */
	unsigned           heartbeat_ms; /* a silent peer's; 0: no heartbeat */
	/* counters, for segctl stats */
	uint64_t           bounce_bytes, zerocopy_bytes;
};

/* A remote-access grant in an export's list. */
struct acl_ent {
	char node[SEGP_NODEMAX + 1];
	int  perm;	/* SEGW_RD or SEGW_RD|SEGW_WR */
};
#define ACL_MAX 32

/* config.c: segd.conf, `key = value` lines (segd(8) lists the keys) */
#define CONF_PATH         "/etc/segd.conf"
#define CONF_LINEMAX      1024	/* bytes of a line, with its end */
#define CONF_FILEMAX      65536
#define CONF_SOCKMAX      108	/* sizeof sockaddr_un.sun_path */
#define CONF_MAXSEGS_MAX  (1u << 24)
#define CONF_DEADLINE_MIN 10
#define CONF_DEADLINE_MAX 3600000
enum { CONF_SOCKET, CONF_STATEDIR, CONF_MAXSEGS, CONF_MAXBYTES, CONF_LISTEN,
    CONF_DEVICE, CONF_NODE, CONF_DEADLINE, CONF_MOUNT, CONF_VERBOSE,
    CONF_FOREGROUND, CONF_TICKET, CONF_KEY, CONF_HEARTBEAT, CONF_NKEYS };
#define CONF_TICKET_MAX   3600000
#define CONF_HEARTBEAT_MAX 600000
struct conf {
	unsigned set;			/* 1 << CONF_key for each key given */
	char     str[CONF_NKEYS][CONF_LINEMAX];	/* the string keys' values */
	uint64_t maxsegs, maxbytes;
	unsigned deadline_ms, ticket_ms, heartbeat_ms;
	int      verbose, foreground;
};
/* 0, or -1 with e: "FILE:LINE: why"; a missing file is fine unless required */
int  conf_load(struct conf *, const char *path, int required, struct segerr *);
int  conf_parse(struct conf *, const char *file, const char *text, size_t len,
    struct segerr *);
const char *conf_key_name(int key);

/* log.c: stderr (-f), the journal's stderr ("<N>" prefixes), else syslog */
struct ratelimit {
	time_t   sec;
	unsigned n;
};
int  log_rate(struct ratelimit *, unsigned max, const char *what);
void log_init(int foreground, int verbose);
void log_set_verbose(int verbose);
/* A line at syslog priority pri (LOG_ERR, LOG_WARNING, LOG_INFO); the
 * names below say which. */
void log_at(int pri, const char *, ...) __attribute__((format(printf, 2, 3)));
#define log_errx(...)	log_at(LOG_ERR, __VA_ARGS__)
#define log_warnx(...)	log_at(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_at(LOG_INFO, __VA_ARGS__)
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
int  seterr(struct segerr *, int code, const char *, ...)
    __attribute__((format(printf, 3, 4)));
int  vseterr(struct segerr *, int code, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

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
int  store_zio_file(struct store *, const char *name, size_t size,
    int *created, struct segerr *);
int  store_dir_safe(const char *what, const char *path, struct segerr *);
int  store_meta_parse(const char *buf, size_t len, uint64_t pagesize,
    struct segment *);
/*
 * An export as NAME.export keeps it across restarts (store_export_*): its
 * generation, flags, binding (the segment its importers reach and the
 * offset there: its own segment at 0 until seg_rebind) and access list.
 */
struct exprec {
	uint64_t       gen;	/* the export's generation: nonzero */
	uint32_t       flags;	/* SEGW_EXP_* bits only */
	char           bind[SEG_NAMEMAX + 1];	/* the bound segment's name */
	uint64_t       off;	/* in it: page-aligned, below SEGD_USER_TOP */
	int            nacl;
	struct acl_ent acl[ACL_MAX];
};
int  store_export_save(struct store *, const char *name,
    const struct exprec *, struct segerr *);
int  store_export_load(struct store *, const char *name, struct exprec *);
void store_export_unlink(struct store *, const char *name);
int  store_export_parse(const char *buf, size_t len, uint64_t pagesize,
    struct exprec *);
#define STORE_GROWN 1	/* store_fit: grown past its length; cut back */
#define STORE_CUT   2	/* pages were cut away; size and pages restored */
int  store_fit(int fd, uint64_t len);
/* every segment found: restore(arg, s, e); -1 refuses s (logged) */
int  store_load(struct store *, int (*restore)(void *, const struct segment *,
    struct segerr *), void *arg);

/* guard.c: CPU access to memory a client can cut away (SIGBUS guard) */
int  guard_init(void);
int  guard_call(const void *base, size_t len, int (*fn)(void *), void *arg);
int  guard_copy(void *dst, const void *src, size_t n, const void *base,
    size_t len);
/* a memfd sealed at its size, mapped: its fd, or -1 with e */
int  shm_sealed(const char *name, size_t size, void **mem, struct segerr *);
void shm_release(void *mem, size_t size, int fd);

/* namespace.c */
int  ns_init(struct ns *, const struct ns_limits *, struct store *);
void ns_shutdown(struct ns *);
struct segment *ns_lookup(struct ns *, const char *name);
struct segment *ns_find(struct ns *, const char *name, struct segerr *);
struct segment *ns_lookup_allocated(struct ns *, const char *name,
    struct segerr *);
struct segment *ns_create(struct ns *, const char *name, mode_t mode,
    const struct cred *, struct segerr *);
int  ns_setaddr(struct ns *, struct segment *, const struct ctlmsg *,
    struct segerr *);
int  ns_remove(struct ns *, struct segment *, const struct cred *,
    struct segerr *);
int  ns_restore(struct ns *, const struct segment *proto, struct segerr *);
int  ns_load(struct ns *);	/* the state directory's segments; how many */
struct segment *ns_find_range(struct ns *, uint64_t va, uint64_t len);
void seg_hold(struct segment *);
void seg_put(struct ns *, struct segment *);
int  seg_resident(const struct segment *, uint64_t off, uint64_t len,
    uint64_t pagesize);	/* 1, 0; -1 with errno */
/*
 * The memory changes behind segd from now on, or did until now (a writable
 * attach or detach, a read-write import): data's modification time, its
 * backing file's, becomes now.  Writes through a descriptor of the backing
 * file (seg_pwrite) move it by themselves.
 */
static inline void
seg_touch(const struct segment *s)
{
	if (s->fd >= 0)
		(void)futimens(s->fd, NULL);
}
void seg_to_info(const struct segment *, struct segw_info *);

/* acl.c */
int  acl_parse(const char *text, struct acl_ent *, int max, struct segerr *);
int  acl_perm(const struct acl_ent *, int n, const char *node,
    const char *addr);

/* rdma.c: the device, protection domain, channels and memory regions */
int  rdma_init(struct segd *, struct segerr *);
void rdma_shutdown(struct segd *);	/* listener and channels' events */
void rdma_free(struct segd *);		/* after every region is deregistered */
int  rdma_seg_reg(struct segd *, struct segment *, struct segerr *);
void rdma_seg_dereg(struct segment *);
struct ibv_mr *rdma_reg(struct segd *, void *addr, size_t len, int access,
    struct segerr *);
void rdma_dereg(struct ibv_mr *);
int  rdma_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *,
    struct segerr *);
void rdma_peer_addr(struct rdma_cm_id *, char *buf, size_t size);

/*
 * auth.c: the cluster key (-k) and HMAC-SHA256 with it (OpenSSL): keyed
 * connects' tags, AUTH proofs (proto/segwire.h), nonces.
 */
#define AUTH_KEYMIN 32		/* bytes of a key file, at least */
#define AUTH_KEYMAX 1024	/* ... and at most */
struct auth *auth_load(const char *path, struct segerr *);
struct auth *auth_new(const uint8_t *key, size_t len);
void auth_free(struct auth *);	/* wipes the key */
int  auth_key_read(int dirfd, const char *name, uid_t owner, uint8_t *key,
    size_t size, size_t *len, struct segerr *);
int  auth_nonce(uint8_t nonce[SEGP_NONCELEN]);
int  auth_connect_tag(const struct auth *, struct segp_connect *,
    const struct sockaddr *target);
int  auth_connect_ok(const struct auth *, const struct segp_connect *,
    const struct sockaddr *target);
int  auth_proof(const struct auth *, const struct segp_proof_in *,
    uint8_t proof[SEGP_PROOFLEN]);
int  auth_proof_ok(const struct auth *, const struct segp_proof_in *,
    const uint8_t proof[SEGP_PROOFLEN]);

/*
 * peer_msg.c: what arrives on segd <-> segd connections.  Messages arrive
 * decoded (by proto/segwire.c) and go to the handler registered for their
 * type; the completion of a posted round goes to the round handler.
 */
typedef void (*peer_handler)(void *arg, struct peer *, uint32_t tag,
    const union segp_msg *);
void peer_handle(uint16_t type, peer_handler, void *arg);
void peer_on_round(unsigned (*)(void *ctx, struct peer *, int ok));

/* peer_cm.c: the connections' rdma_cm side */
/* fn(arg, id, c) for a connect request carrying a data connection's ticket;
 * fn accepts or rejects id, and owns it from then */
void peer_on_data_connect(void (*)(void *arg, struct rdma_cm_id *,
    const struct segp_connect *), void *arg);
int  peer_start(struct segd *, struct segerr *);	/* after rdma_init */
void peer_shutdown(struct segd *);
struct peer *peer_get(struct segd *, const char *host, uint16_t port,
    const char *label, struct segerr *);

/*
 * peer.c: segd <-> segd connections: sending, rounds, closing.  The
 * modules that care about a connection's end register an observer.
 */
void peer_observe_gone(void (*)(void *arg, struct peer *), void *arg);
void peer_observe_room(void (*)(void *arg, struct peer *), void *arg);
void peer_on_busy(int (*)(struct peer *));	/* operations wait on it */
void peer_hold(struct peer *);
void peer_put(struct peer *);
int  peer_room(const struct peer *, unsigned n);
int  peer_post(struct peer *, struct ibv_send_wr *, unsigned n, void *ctx);
void peer_fail(struct peer *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* m is the payload's member for type (NULL for CREDIT and ACK) */
void peer_send(struct peer *, uint16_t type, uint32_t tag,
    const union segp_msg *m);
void peer_send_error(struct peer *, uint32_t tag, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* peers.c: what other modules may ask of the connections */
/* NODE, ADDR or ADDR:PORT: a connected peer's node name, or an address */
struct peer *peer_resolve(struct segd *, const char *name, struct segerr *);
int  peer_alive(const struct peer *);
const char *peer_node(const struct peer *);
const char *peer_addr(const struct peer *);
uint32_t peer_version(const struct peer *);
uint32_t peer_caps(const struct peer *);
int  peer_ready_now(const struct peer *);
const char *peer_label(const struct peer *);
const char *peer_why(const struct peer *, int *code);
struct segd *peer_segd(const struct peer *);
void **peer_rops(struct peer *);	/* rop.c's state of the peer */
/* What segctl peers shows of one connection. */
struct peer_stat {
	char        node[SEGP_NODEMAX + 1];
	char        where[INET6_ADDRSTRLEN + 8];
	char        label[128];
	const char *state;
	int         outbound, credits;
	size_t      queued;
	uint32_t    version;
};
/* fn(p, arg) for every peer (ready ones only if ready); fn must not close */
void peer_foreach(struct segd *, int ready, void (*fn)(struct peer *, void *),
    void *arg);
void peer_stat(const struct peer *, struct peer_stat *);

/* rop.c: remote operations, on peer.c; rop_init() before other observers */
void rop_init(void);
void rop_submit(struct peer *, struct rop *, const struct rop_ops *);
void rop_send(struct rop *, uint16_t type, const union segp_msg *);
int  rop_post(struct rop *, struct ibv_send_wr *, unsigned n);
void rop_done(struct rop *);

/*
 * export.c: RSM's publish on this node; the exporter's side of LIST,
 * IMPORT, UNIMPORT, FREE and SIGNAL.
 */
void export_init(struct segd *);	/* registers its message handlers */
int  export_seg(struct segd *, struct segment *, const char *acl,
    unsigned flags, const struct cred *, struct segerr *);
int  unexport_seg(struct segd *, struct segment *, const struct cred *,
    struct segerr *);
int  rebind_seg(struct segd *, struct segment *, uint64_t va, uint64_t len,
    const struct cred *, struct segerr *);
void export_drop(struct segd *, struct segment *);	/* on remove */
void export_shutdown(struct segd *, struct segment *);
void export_restore(struct segd *, struct segment *);	/* found again */
void export_counts(unsigned *nexp, unsigned *nimp);

/*
 * grant.c: the exporter's side of the direct data path: a protection domain,
 * region and ticket per import, and the data connections made with it.
 */
struct grant;
int  grant_init(struct segd *, struct segerr *);	/* after peer_start */
void grant_shutdown(void);
struct grant *grant_new(struct peer *, uint64_t id, void *addr, uint64_t len,
    int perm, unsigned eflags, struct segerr *);
int  grant_ticket(struct grant *, struct segp_import_rep *, struct segerr *);
void grant_free(struct grant *);	/* its connections go, its key fails */
void grant_counts(unsigned *ngrants, unsigned *nconns);

/*
 * pstats.c: counters per peer node, kept across its connections; peer.c,
 * peer_msg.c and rseg.c count, control.c formats.
 */
enum pstat_opkind {
	PSO_IMPORT, PSO_LIST, PSO_GET, PSO_PUT, PSO_BARRIER, PSO_FREE,
	PSO_SIGNAL, PSO_ATOMIC, PSO_ALIVE, PSO_MAX
};
#define PSTAT_BUCKETS 26	/* latency: below 2^b us, b < 25; the rest */
struct pstat {
	char     node[SEGP_NODEMAX + 1];	/* "-" before its hello */
	uint64_t sent[SEGP_TYPEMAX], recv[SEGP_TYPEMAX];	/* messages */
	uint64_t connects;	/* connections that became ready */
	uint64_t conn_errors;	/* connections ended by an error */
	uint64_t ops[PSO_MAX], op_errors[PSO_MAX];
	uint64_t amount[PSO_MAX];	/* get, put: bytes; free: addresses */
	uint64_t lat[PSO_MAX][PSTAT_BUCKETS], lat_sum_ns[PSO_MAX];
};
struct pstat *pstat_get(const char *node);
uint64_t pstat_now(void);	/* ns, monotonic */
void pstat_op(const char *node, int op, uint64_t amount, uint64_t start_ns,
    int ok);
double pstat_quantile(const struct pstat *, int op, double q);	/* seconds */
uint64_t pstat_count(const struct pstat *, int op);	/* successful ones */
const char *pstat_op_name(int op);
void pstat_foreach(void (*fn)(const struct pstat *, void *), void *arg);

/*
 * rseg.c: segments of other nodes, the importer's side: import, list,
 * revocation (io, barrier, tickets and locks in rseg_io.c; remote free
 * and signal in rseg_free.c).  The socket's clients (import.c) and the
 * file system's net/ view (fsnet.c) are adapters of it.
 *
 * An import (struct rimp) is reference counted; references are held by
 * each adapter's handle on it (a client's import, a net/ node, an open
 * net/ file) and by each operation in flight on it.  The last rseg_put()
 * sends UNIMPORT.
 */
struct rimp {
	LIST_ENTRY(rimp) entry;
	unsigned      refs;
	struct peer  *peer;	/* held; NULL once the connection was lost */
	char          name[SEG_NAMEMAX + 1];
	char          node[SEGP_NODEMAX + 1];	/* the exporter's node name */
	char          label[128];		/* what the user called it */
	char          lost[SEGW_MAXTEXT];	/* why the connection went */
	uint64_t      id, rva, len, gen;
	uint32_t      rkey, perm;
	uint32_t      eflags;	/* the export's SEGW_EXP_* (0: not sent) */
	int           revoked;
	int           err;	/* first put error since the last barrier */
	char          errmsg[SEGW_MAXTEXT];
	int           direct;	/* the exporter offers a direct data path: */
	uint64_t      grant;
	uint8_t       ticket[SEGP_TICKETLEN];
	uint32_t      drkey;
	char          where[INET6_ADDRSTRLEN + 8];	/* its HOST:PORT */
};
/* a local buffer of an io: len bytes at addr (lkey's region) <-> off */
struct rseg_sge {
	uint64_t off, addr, len;
	uint32_t lkey;
};
typedef void (*rseg_done_cb)(void *arg, const struct segerr *);	/* NULL: ok */
typedef void (*rseg_import_cb)(void *arg, struct rimp *, const struct segerr *);
typedef void (*rseg_list_cb)(void *arg, const char *node,
    const struct segp_ent *, unsigned n, const struct segerr *);
void rseg_init(struct segd *);	/* registers its handler and observer */
void rseg_import(struct segd *, struct peer *, const char *label,
    const char *name, rseg_import_cb, void *arg);	/* imp: one ref */
void rseg_list(struct segd *, struct peer *, const char *label,
    rseg_list_cb, void *arg);
void rseg_hold(struct rimp *);
void rseg_put(struct rimp *);
int  rseg_usable(const struct rimp *, struct segerr *);
int  rseg_was_revoked(const char *node, const char *name);
unsigned rseg_count(unsigned *direct);
/* for rseg_io.c and rseg_free.c: an operation ended (counted under p's
 * node name, else node, else label); a reply that is an error, or not the
 * one expected, into e; the binding an import reply or REBIND names */
void rseg_count_op(const struct peer *, const char *node, const char *label,
    int op, uint64_t amount, uint64_t t0, int ok);
void rseg_reply_error(struct segerr *, uint16_t type, const union segp_msg *,
    const char *label);
void rseg_bind(struct rimp *, const struct segp_import_rep *);

/* rseg_io.c: bytes to and from an import, its tickets, lock operations */
/* SEGW_IO_GET, _PUT or _BARRIER; every check before anything is posted */
int  rseg_io(struct segd *, struct rimp *, int kind, const struct rseg_sge *,
    uint32_t n, rseg_done_cb, void *arg, struct segerr *);
/* a new ticket for the import's direct data path (imp's fields updated) */
int  rseg_ticket(struct rimp *, rseg_done_cb, void *arg, struct segerr *);
/* a CAS or FADD on a word of the import, or ALIVE of a holder id (1/0) */
typedef void (*rseg_word_cb)(void *arg, uint64_t word, const struct segerr *);
int  rseg_atomic(struct segd *, struct rimp *, int kind, uint64_t off,
    uint64_t a, uint64_t b, rseg_word_cb, void *arg, struct segerr *);

/* rseg_free.c: remote free and signal, FREE batches in doubt */
void rseg_free_init(struct segd *);	/* how long a batch stays in doubt */
int  rseg_free(struct rimp *, const uint64_t *addrs, uint32_t n,
    rseg_done_cb, void *arg, struct segerr *);
int  rseg_signal(struct rimp *, rseg_done_cb, void *arg, struct segerr *);

/* zio.c */
int  zio_seg_init(struct segd *, struct segment *, struct segerr *);
void zio_seg_free(struct segment *);
void zio_seg_removed(struct segment *);
int  zio_free_apply(struct segd *, struct segment *, const uint64_t *addrs,
    int n, struct segerr *);
int  zio_free_local(struct segd *, struct segment *, const uint64_t *addrs,
    int n, const struct cred *, struct segerr *);
int  zio_free_take(struct segment *, uint64_t *addrs, int max);
int  zio_free_wait(struct segment *, void (*cb)(void *), void *arg);
void zio_free_unwait(struct segment *, void (*cb)(void *), void *arg);
int  zio_signal(struct segment *, struct segerr *);
int  zio_state_fit(struct segment *);	/* store_fit of the pool state */
/* the socket's requests on zero-copy segments */
void zio_client_gone(struct segd *, struct client *);
void zio_request(struct segd *, struct client *, uint16_t op,
    const struct segw_req *);
void zio_zfree(struct segd *, struct client *, const struct segw_addrs *);

/* rfree.c: remote returns coalesced per owner, over rseg_free() */
typedef void (*rfree_cb)(void *arg, uint32_t tag, const struct segerr *);
int  rfree_add(struct segd *, struct rimp *, uint64_t addr, rfree_cb,
    void *arg, uint32_t tag, struct segerr *);	/* cb: NULL e, applied */

/* zring.c: clients' free rings (proto/zring.h), drained from the loop */
void zring_request(struct segd *, struct client *, uint16_t op,
    const struct segw_req *);
void zring_client_gone(struct client *);

/* zread.c: clients' read rings of a umsg segment's free (proto/zread.h) */
void zread_request(struct segd *, struct client *, const struct segw_req *);
void zread_client_gone(struct client *);

/*
 * client.c: the socket's client connections: framing, the output queue
 * with its descriptors, deferred replies.  Decoded requests go to the
 * handlers control.c registers.
 */
struct client_ops {
	void (*request)(struct client *, uint16_t op, const struct segw_req *);
	void (*io)(struct client *, const struct segw_io *);
	void (*addrs)(struct client *, uint16_t op, const struct segw_addrs *);
	void (*atomic)(struct client *, const struct segw_atomic *);
	void (*gone)(struct client *);
};
int  client_init(struct segd *, const struct client_ops *);
void client_shutdown(struct segd *);
struct segd *client_segd(struct client *);
const struct cred *client_cred(struct client *);
/* per-client state of other modules, made and freed by them */
enum client_slot { CLIENT_ATTACH, CLIENT_IMPORTS, CLIENT_ZRING, CLIENT_ZREAD,
	CLIENT_NSLOTS };
void **client_slot(struct client *, enum client_slot);
void client_reply(struct client *, uint16_t op, const struct segw_info *,
    const char *text, size_t textlen, int fd);	/* status 0 */
void client_reply_raw(struct client *, uint16_t op, const void *, size_t);
void client_reply_err(struct client *, uint16_t op, const struct segerr *);
/*
 * Deferred replies: a request that waits on the network holds a creq; the
 * client is not read from until it is answered.  If the client goes away
 * meanwhile the creq stays valid and its reply is dropped.
 */
struct creq *creq_new(struct client *, uint16_t op);
struct client *creq_client(struct creq *);	/* NULL if it went away */
void creq_reply(struct creq *, const struct segw_info *, const char *text,
    size_t textlen, int fd);		/* status 0; frees the creq */
void creq_reply_raw(struct creq *, const void *p, size_t n);
void creq_stream(struct creq *, uint16_t op, const struct segw_info *,
    const char *text, size_t textlen);	/* one more frame, keeps creq */
void creq_fail(struct creq *, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));	/* frees the creq */
void creq_fail_err(struct creq *, const struct segerr *);
void creq_end(struct creq *);	/* answered by creq_stream: frees it */

/*
 * import.c: imports held by the socket's clients, over rseg.c: the
 * requests IMPORT, UNIMPORT, PEERLS, IO, RFREE, RSIGNAL and BOUNCE.
 */
void import_request(struct segd *, struct client *, uint16_t op,
    const struct segw_req *);
void import_io(struct segd *, struct client *, const struct segw_io *);
void import_rfree(struct segd *, struct client *, const struct segw_addrs *);
/* the import a client's handle names (not held); NULL with e */
struct rimp *import_rimp(struct client *, uint64_t handle, struct segerr *);
void import_atomic(struct segd *, struct client *, const struct segw_atomic *);
void import_client_gone(struct segd *, struct client *);

/* share.c: the socket's fair shares per uid (struct client_limits) */
struct share;
int  share_init(struct segd *);
void share_shutdown(void);
struct share *share_join(const struct cred *);	/* NULL: refused (logged) */
void share_leave(struct share *);
void share_out(struct share *, int64_t bytes);	/* reply bytes queued, sent */
void share_fd(struct share *, int n);		/* descriptors queued, sent */
void share_freed(size_t bytes);			/* buffers freed: trim later */
int  share_full(const struct share *);		/* read no more of its uid */

/*
 * backing.c: segments' backing files as clients may leave them: checked
 * (and restored) before segd touches their memory, and watched.
 */
int  backing_check(struct segd *, struct segment *);	/* -1: errno */
int  backing_watch(struct segd *);
void backing_unwatch(void);

/* control.c: the socket's requests, one handler per operation */
int  control_init(struct segd *);
void control_shutdown(struct segd *);

/* fs.c: the file system on -m MOUNTPOINT */
int  fs_init(struct segd *, const char *mountpoint);
/* after the peers are closed (every operation answered), before ns_shutdown() */
void fs_shutdown(struct segd *);

#endif
