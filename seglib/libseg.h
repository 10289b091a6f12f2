/*
 * libseg.h: libseg's internal header; prototypes grouped by file.
 */
#ifndef LIBSEG_H
#define LIBSEG_H

#include "seg.h"
#include "segwire.h"

#define SEG_CALL_TIMEOUT_S 30	/* a local segd answers long before this */

/* err.c */
int  seg_seterr(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  seg_seterr_text(int err, const char *text, size_t len);

/* client.c */
/*
 * One request, one reply.  On success the reply's info (if info is not
 * NULL), text (copied to text, at most *textlen bytes; *textlen set to its
 * length) and descriptor (*fdp, -1 if none; if fdp is NULL one that came is
 * closed) are returned.
 */
int  seg_call(uint16_t op, const struct segw_req *req, struct segw_info *info,
         char *text, size_t *textlen, int *fdp);
/* SEGW_LIST: calls fn for each entry. */
int  seg_call_list(int (*fn)(const struct segw_info *, void *), void *arg);
int  seg_req_name(struct segw_req *, const char *name);

/* attach.c */
void seg_info_export(const struct segw_info *, struct seg_info *);

#endif
