/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * segwire.h: wire messages and their limits.
 *
 * Local protocol: libseg <-> segd over a UNIX stream socket.  Every message
 * is a frame: an 8-byte header followed by `len` payload bytes.  All fields
 * are little-endian and fixed width; they are converted to host order once,
 * by the decode/encode functions below, and nowhere else.
 *
 *   request:  hdr{len, op, status=0}  segw_req  [text]
 *   reply:    hdr{len, op, status}    segw_info [text]      (status 0)
 *             hdr{len, op, status}    text                  (status errno)
 *
 * A reply carrying a file descriptor (OPEN, ATTACH) passes it with
 * SCM_RIGHTS on the first byte of its frame.
 *
 * A client's first request is HELLO with the protocol version it speaks;
 * segd answers with its own, or with an error naming both when it does not
 * speak the client's.  Anything else first is answered with that error too.
 * Version 1 (no HELLO) was the first release's; version 4 added the
 * export's flags (EXPORT's arg, segw_imp_wire's eflags).
 */
#ifndef SEGWIRE_H
#define SEGWIRE_H

#include <stddef.h>
#include <stdint.h>

#define SEG_NAMEMAX      64          /* bytes in a segment name */
#define SEGW_HDRLEN      8
#define SEGW_MAXTEXT     256         /* ctl messages, error strings */
#define SEGW_MAXPAYLOAD  65536       /* no local frame is larger */
#ifndef SEGW_VERSION
#define SEGW_VERSION     5           /* the local protocol's version */
#endif
#define SEGW_VERSION_MIN 4           /* the oldest segd serves */

enum segw_op {
	SEGW_CREATE = 1,   /* name, arg=mode */
	SEGW_CTL,          /* name, text=ctl message */
	SEGW_CTLREAD,      /* name -> text */
	SEGW_OPEN,         /* name, arg=SEGW_RD|SEGW_WR -> info + fd */
	SEGW_REMOVE,       /* name */
	SEGW_ATTACH,       /* name, arg=attr -> info + fd */
	SEGW_DETACH,       /* a=va */
	SEGW_LIST,         /* -> LISTENT* LISTEND */
	SEGW_STAT,         /* name -> info */
	SEGW_LISTENT,      /* reply only */
	SEGW_LISTEND,      /* reply only */
	SEGW_EXPORT,       /* name, arg=SEGW_EXP_* flags, text=ACL */
	SEGW_UNEXPORT,     /* name */
	SEGW_IMPORT,       /* name, text="ADDR PORT NODE" -> segw_imp */
	SEGW_UNIMPORT,     /* a=handle */
	SEGW_IO,           /* segw_io + segw_iov[n] -> info(len = bytes moved) */
	SEGW_BOUNCE,       /* -> info(len=size) + fd of the bounce region */
	SEGW_PEERLS,       /* text="ADDR PORT NODE" -> LISTENT* LISTEND */
	SEGW_PEERS,        /* -> LISTENT(text line)* LISTEND */
	SEGW_STATS,        /* -> info + text "key value" lines */
	SEGW_ZALLOC,       /* name, b=len -> info(va=addr, len=size): kmsg */
	SEGW_ZPOOL,        /* name -> info + fd of the umsg pool's state */
	SEGW_FREEREAD,     /* name, arg=max -> le64 addresses (segw_u64s; never waits) */
	SEGW_FREEFD,       /* name -> fd, readable while addresses wait */
	SEGW_SIGFD,        /* name -> fd (eventfd) counting signals */
	SEGW_HELLO,        /* arg=version -> segw_version_wire */
	SEGW_ZFREE,        /* segw_addrs(handle 0): return local buffers */
	SEGW_RFREE,        /* segw_addrs: return an import's buffers */
	SEGW_RSIGNAL,      /* a=import handle: post a signal to its exporter */
	SEGW_TICKET,       /* a=import handle -> segw_imp with a new ticket */
	SEGW_METRICS,      /* -> LISTENT(text line)* LISTEND: Prometheus text */
	SEGW_REBIND,       /* name, a=va, b=len: bind the export there */
	SEGW_IMPINFO,      /* a=import handle -> segw_imp as segd knows it now */
	SEGW_ZRING,        /* arg=SEGW_ZRING_* -> fd: the free ring */
	SEGW_ATOMIC,       /* segw_atomic -> info(va = the result) */
	SEGW_ZREAD,        /* name, arg=SEGW_ZREAD_* -> fd, or info: a read ring */
	SEGW_OPMAX
};

