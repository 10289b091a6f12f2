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
 */
#ifndef SEGWIRE_H
#define SEGWIRE_H

#include <stddef.h>
#include <stdint.h>

#define SEG_NAMEMAX      64          /* bytes in a segment name */
#define SEGW_HDRLEN      8
#define SEGW_MAXTEXT     256         /* ctl messages, error strings */
#define SEGW_MAXPAYLOAD  65536       /* no local frame is larger */

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
	SEGW_EXPORT,       /* name, text=ACL */
	SEGW_UNEXPORT,     /* name */
	SEGW_IMPORT,       /* name, text="ADDR PORT NODE" -> segw_imp */
	SEGW_UNIMPORT,     /* a=handle */
	SEGW_IO,           /* segw_io + segw_iov[n] -> segw_iodone */
	SEGW_BOUNCE,       /* -> info(len=size) + fd of the bounce region */
	SEGW_PEERLS,       /* text="ADDR PORT NODE" -> LISTENT* LISTEND */
	SEGW_PEERS,        /* -> LISTENT(text line)* LISTEND */
	SEGW_STATS,        /* -> info + text "key value" lines */
	SEGW_ZALLOC,       /* name, b=len -> info(va=addr, len=size): kmsg */
	SEGW_ZPOOL,        /* name -> info + fd of the umsg pool's state */
	SEGW_FREEREAD,     /* name, arg=max -> le64 addresses (never waits) */
	SEGW_FREEFD,       /* name -> fd, readable while addresses wait */
	SEGW_SIGFD,        /* name -> fd (eventfd) counting signals */
	SEGW_OPMAX
};

/* requests whose segw_req may carry text */
#define SEGW_OP_HAS_TEXT(op) ((op) == SEGW_CTL || (op) == SEGW_EXPORT || \
	(op) == SEGW_IMPORT || (op) == SEGW_PEERLS)

#define SEGW_RD 4
#define SEGW_WR 2

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

/* SEGW_IMPORT reply body: 40 bytes */
struct segw_imp_wire {
	uint64_t handle;
	uint64_t len;
	uint64_t rva;
	uint32_t rkey;
	uint32_t perm;	/* SEGW_RD | SEGW_WR */
	uint64_t gen;
} __attribute__((packed));

/* SEGW_IO request: 24 bytes, then n segw_iov_wire */
/*
 * FREE: return buffers, iov[i].va the address (off, len 0); handle 0 means
 * the local segment holding the address, else an import (remote free).
 * SIGNAL: post a signal to an import's exporter (n 0).
 */
enum segw_io_kind { SEGW_IO_GET = 1, SEGW_IO_PUT, SEGW_IO_BARRIER,
	SEGW_IO_FREE, SEGW_IO_SIGNAL };
#define SEGW_IO_BOUNCE 0x1	/* va is an offset into the bounce region */
#define SEGW_IO_MAXN   2048	/* entries in one SEGW_IO frame */

struct segw_io_wire {
	uint64_t handle;
	uint16_t kind;
	uint16_t flags;
	uint32_t n;
	uint64_t pad;
} __attribute__((packed));

struct segw_iov_wire {
	uint64_t off;	/* in the imported segment */
	uint64_t va;	/* local address (or bounce offset) */
	uint64_t len;
} __attribute__((packed));

/* host-order views */
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

struct segw_imp {
	uint64_t handle, len, rva, gen;
	uint32_t rkey, perm;
};

struct segw_iov {
	uint64_t off, va, len;
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
 * way is HELLO; a wrong version or anything malformed drops the connection.
 */
#define SEGP_VERSION   1
#define SEGP_PORT      7450	/* default rdma_cm port */
#define SEGP_MSGSIZE   4096
#define SEGP_CREDITS   32
#define SEGP_HDRLEN    16
#define SEGP_NODEMAX   64
#define SEGP_LIST_MAX  48	/* entries in one LIST_REP */

enum segp_type {
	SEGP_HELLO = 1,     /* segp_hello */
	SEGP_CREDIT,        /* no payload */
	SEGP_LIST,          /* segp_list: cursor */
	SEGP_LIST_REP,      /* segp_list_rep + n segp_ent */
	SEGP_IMPORT,        /* segp_name */
	SEGP_IMPORT_REP,    /* segp_import_rep */
	SEGP_UNIMPORT,      /* segp_id */
	SEGP_REVOKE,        /* segp_id: exporter -> importer */
	SEGP_ERROR,         /* segp_error + text */
	SEGP_FREE,          /* segp_free + n le64 addresses */
	SEGP_SIGNAL,        /* segp_id */
	SEGP_ACK,           /* no payload: a FREE or SIGNAL was applied */
	SEGP_TYPEMAX
};

struct segp_hdr_wire {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t credits;
	uint32_t tag;	/* a reply carries its request's tag */
} __attribute__((packed));

struct segp_hello {
	uint32_t version;
	uint32_t caps;
	uint16_t port;	/* where the sender listens */
	uint16_t nodelen;
	uint32_t pad;
	uint8_t  node[SEGP_NODEMAX];
} __attribute__((packed));

struct segp_name {
	uint16_t namelen;
	uint16_t pad[3];
	uint8_t  name[SEG_NAMEMAX];
} __attribute__((packed));

struct segp_list {
	uint32_t cursor;
	uint32_t pad;
} __attribute__((packed));

struct segp_list_rep {
	uint32_t next;	/* cursor of the next page; 0 at the end */
	uint32_t n;
} __attribute__((packed));

struct segp_ent {
	uint16_t namelen;
	uint8_t  perm;
	uint8_t  verb;
	uint32_t pad;
	uint64_t len;
	uint8_t  name[SEG_NAMEMAX];
} __attribute__((packed));

struct segp_import_rep {
	uint64_t id;	/* exporter's import id, for UNIMPORT and REVOKE */
	uint64_t va;
	uint64_t len;
	uint64_t gen;
	uint32_t rkey;
	uint32_t perm;
} __attribute__((packed));

struct segp_id {
	uint64_t id;
} __attribute__((packed));

#define SEGP_FREE_MAX 500	/* addresses in one FREE */
struct segp_free {
	uint64_t id;	/* the import */
	uint32_t n;
	uint32_t pad;
} __attribute__((packed));

struct segp_error {
	uint32_t code;	/* errno value */
	uint32_t textlen;
} __attribute__((packed));

/* host-order header */
struct segp_hdr {
	uint16_t type, flags;
	uint32_t len, credits, tag;
};

void segp_hdr_encode(uint8_t out[SEGP_HDRLEN], const struct segp_hdr *);
/* Checks the header against the received byte count; -1 with *why. */
int  segp_hdr_decode(const uint8_t *buf, size_t got, struct segp_hdr *,
    const char **why);
/* The exact payload size a type needs; -1 for variable (checked by type). */
long segp_payload_size(uint16_t type);

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

const char *segw_verb_name(unsigned verb);

/* shared helpers */
int  seg_name_valid(const char *name);
int  seg_parse_u64(const char *s, size_t len, uint64_t *out);
int  seg_default_socket(char *buf, size_t size);

#endif
