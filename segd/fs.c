/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * fs.c: segment(3)'s file system, mounted with FUSE (segd -m MOUNTPOINT).
 *
 *   MOUNTPOINT/NAME/ctl     write: "va|addr|umsg|kmsg ADDR LEN"; read: the
 *                           segment's actual address and length
 *   MOUNTPOINT/NAME/data    the segment's bytes; its size is the length
 *   MOUNTPOINT/NAME/free    write: buffer addresses returned; read: the
 *                           returned addresses, one a line (blocks)
 *   MOUNTPOINT/net/...      the segments peers export to us (fsnet.c)
 *
 * With RDMA (-l), the top-level name net is the remote view; a segment
 * called net is then reached through libseg and segctl only.
 *
 * The tree is a view of segd's namespace, not a second store: every
 * operation looks the segment up by name and goes through the namespace's
 * own rules (ns_create, ns_setaddr, ns_remove, perm_check), so the mount,
 * libseg and segctl always agree.  mkdir makes a segment with mkdir's mode
 * and the caller's uid and gid (chmod changes the mode, for the owner or
 * root); rmdir removes it: the name goes at once, while files still open
 * on it, like attachments, keep its memory.  Its files go only with it:
 * unlinking ctl, data or free is refused (EPERM), never a success that
 * removes nothing, so rm -r fails and tar xf cannot loop.  What ordinary
 * tools need (ctl's size, times, chown to the owner) is in fs_ops.c and
 * fs_reply.c.
 *
 * The kernel's requests come through /dev/fuse, read in segd's one event
 * loop (the fd is non-blocking; nothing here waits).  Permissions are
 * decided here against the caller's uid, gid and groups, as for the socket,
 * so the mount needs no default_permissions; it is mounted allow_other when
 * segd runs as root, since #g serves every process.  Every file is opened
 * direct_io: a read always sees the memory as it is now, whoever wrote it.
 * data moves in requests of up to 1 MiB (max_write; reads likewise), copied
 * straight between the request and segd's own mapping of the segment.
 * libfuse's splice was measured slower here (reads 3x, writes 1.4x: the
 * kernel copies into or out of pipe pages anyway, for direct_io), so the
 * mount does not ask for it.
 *
 * This file is the mount and the session; the operations are in fs_ops.c
 * (names and directories), fs_io.c (open files) and fs_free.c (free), on
 * the nodes of fs_node.c (fs.h lists them all).
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "fs.h"

#define FS_BATCH       64	/* requests handled per wake-up */
#define FS_MAXBG       64	/* the kernel's background requests */
#define FS_LOGLINE     512	/* a libfuse message */
#define MNT_LINE       4096	/* a line of /proc/self/mountinfo */
#define MNT_FIELD      4095	/* its mount point field */
#define MNT_TYPEFIELD  63	/* its file system type field */
#define STR_(x)        #x
#define STR(x)         STR_(x)


static struct {
	struct fuse_session *se;
	struct event        *ev;
	char                 mnt[PATH_MAX];
	struct fuse_buf      buf;
} fs;

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	conn->max_write = FS_MAXIO;
	/* no splice: copying to and from segd's own mapping is faster */
	conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
	    FUSE_CAP_SPLICE_MOVE);
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_background = FS_MAXBG;
	log_info("fs: %s mounted: max_write %u", fs.mnt, conn->max_write);
}


/* ---- the mount ---- */

static void
fuse_log_cb(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char buf[FS_LOGLINE];
	size_t n;

	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (level <= FUSE_LOG_WARNING)
		log_warnx("fs: libfuse: %s", buf);
	else
		log_debug("fs: libfuse: %s", buf);
}

static void
session_gone(void)
{
	log_warnx("fs: %s was unmounted; the file system is no longer served",
	    fs.mnt);
	event_del(fs.ev);
}

static void
fuse_cb(int fd, short ev, void *arg)
{
	int i, r;

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < FS_BATCH; i++) {
		r = fuse_session_receive_buf(fs.se, &fs.buf);
		if (r == -EINTR || r == -EAGAIN)
			return;
		if (r <= 0 || fuse_session_exited(fs.se)) {
			if (r < 0)
				log_warnx("fs: reading /dev/fuse: %s", strerror(-r));
			session_gone();
			return;
		}
		fuse_session_process_buf(fs.se, &fs.buf);
	}
}

/* A field of /proc/self/mountinfo, with its \NNN escapes undone. */
void
fs_unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else
			*d++ = *s++;
	}
	*d = '\0';
}