/* requests whose segw_req may carry text */
#define SEGW_OP_HAS_TEXT(op) ((op) == SEGW_CTL || (op) == SEGW_EXPORT || \
	(op) == SEGW_IMPORT || (op) == SEGW_PEERLS)

/* SEGW_ZRING's arg: which descriptor of the client's free ring (zring.h) */
#define SEGW_ZRING_MEM  0	/* the ring's sealed memfd */
#define SEGW_ZRING_KICK 1	/* the eventfd that wakes segd to drain it */
#define SEGW_ZRING_DONE 2	/* the eventfd segd writes: async outcomes */

/* SEGW_ZREAD's arg: a descriptor of the client's read ring of the segment
 * (zread.h), or a fill of it from the segment's free (info.len = entries) */
#define SEGW_ZREAD_MEM  0	/* the ring's sealed memfd */
#define SEGW_ZREAD_KICK 1	/* the eventfd segd writes when it was empty */
#define SEGW_ZREAD_FILL 2	/* fill it now, and again as addresses return */

#define SEGW_RD 4
#define SEGW_WR 2

/* an export's flags, shared with seg.h's SEG_ALLOW_REBIND, ... */
#define SEGW_EXP_REBIND   0x1	/* seg_rebind may move it */
#define SEGW_EXP_DONTWAIT 0x2	/* fail EAGAIN rather than fault pages in */
#define SEGW_EXP_LOCKOPS  0x4	/* importers may use RDMA atomics on it */
#define SEGW_EXP_ALL      0x7
/* a peer's listing (SEGW_PEERLS): segw_info's mode is the access (4, 6)
 * with the export's flags above it (seg.h's SEG_PEER_FLAGS) */
#define SEGW_EXP_MODESHIFT 12

/* attr bits, shared with seg.h */
#define SEGW_ATTR_RONLY 0x1
#define SEGW_ATTR_CEXEC 0x2

/* segment kinds: how the address was set */
enum seg_verb { SEG_VERB_NONE = 0, SEG_VERB_VA, SEG_VERB_ADDR, SEG_VERB_UMSG,
	SEG_VERB_KMSG, SEG_VERB_MAX };

/* on the wire: 88 bytes */
struct segw_req_wire {
	uint8_t  name[SEG_NAMEMAX];
	uint16_t namelen;
	uint16_t pad;
	uint32_t arg;
	uint64_t a;
	uint64_t b;
} __attribute__((packed));

/* on the wire: 104 bytes */
struct segw_info_wire {
	uint8_t  name[SEG_NAMEMAX];
	uint16_t namelen;
	uint8_t  verb;
	uint8_t  flags;
	uint32_t mode;
	uint32_t uid;
	uint32_t gid;
	uint32_t nattach;
	uint32_t pad;
	uint64_t va;
	uint64_t len;
} __attribute__((packed));

/* SEGW_IMPORT reply body: 48 bytes */
struct segw_imp_wire {
	uint64_t handle;
	uint64_t len;
	uint64_t rva;
	uint32_t rkey;
	uint32_t perm;	/* SEGW_RD | SEGW_WR */
	uint64_t gen;
	uint32_t eflags;	/* the export's SEGW_EXP_* */
	uint32_t pad;
} __attribute__((packed));

/* SEGW_IO request: 24 bytes, then n segw_iov_wire */
enum segw_io_kind { SEGW_IO_GET = 1, SEGW_IO_PUT, SEGW_IO_BARRIER,
	SEGW_IO_KINDMAX };
#define SEGW_IO_BOUNCE 0x1	/* va is an offset into the bounce region */
#define SEGW_IO_MAXN   2048	/* entries in one SEGW_IO frame */

struct segw_io_wire {
	uint64_t handle;
	uint16_t kind;
	uint16_t flags;
	uint32_t n;
	uint64_t pad;
} __attribute__((packed));

