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
#define SEGW_MAXPAYLOAD  4096        /* no local frame is larger */

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
	SEGW_OPMAX
};

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

const char *segw_verb_name(unsigned verb);

/* shared helpers */
int  seg_name_valid(const char *name);
int  seg_parse_u64(const char *s, size_t len, uint64_t *out);
int  seg_default_socket(char *buf, size_t size);

#endif