/* The file system type mounted at path ("" if none). */
static void
mounted_type(const char *path, char *type, size_t size)
{
	char line[MNT_LINE], mp[MNT_FIELD + 1], *p;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	type[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE ... */
		if (sscanf(line, "%*s %*s %*s %*s %" STR(MNT_FIELD) "s", mp) != 1)
			continue;
		fs_unescape(mp);
		if (strcmp(mp, path) != 0 || (p = strstr(line, " - ")) == NULL)
			continue;
		if (sscanf(p + 3, "%" STR(MNT_TYPEFIELD) "s", mp) == 1)
			snprintf(type, size, "%.*s", MNT_TYPEFIELD, mp);	/* the last one counts */
	}
	fclose(f);
}

static int
lazy_unmount(const char *path)
{
	pid_t pid;
	int st;

	if (geteuid() == 0)
		return umount2(path, MNT_DETACH);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "-q", path,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * The mount point exists and is free: made if missing; a stale mount of
 * a segd that died (ENOTCONN) is detached lazily; a live one is refused.
 */
static int
prepare_mountpoint(const char *mnt, char *real, size_t size)
{
	char type[MNT_TYPEFIELD + 1];
	struct stat st;
	int tries;

	if (mkdir(mnt, 0755) < 0 && errno != EEXIST) {
		log_warn("fs: mkdir %s", mnt);
		return -1;
	}
	for (tries = 0; tries < 8; tries++) {
		if (stat(mnt, &st) == 0)
			break;
		if (errno != ENOTCONN && errno != ECONNABORTED) {
			log_warn("fs: %s", mnt);
			return -1;
		}
		log_warnx("fs: %s is a stale mount (its server is gone): "
		    "unmounting it", mnt);
		if (lazy_unmount(mnt) < 0) {
			log_warn("fs: unmount %s", mnt);
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("fs: %s is not a directory", mnt);
		return -1;
	}
	if (realpath(mnt, real) == NULL || strlen(real) >= size) {
		log_warn("fs: realpath %s", mnt);
		return -1;
	}
	mounted_type(real, type, sizeof type);
	if (strncmp(type, "fuse", 4) == 0) {
		log_warnx("fs: %s is already mounted (%s): is another segd "
		    "serving it?", real, type);
		return -1;
	}
	return 0;
}

int
fs_init(struct segd *sd, const char *mountpoint)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_lowlevel_ops ops;
	char real[PATH_MAX];
	int fd, fl;

	memset(&ops, 0, sizeof ops);
	ops.init = op_init;
	fs_ops_names(&ops);
	fs_ops_files(&ops);

	fs_sd = sd;
	fs_nodes_init();
	fs_node_free_hook(fsnet_node_free);	/* net/ nodes hold fsnet data */
	fs_reply_init();
	fuse_set_log_func(fuse_log_cb);
	if (prepare_mountpoint(mountpoint, real, sizeof real) < 0)
		return -1;
	snprintf(fs.mnt, sizeof fs.mnt, "%s", real);
	if (fuse_opt_add_arg(&args, "segd") < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, geteuid() == 0 ?
	    "fsname=segd,subtype=segment,allow_other" :
	    "fsname=segd,subtype=segment") < 0) {
		fuse_opt_free_args(&args);
		log_warnx("fs: out of memory");
		return -1;
	}
	fs.se = fuse_session_new(&args, &ops, sizeof ops, sd);
	fuse_opt_free_args(&args);
	if (fs.se == NULL) {
		log_warnx("fs: fuse_session_new failed");
		return -1;
	}
	if (fuse_session_mount(fs.se, fs.mnt) != 0) {
		log_warnx("fs: cannot mount %s (is /dev/fuse there, and may "
		    "this user mount?)", fs.mnt);
		fuse_session_destroy(fs.se);
		fs.se = NULL;
		return -1;
	}
	fd = fuse_session_fd(fs.se);
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    (fs.ev = event_new(sd->base, fd, EV_READ | EV_PERSIST, fuse_cb,
	    NULL)) == NULL || event_add(fs.ev, NULL) < 0) {
		log_warnx("fs: cannot watch /dev/fuse");
		fs_shutdown(sd);
		return -1;
	}
	log_info("fs: serving the segment file system on %s", fs.mnt);
	return 0;
}

void
fs_shutdown(struct segd *sd)
{
	const struct fs_iocount *c = fs_io_count();

	(void)sd;
	if (fs.se == NULL)
		return;
	fs_free_shutdown();	/* while the session is there to answer */
	fsnet_shutdown();
	if (fs.ev != NULL)
		event_free(fs.ev);
	fs.ev = NULL;
	fuse_session_unmount(fs.se);
	fuse_session_destroy(fs.se);
	fs.se = NULL;
	free(fs.buf.mem);
	fs.buf.mem = NULL;
	fs_files_close();
	fs_dirs_free_all();
	fs_nodes_free_all();
	log_info("fs: %s unmounted (%llu reads, largest %zu bytes; %llu "
	    "writes, largest %zu bytes)", fs.mnt, (unsigned long long)c->reads,
	    c->maxread, (unsigned long long)c->writes, c->maxwrite);
}