/*
 * SEGW_ATOMIC request: 40 bytes.  CAS and FADD act on the 8-byte word at
 * off of the import (a, b: expect and desired; a: the addend) and answer
 * the word's old value; HOLDER answers the import's holder id for locks
 * (the exporter's id of the import); ALIVE asks the exporter whether the
 * import of holder id a still exists there (answer 1) or not (0).
 */
enum segw_atomic_kind { SEGW_AT_CAS = 1, SEGW_AT_FADD, SEGW_AT_HOLDER,
	SEGW_AT_ALIVE, SEGW_AT_KINDMAX };
struct segw_atomic_wire {
	uint64_t handle;
	uint16_t kind;
	uint16_t pad;
	uint32_t pad2;
	uint64_t off;
	uint64_t a;
	uint64_t b;
} __attribute__((packed));

/* SEGW_ZFREE, SEGW_RFREE request: 16 bytes, then n le64 addresses */
#define SEGW_ADDRS_MAX 500	/* addresses in one request: SEGP_FREE_MAX */
struct segw_addrs_wire {
	uint64_t handle;	/* 0 for ZFREE, the import for RFREE */
	uint32_t n;
	uint32_t pad;
} __attribute__((packed));

/* SEGW_HELLO reply: 8 bytes */
struct segw_version_wire {
	uint32_t version;
	uint32_t pad;
} __attribute__((packed));

struct segw_iov_wire {
	uint64_t off;	/* in the imported segment */
	uint64_t va;	/* local address (or bounce offset) */
	uint64_t len;
} __attribute__((packed));

/* host-order views */
struct segw_addrs {
	uint64_t handle;
	uint32_t n;		/* 1..SEGW_ADDRS_MAX */
	uint64_t addrs[SEGW_ADDRS_MAX];
};

struct segw_hdr {
	uint32_t len;
	uint16_t op;
	uint16_t status;
};

struct segw_req {
	char     name[SEG_NAMEMAX + 1];
	uint32_t arg;
	uint64_t a, b;
	char     text[SEGW_MAXTEXT + 1];
	size_t   textlen;
};

#define SEGW_INFO_REMOVED 0x1

struct segw_info {
	char     name[SEG_NAMEMAX + 1];
	uint8_t  verb;
	uint8_t  flags;
	uint32_t mode, uid, gid, nattach;
	uint64_t va, len;
};

/*
 * An import's direct data path (version 3): after segw_imp_wire when the
 * exporter offers one.  The importing process connects its own queue pair
 * to ADDR:PORT with the ticket in the connect's private data, and reaches
 * the segment with drkey.
 */
#define SEGP_TICKETLEN 16
#define SEGW_ADDRLEN   48
struct segw_direct_wire {	/* 88 bytes */
	uint64_t grant;
	uint8_t  ticket[SEGP_TICKETLEN];
	uint32_t drkey;
	uint32_t deadline_ms;
	uint16_t port;
	uint16_t addrlen;
	uint32_t pad;
	uint8_t  addr[SEGW_ADDRLEN];
} __attribute__((packed));

struct segw_imp {
	uint64_t handle, len, rva, gen;
	uint32_t rkey, perm;
	uint32_t eflags;		/* SEGW_EXP_* of the export */
	int      direct;		/* the fields below are set */
	uint64_t grant;
	uint8_t  ticket[SEGP_TICKETLEN];
	uint32_t drkey, deadline_ms;
	uint16_t port;
	char     addr[SEGW_ADDRLEN];	/* a numeric address */
};

struct segw_iov {
	uint64_t off, va, len;
};

struct segw_atomic {
	uint64_t handle;
	uint16_t kind;		/* a segw_atomic_kind */
	uint64_t off, a, b;
};

struct segw_io {
	uint64_t handle;
	uint16_t kind, flags;
	uint32_t n;
	struct segw_iov *iov;	/* n entries, decoded into caller's array */
};

