/*
 * seg.h: libseg, long-lived memory segments served by segd.
 *
 * Every call returns -1 (or NULL) on error with errno set; seg_errstr()
 * gives the message of this thread's last error.  The library never prints
 * and never exits.  It finds segd's socket in $SEGD_SOCKET, else
 * /run/segd/segd.sock for root, else $XDG_RUNTIME_DIR/segd.sock.
 */
#ifndef SEG_H
#define SEG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* seg_attach attributes (segattach(2)'s SG_RONLY, SG_CEXEC) */
#define SEG_RONLY 0x1
#define SEG_CEXEC 0x2

#define SEG_NAMELEN 64

int         seg_create(const char *name, unsigned mode);
int         seg_ctl(const char *name, const char *msg);
int         seg_ctl_read(const char *name, char *buf, size_t size);
ssize_t     seg_pread(const char *name, void *buf, size_t n, uint64_t off);
ssize_t     seg_pwrite(const char *name, const void *buf, size_t n,
                uint64_t off);
int         seg_remove(const char *name);
void       *seg_attach(int attr, const char *class, void *va, size_t len);
int         seg_detach(void *addr);
int         seg_free(void *va, size_t len);
const char *seg_errstr(void);

/* What segd knows of a segment (segctl ls and stat). */
struct seg_info {
	char     name[SEG_NAMELEN + 1];
	char     verb[8];      /* "va", "addr", "umsg", "kmsg"; "-" unallocated */
	uint64_t va, len;
	unsigned uid, gid, mode, nattach;
};

int         seg_stat(const char *name, struct seg_info *info);
/* All named segments: *list is malloc'd, free() it; returns the count. */
int         seg_list(struct seg_info **list);

#ifdef __cplusplus
}
#endif

#endif
