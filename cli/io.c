/*
 * io.c: segctl's data commands.  read and write move a local segment's
 * bytes through one descriptor segd checked (seg_open), with pread and
 * pwrite as dd would; get and put move a remote segment's through libseg's
 * import, a chunk per call.  Each shows progress (progress.c).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"
#include "segctl.h"

/* write_all's offset for standard output: write where it stands. */
#define AT_STREAM ((uint64_t)-1)

/* All n bytes of p to fd: at off, or where fd stands (off AT_STREAM). */
static int
write_all(int fd, const char *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = off == AT_STREAM ? write(fd, p, n) :
		    pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		if (off != AT_STREAM)
			off += (uint64_t)w;
		n -= (size_t)w;
	}
	return 0;
}

/* n bytes of buf to standard output, counted in pg; or fail naming name. */
static void
put_out(const char *name, const char *buf, size_t n, struct progress *pg)
{
	if (write_all(1, buf, n, AT_STREAM) < 0)
		fail(name, "write standard output: %s", strerror(errno));
	progress_add(pg, n);
}

/* One read of standard input (at most CHUNK), as dd bs=1M does. */
static size_t
read_some(const char *name, char *buf)
{
	for (;;) {
		ssize_t r = read(0, buf, CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(name, "read standard input: %s", strerror(errno));
		return (size_t)r;
	}
}

/* A whole chunk of standard input (less only at its end): fewer round trips. */
static size_t
read_chunk(const char *name, char *buf)
{
	size_t have = 0, r;

	while (have < CHUNK) {
		ssize_t n = read(0, buf + have, CHUNK - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(name, "read standard input: %s", strerror(errno));
		if ((r = (size_t)n) == 0)
			break;
		have += r;
	}
	return have;
}

/* The size of standard input when it is a regular file, else 0. */
static uint64_t
input_size(void)
{
	struct stat st;
	off_t pos;

	if (fstat(0, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (pos = lseek(0, 0, SEEK_CUR)) < 0 || pos > st.st_size)
		return 0;
	return (uint64_t)(st.st_size - pos);
}

/* A buffer of CHUNK bytes, page-aligned; or segctl fails. */
static char *
chunk_alloc(const char *name)
{
	char *buf;

	if ((buf = aligned_alloc(4096, CHUNK)) == NULL)
		fail(name, "out of memory");
	return buf;
}

/* The segment's descriptor for flags, and its length. */
static int
open_seg(const char *name, int flags, uint64_t *len)
{
	struct seg_info s;
	int fd;

	if ((fd = seg_open(name, flags)) < 0)
		fail(name, "%s", seg_errstr());
	if (seg_stat(name, &s) < 0)
		fail(name, "%s", seg_errstr());
	*len = s.len;
	return fd;
}

int
cmd_write(int argc, char **argv)
{
	const char *name;
	uint64_t off = 0, len, total = 0;
	struct progress pg;
	static char *buf;	/* static: still reachable when fail() exits */
	int fd;

	if (argc < 2 || argc > 3)
		usage();
	name = argv[1];
	if (argc == 3)
		off = number(name, "offset", argv[2]);
	buf = chunk_alloc(name);
	/* an unallocated segment, or an offset at or past the end, is an
	 * error even when the input is empty */
	fd = open_seg(name, O_WRONLY, &len);
	if (off >= len)
		fail(name, "write at 0x%llx starts at or past the end of segment "
		    "'%s' (length 0x%llx)", (unsigned long long)off, name,
		    (unsigned long long)len);
	progress_start(&pg, input_size());
	for (;;) {
		size_t have = read_some(name, buf), n = have;
		if (have == 0)
			break;
		if (n > len - off - total)
			n = (size_t)(len - off - total);	/* cut at the end */
		if (write_all(fd, buf, n, off + total) < 0)
			fail(name, "write segment '%s': %s", name,
			    strerror(errno));
		total += n;
		progress_add(&pg, n);
		if (n < have) {
			progress_end(&pg);
			fail(name, "input runs past the end of the segment; "
			    "%llu bytes written", (unsigned long long)total);
		}
	}
	progress_end(&pg);
	close(fd);
	free(buf);
	return 0;
}

int
cmd_read(int argc, char **argv)
{
	const char *name;
	uint64_t off = 0, left = UINT64_MAX, len;
	struct progress pg;
	static char *buf;	/* static: still reachable when fail() exits */
	int fd;

	if (argc < 2 || argc > 4)
		usage();
	name = argv[1];
	if (argc >= 3)
		off = number(name, "offset", argv[2]);
	if (argc == 4)
		left = number(name, "length", argv[3]);
	buf = chunk_alloc(name);
	/* an unallocated segment is an error even when nothing is read */
	fd = open_seg(name, O_RDONLY, &len);
	if (off >= len)
		left = 0;	/* reads stop at the end */
	else if (left > len - off)
		left = len - off;
	progress_start(&pg, left);
	while (left > 0) {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail(name, "read segment '%s': %s", name, strerror(errno));
		if (r == 0)
			break;
		put_out(name, buf, (size_t)r, &pg);
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	progress_end(&pg);
	close(fd);
	free(buf);
	return 0;
}

/* An import of name, its info, and a buffer of CHUNK bytes; or segctl fails. */
static seg_import_t *
import_open(const char *name, struct seg_import_info *ii, char **buf)
{
	seg_import_t *imp;

	if ((imp = seg_import(name)) == NULL || seg_import_info(imp, ii) < 0)
		fail(name, "%s", seg_errstr());
	*buf = chunk_alloc(name);
	return imp;
}

int
cmd_get(int argc, char **argv)
{
	struct seg_import_info ii;
	struct progress pg;
	seg_import_t *imp;
	uint64_t off = 0, left;
	char *buf;

	if (argc < 2 || argc > 4)
		usage();
	if (argc >= 3)
		off = number(argv[1], "offset", argv[2]);
	imp = import_open(argv[1], &ii, &buf);
	if (off > ii.len)
		fail(argv[1], "offset 0x%llx is past the end (length 0x%llx)",
		    (unsigned long long)off, (unsigned long long)ii.len);
	left = ii.len - off;
	if (argc == 4) {
		uint64_t want = number(argv[1], "length", argv[3]);
		if (want > left)
			fail(argv[1], "range 0x%llx+0x%llx is past the end "
			    "(length 0x%llx)", (unsigned long long)off,
			    (unsigned long long)want, (unsigned long long)ii.len);
		left = want;
	}
	progress_start(&pg, left);
	while (left > 0) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;
		if (seg_get(imp, off, buf, n) < 0)
			fail(argv[1], "%s", seg_errstr());
		put_out(argv[1], buf, n, &pg);
		off += n;
		left -= n;
	}
	progress_end(&pg);
	free(buf);
	seg_unimport(imp);
	return 0;
}

int
cmd_put(int argc, char **argv)
{
	struct seg_import_info ii;
	struct progress pg;
	seg_import_t *imp;
	uint64_t off = 0;
	char *buf;

	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3)
		off = number(argv[1], "offset", argv[2]);
	imp = import_open(argv[1], &ii, &buf);
	progress_start(&pg, input_size());
	for (;;) {
		size_t have = read_chunk(argv[1], buf);
		if (have == 0)
			break;
		if (off > ii.len || have > ii.len - off)
			fail(argv[1], "input runs past the end of the segment "
			    "(length 0x%llx)", (unsigned long long)ii.len);
		if (seg_put(imp, off, buf, have) < 0)
			fail(argv[1], "%s", seg_errstr());
		off += have;
		progress_add(&pg, have);
	}
	if (seg_barrier(imp) < 0)
		fail(argv[1], "%s", seg_errstr());
	progress_end(&pg);
	free(buf);
	seg_unimport(imp);
	return 0;
}