/*
 * Peer protocol: segd <-> segd, as RDMA SENDs on one reliable-connected
 * queue pair per pair of nodes.  Every message fits one receive buffer of
 * SEGP_MSGSIZE bytes: a 16-byte header, then exactly `len` payload bytes
 * (the receive completion's byte count must equal 16 + len).  Each side
 * pre-posts SEGP_CREDITS receive buffers; a sender spends one credit per
 * message and the receiver hands credits back in `credits` of any message
 * (or a CREDIT message) as it re-posts buffers.  The first message each
 * way is HELLO, carrying the lowest and highest protocol versions the
 * sender speaks; the connection uses the highest version both speak, and
 * a peer with no version in common, or anything malformed, is dropped.
 *
 * Versions: 1, HELLO's first field is the one version spoken (and the
 * field after the node length is zero); 2, that field is the lowest and
 * the other the highest version spoken, and LIST's cursor is an export's
 * sequence number (stable while exports come and go), not a position;
 * 3, IMPORT_REP carries a ticket for the direct data path, TICKET asks
 * for a new one, and LIST_REP's entries carry the exporter's address of
 * the segment (segp_ent3_wire, 88 bytes, where version 2 sends
 * segp_ent_wire).  A peer whose HELLO has SEGP_CAP_EFLAGS in caps reads
 * IMPORT_REP's export flags (segp_eflags_wire, after the ticket if any);
 * one with SEGP_CAP_REBIND understands REBIND (an IMPORT_REP's payload,
 * unasked: the import's new binding), which others never get; one
 * with SEGP_CAP_ALIVE answers ALIVE (whether an import of the same
 * export still exists: a dead lock holder's lock may then be broken).
 * Since version 2 every rdma_cm connect carries private
 * data (segp_connect_wire): a connect without it is refused, so version 1
 * segds (which sent none) cannot connect.
 */
#ifndef SEGP_VERSION_MIN
#define SEGP_VERSION_MIN 2	/* the oldest version this build speaks */
#endif
#ifndef SEGP_VERSION_MAX
#define SEGP_VERSION_MAX 3	/* the newest; -DSEGP_VERSION_MAX=2 builds an old one */
#endif
#define SEGP_PORT      7450	/* default rdma_cm port */
#define SEGP_MSGSIZE   4096
#define SEGP_CREDITS   32
#define SEGP_HDRLEN    16
#define SEGP_NODEMAX   64
#define SEGP_LIST_MAX  48	/* entries in one LIST_REP */
#define SEGP_LIST3_MAX 46	/* ... of entries with addresses (version 3) */
#define SEGP_FREE_MAX  500	/* addresses in one FREE */
#define SEGP_PAYLOADMAX (SEGP_MSGSIZE - SEGP_HDRLEN)

/* HELLO's caps: what a peer understands beyond its version */
#define SEGP_CAP_EFLAGS 0x1	/* IMPORT_REP's export flags */
#define SEGP_CAP_REBIND 0x2	/* REBIND */
#define SEGP_CAP_ALIVE  0x4	/* answers ALIVE */

enum segp_type {
	SEGP_HELLO = 1,     /* segp_hello */
	SEGP_CREDIT,        /* no payload */
	SEGP_LIST,          /* segp_list_wire: cursor */
	SEGP_LIST_REP,      /* segp_list_rep: next cursor, n entries */
	SEGP_IMPORT,        /* segp_name_wire */
	SEGP_IMPORT_REP,    /* segp_import_rep */
	SEGP_UNIMPORT,      /* segp_id_wire */
	SEGP_REVOKE,        /* segp_id_wire: exporter -> importer */
	SEGP_ERROR,         /* segp_error: errno value and text */
	SEGP_FREE,          /* segp_free: import id, n addresses */
	SEGP_SIGNAL,        /* segp_id_wire */
	SEGP_ACK,           /* no payload: a FREE or SIGNAL was applied */
	SEGP_TICKET,        /* segp_id_wire: a new ticket -> IMPORT_REP (3) */
	SEGP_REBIND,        /* segp_import_rep: exporter -> importer, the
	                     * import's new binding (SEGP_CAP_REBIND only) */
	SEGP_ALIVE,         /* segp_alive_wire -> ACK, or ERROR ESRCH: gone */
	SEGP_AUTH,          /* segp_auth_wire: proof of the cluster key (keyed) */
	SEGP_TYPEMAX
};

/* IMPORT_REP to a peer with SEGP_CAP_EFLAGS: this comes last */
struct segp_eflags_wire {	/* 8 bytes */
	uint32_t eflags;	/* SEGW_EXP_* */
	uint32_t pad;
} __attribute__((packed));

/* on the wire, little-endian */
struct segp_hdr_wire {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t credits;
	uint32_t tag;	/* a reply carries its request's tag */
} __attribute__((packed));

struct segp_hello_wire {	/* 80 bytes */
	uint32_t vmin;	/* version 1: the one version spoken */
	uint32_t caps;
	uint16_t port;	/* where the sender listens */
	uint16_t nodelen;
	uint32_t vmax;	/* version 1: 0 */
	uint8_t  node[SEGP_NODEMAX];
} __attribute__((packed));

struct segp_name_wire {		/* 72 bytes */
	uint16_t namelen;
	uint16_t pad[3];
	uint8_t  name[SEG_NAMEMAX];
} __attribute__((packed));

struct segp_list_wire {		/* 8 bytes */
	uint32_t cursor;
	uint32_t pad;
} __attribute__((packed));

struct segp_list_rep_wire {	/* 8 bytes, then n segp_ent_wire */
	uint32_t next;	/* cursor of the next page; 0 at the end */
	uint32_t n;
} __attribute__((packed));

struct segp_ent_wire {		/* 80 bytes: versions 1 and 2 */
	uint16_t namelen;
	uint8_t  perm;
	uint8_t  verb;
	uint32_t eflags;	/* the export's SEGW_EXP_*; was a zero pad, which
				 * older decoders ignore */
	uint64_t len;
	uint8_t  name[SEG_NAMEMAX];
} __attribute__((packed));

struct segp_ent3_wire {		/* 88 bytes: version 3 on */
	struct segp_ent_wire e;
	uint64_t va;	/* the segment's address at the exporter */
} __attribute__((packed));

struct segp_import_rep_wire {	/* 40 bytes */
	uint64_t id;	/* exporter's import id, for UNIMPORT and REVOKE */
	uint64_t va;
	uint64_t len;
	uint64_t gen;
	uint32_t rkey;
	uint32_t perm;
} __attribute__((packed));

/* IMPORT_REP of version 3 with a direct data path: this follows */
struct segp_ticket_wire {	/* 32 bytes */
	uint64_t grant;		/* the exporter's grant: the import id */
	uint8_t  ticket[SEGP_TICKETLEN];
	uint32_t drkey;		/* the grant's own region, for data connections */
	uint32_t pad;
} __attribute__((packed));

/*
 * The private data of every rdma_cm connect to segd's port (at most 56
 * bytes there): a segd's control connection, or a process's data
 * connection with its ticket.  A connect without one is refused.
 */
#define SEGP_CONNECT_CTRL 0x43474553u	/* "SEGC" */
#define SEGP_CONNECT_DATA 0x44474553u	/* "SEGD" */
#define SEGP_CONNECT_MAX  56
struct segp_connect_wire {	/* 32 bytes */
	uint32_t magic;
	uint16_t vmin, vmax;	/* data: the version of the data path, twice */
	uint64_t grant;		/* data only */
	uint8_t  ticket[SEGP_TICKETLEN];	/* data only */
} __attribute__((packed));

/*
 * Keyed peers (segd -k KEYFILE, every segd of the cluster holding the same
 * key).  The keyed handshake is not a protocol version: its connect says
 * SEGP_CONNECT_AUTH, and a keyed segd takes only that for a control
 * connection, an unkeyed one never, so a keyed and an unkeyed segd refuse
 * each other at connect; HELLO's versions keep their meaning.
 *
 *   connect   segp_connect_auth_wire: versions, the connecting side's nonce
 *             and a tag, HMAC-SHA256(key, segp_connect_macin()) cut to
 *             SEGP_TAGLEN bytes, over those fields and the address and port
 *             it connects to.  A bad tag is refused with rdma_reject.
 *   accept    segp_accept_wire: the accepting side's nonce.
 *   AUTH      after both HELLOs, each side sends AUTH, whose proof is
 *             HMAC-SHA256(key, segp_proof_macin()) over its role, both
 *             nonces, both node names (its own first) and both addresses.
 *             Until the other side's proof checks, nothing but HELLO, AUTH
 *             and CREDIT is taken from it; a bad one closes the connection.
 * A replayed connect passes its step (its tag is good) and fails AUTH, whose
 * proof covers the accepting side's fresh nonce.
 */
#define SEGP_CONNECT_AUTH 0x41474553u	/* "SEGA" */
#define SEGP_NONCELEN     16
#define SEGP_TAGLEN       16		/* HMAC-SHA256, cut to 128 bits */
#define SEGP_PROOFLEN     32		/* HMAC-SHA256 */
#define SEGP_ROLE_CONNECT 1		/* the proof's maker connected */
#define SEGP_ROLE_ACCEPT  2		/* ... or accepted */
struct segp_connect_auth_wire {	/* 40 bytes */
	uint32_t magic;		/* SEGP_CONNECT_AUTH */
	uint16_t vmin, vmax;
	uint8_t  nonce[SEGP_NONCELEN];
	uint8_t  tag[SEGP_TAGLEN];
} __attribute__((packed));

struct segp_accept_wire {	/* 24 bytes: the accept's private data */
	uint32_t magic;		/* SEGP_CONNECT_AUTH */
	uint32_t pad;
	uint8_t  nonce[SEGP_NONCELEN];
} __attribute__((packed));

struct segp_auth_wire {		/* 32 bytes */
	uint8_t  proof[SEGP_PROOFLEN];
} __attribute__((packed));

/* the bytes a MAC covers: fixed layouts, little-endian */
#define SEGP_CONNECT_MACIN 58	/* label 16, magic..nonce 24, addr 16, port 2 */
#define SEGP_PROOF_MACIN   211	/* label 16, role 1, nonces 32, nodes 2 * 65,
				 * addresses 2 * 16 */

struct segp_id_wire {		/* 8 bytes */
	uint64_t id;
} __attribute__((packed));

/* ALIVE: does import holder of the export import id names still exist? */
struct segp_alive_wire {	/* 16 bytes */
	uint64_t id;		/* the asker's import */
	uint64_t holder;	/* an import id read from a lock word */
} __attribute__((packed));

struct segp_free_wire {		/* 16 bytes, then n le64 addresses */
	uint64_t id;	/* the import */
	uint32_t n;
	uint32_t seq;	/* the sender's batch number; 0: none (an older segd) */
} __attribute__((packed));

struct segp_error_wire {	/* 8 bytes, then textlen bytes */
	uint32_t code;	/* errno value */
	uint32_t textlen;
} __attribute__((packed));

/* host-order views, each checked when decoded */
struct segp_hdr {
	uint16_t type, flags;
	uint32_t len, credits, tag;
};

struct segp_hello {
	uint32_t vmin, vmax;	/* 1 <= vmin <= vmax */
	uint32_t caps;
	uint16_t port;		/* 0: the sender does not listen */
	char     node[SEGP_NODEMAX + 1];	/* seg_node_valid */
};

struct segp_ent {
	char     name[SEG_NAMEMAX + 1];	/* seg_name_valid */
	uint64_t va;		/* 0: not sent (versions 1, 2); no wrap */
	uint64_t len;
	uint8_t  perm;		/* SEGW_RD, or SEGW_RD | SEGW_WR */
	uint8_t  verb;		/* a seg_verb, not SEG_VERB_NONE */
	uint32_t eflags;	/* SEGW_EXP_* (0 from older exporters) */
};

struct segp_list_rep {
	uint32_t        next;
	uint32_t        n;	/* at most SEGP_LIST_MAX, SEGP_LIST3_MAX withva */
	/*
	 * The entries' form: 1, with their addresses (version 3 on); 0, as
	 * versions 1 and 2 (va not sent).  The encoder writes the one asked;
	 * the decoder tells from the length which came (for n > 0).
	 */
	uint8_t         withva;
	struct segp_ent ent[SEGP_LIST_MAX];
};

struct segp_import_rep {
	uint64_t id, va, len, gen;	/* len > 0, va + len does not wrap */
	uint32_t rkey, perm;		/* perm as in segp_ent */
	int      direct;		/* version 3: a ticket follows */
	uint64_t grant;
	uint8_t  ticket[SEGP_TICKETLEN];
	uint32_t drkey;
	int      witheflags;		/* SEGP_CAP_EFLAGS: eflags follow */
	uint32_t eflags;		/* SEGW_EXP_*; 0 when not sent */
};

struct segp_connect {
	uint32_t magic;			/* SEGP_CONNECT_CTRL, _DATA or _AUTH */
	uint16_t vmin, vmax;		/* 1 <= vmin <= vmax */
	uint64_t grant;			/* _DATA */
	uint8_t  ticket[SEGP_TICKETLEN];	/* _DATA */
	uint8_t  nonce[SEGP_NONCELEN];	/* _AUTH */
	uint8_t  tag[SEGP_TAGLEN];	/* _AUTH */
};

/* What an AUTH proof covers: addresses as IPv6 (IPv4 mapped). */
struct segp_proof_in {
	uint8_t role;			/* SEGP_ROLE_*: the prover's */
	uint8_t cnonce[SEGP_NONCELEN];	/* the connecting side's */
	uint8_t snonce[SEGP_NONCELEN];	/* the accepting side's */
	char    prover[SEGP_NODEMAX + 1], verifier[SEGP_NODEMAX + 1];
	uint8_t paddr[16], vaddr[16];
};

struct segp_error {
	uint32_t code;			/* 1..4095 */
	char     text[SEGW_MAXTEXT + 1];	/* at most SEGW_MAXTEXT bytes */
};

struct segp_alive {
	uint64_t id, holder;
};

struct segp_free {
	uint64_t id;
	uint32_t n;			/* 1..SEGP_FREE_MAX */
	uint32_t seq;			/* 0: none; a retry keeps its batch's */
	uint64_t addrs[SEGP_FREE_MAX];
};

/* One decoded message: the member its type names (none for CREDIT, ACK). */
union segp_msg {
	struct segp_hello      hello;		/* HELLO */
	uint32_t               cursor;		/* LIST */
	struct segp_list_rep   list_rep;	/* LIST_REP */
	char                   name[SEG_NAMEMAX + 1];	/* IMPORT */
	struct segp_import_rep import_rep;	/* IMPORT_REP, REBIND */
	uint64_t               id;		/* UNIMPORT, REVOKE, SIGNAL, TICKET */
	struct segp_error      error;		/* ERROR */
	struct segp_free       free;		/* FREE */
	struct segp_alive      alive;		/* ALIVE */
	uint8_t                proof[SEGP_PROOFLEN];	/* AUTH */
};

void segp_hdr_encode(uint8_t out[SEGP_HDRLEN], const struct segp_hdr *);
/* Checks the header against the received byte count; -1 with *why. */
int  segp_hdr_decode(const uint8_t *buf, size_t got, struct segp_hdr *,
    const char **why);
/*
 * A message's payload: the bytes for type from m (m unused for CREDIT and
 * ACK), at most size; returns the length, or 0 with nothing written when
 * m does not satisfy the checks of its decoder (so a sender cannot put on
 * the wire what a receiver would refuse) or it does not fit.
 */
size_t segp_msg_encode(uint8_t *out, size_t size, uint16_t type,
    const union segp_msg *m);
/* A payload of len bytes of type, checked exactly; -1 with *why. */
int  segp_msg_decode(uint16_t type, const uint8_t *p, size_t len,
    union segp_msg *m, const char **why);
/* A connect's private data (got bytes, zero-padded by rdma_cm); -1, *why. */
size_t segp_connect_encode(uint8_t *out, size_t size, const struct segp_connect *);
int  segp_connect_decode(const uint8_t *p, size_t got, struct segp_connect *,
    const char **why);
/*
 * The accept's private data of a keyed connection (got bytes, zero-padded
 * by rdma_cm): its nonce; -1 with *why.
 */
size_t segp_accept_encode(uint8_t *out, size_t size,
    const uint8_t nonce[SEGP_NONCELEN]);
int  segp_accept_decode(const uint8_t *p, size_t got,
    uint8_t nonce[SEGP_NONCELEN], const char **why);
/* The bytes a connect's tag covers (c's magic SEGP_CONNECT_AUTH). */
void segp_connect_macin(uint8_t out[SEGP_CONNECT_MACIN],
    const struct segp_connect *c, const uint8_t addr[16], uint16_t port);
/* The bytes an AUTH proof covers; -1 if a node name is not valid. */
int  segp_proof_macin(uint8_t out[SEGP_PROOF_MACIN],
    const struct segp_proof_in *);
/* The highest version both ranges hold, or 0 when they share none. */
uint32_t segp_version_pick(uint32_t amin, uint32_t amax, uint32_t bmin,
    uint32_t bmax);

/* frame header */
void segw_hdr_encode(uint8_t out[SEGW_HDRLEN], const struct segw_hdr *);
/*
 * Parse a header from buf (avail bytes).  Returns 0 when more bytes are
 * needed, the whole frame's size when the header is valid, -1 with *why set
 * when it can never be valid.
 */
long segw_hdr_parse(const uint8_t *buf, size_t avail, struct segw_hdr *,
    const char **why);

/* request body; text is for SEGW_CTL only */
size_t segw_req_encode(uint8_t *out, size_t size, const struct segw_req *);
int    segw_req_decode(uint16_t op, const uint8_t *p, size_t len,
    struct segw_req *, const char **why);

size_t segw_info_encode(uint8_t *out, size_t size, const struct segw_info *,
    const char *text, size_t textlen);
int    segw_info_decode(const uint8_t *p, size_t len, struct segw_info *,
    const char **text, size_t *textlen, const char **why);

size_t segw_imp_encode(uint8_t *out, size_t size, const struct segw_imp *);
int    segw_imp_decode(const uint8_t *p, size_t len, struct segw_imp *);

/* io: iov must hold SEGW_IO_MAXN entries when decoding */
size_t segw_io_encode(uint8_t *out, size_t size, const struct segw_io *);
int    segw_io_decode(const uint8_t *p, size_t len, struct segw_io *,
    const char **why);

size_t segw_atomic_encode(uint8_t *out, size_t size, const struct segw_atomic *);
int    segw_atomic_decode(const uint8_t *p, size_t len, struct segw_atomic *,
    const char **why);

size_t segw_addrs_encode(uint8_t *out, size_t size, const struct segw_addrs *);
int    segw_addrs_decode(const uint8_t *p, size_t len, struct segw_addrs *,
    const char **why);

/* SEGW_FREEREAD reply: n le64 addresses, in place (at most max) */
#define SEGW_FREEREAD_MAX (SEGW_MAXPAYLOAD / 8)
size_t segw_u64s_encode(uint64_t *v, size_t n);	/* bytes */
int    segw_u64s_decode(uint64_t *v, size_t len, size_t max, size_t *n);
/* The fixed head (size bytes) of a message of len bytes at p into w; -1
 * with *why = what if the message is shorter. */
int    segw_head(void *w, size_t size, const uint8_t *p, size_t len,
    const char **why, const char *what);
/* n host-order values to n le64 at out (unaligned); the bytes written.  And
 * back: n le64 at p into v. */
size_t segw_le64s_put(uint8_t *out, const uint64_t *v, size_t n);
void   segw_le64s_get(uint64_t *v, const uint8_t *p, size_t n);

size_t segw_version_encode(uint8_t *out, size_t size, uint32_t version);
int    segw_version_decode(const uint8_t *p, size_t len, uint32_t *version);

const char *segw_verb_name(unsigned verb);
const char *segp_type_name(uint16_t type);	/* "import", ...; "?" */

/* shared helpers: the one place names, numbers and addresses are checked */
int  seg_name_valid(const char *name);		/* segment names */
int  seg_node_valid(const char *node);		/* node names */
/*
 * "ADDR", "ADDR:PORT" or "[V6]:PORT" into host (hsize bytes) and port
 * (defport without one); -1 with *why.
 */
int  seg_parse_hostport(const char *s, char *host, size_t hsize,
    uint16_t *port, uint16_t defport, const char **why);
int  seg_parse_u64(const char *s, size_t len, uint64_t *out);
int  seg_default_socket(char *buf, size_t size);
struct sockaddr;
/* an address as 16 bytes (IPv4 mapped) and its port (0 if neither family) */
void seg_addr16(const struct sockaddr *, uint8_t out[16], uint16_t *port);
/* the monotonic clock, both sides' deadlines and ages */
long long seg_now_us(void);
long long seg_now_ms(void);

#endif
