/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * local_bench: figures for the local segment service (issue 2).  Not a test:
 * it prints numbers and fails only when something does not work at all.
 *
 *   local_bench [-v] [-m MIB] [-r RUNS] [-n NSEGS]
 *
 *   (a) seg_attach of a 1 GiB and of a 4 MiB segment: the time does not
 *       depend on the size, since no page is touched (mincore shows none);
 *   (b) `segctl write` and `segctl read` of MIB MiB (default 1024) through a
 *       pipe, against `dd bs=1M` into and out of a tmpfs file of the same
 *       size fed and drained through the same kind of pipe; best of RUNS;
 *   (c) segd's resident memory idle and with NSEGS segments (default 1000)
 *       created and allocated 4 KiB each.
 *
 * It starts its own segd (found next to itself: BUILD/bench/local_bench
 * runs BUILD/segd and BUILD/segctl; $SEG_BUILD overrides BUILD) on a socket
 * and state directory in a fresh directory under /dev/shm, and stops it and
 * removes the directory at the end.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "seg.h"
#include "benchlib.h"

#define MIB       (1024ULL * 1024)
#define GIB       (1024 * MIB)
#define PUMPCHUNK (1u << 20)
#define ATTACH_REPS 200

static char  tmpdir[PATH_MAX];
static char  build[PATH_MAX];
static char  segd_path[PATH_MAX + 16], segctl_path[PATH_MAX + 16];
static pid_t segd_pid = -1;
static int   verbose;

/* segd's log, on the way out after a failure (the directory goes). */
static void
show_log(void)
{
	char path[PATH_MAX + 16], buf[4096];
	size_t n;
	FILE *f;

	if (tmpdir[0] == '\0')
		return;
	snprintf(path, sizeof path, "%s/segd.log", tmpdir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	fprintf(stderr, "local_bench: segd's log:\n");
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	if (segd_pid > 0) {
		kill(segd_pid, SIGTERM);
		waitpid(segd_pid, NULL, 0);
		segd_pid = -1;
	}
	if (tmpdir[0] != '\0') {
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		tmpdir[0] = '\0';
	}
}

static void
find_build(void)
{
	const char *env = getenv("SEG_BUILD");
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int i;

	if (env != NULL && *env != '\0') {
		snprintf(build, sizeof build, "%s", env);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n < 0)
			fail("readlink /proc/self/exe: %s", strerror(errno));
		exe[n] = '\0';
		for (i = 0; i < 2; i++) {	/* BUILD/bench/local_bench */
			if ((slash = strrchr(exe, '/')) == NULL)
				fail("cannot find the build directory; set SEG_BUILD");
			*slash = '\0';
		}
		snprintf(build, sizeof build, "%s", exe);
	}
	snprintf(segd_path, sizeof segd_path, "%s/segd", build);
	snprintf(segctl_path, sizeof segctl_path, "%s/segctl", build);
	if (access(segd_path, X_OK) < 0 || access(segctl_path, X_OK) < 0)
		fail("no %s or %s: run make first, or set SEG_BUILD", segd_path,
		    segctl_path);
}

/* Run argv with stdin in and stdout out (-1: inherit); stderr is kept. */
static pid_t
spawn(char *const argv[], int in, int out, int errfd)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		if (in >= 0 && dup2(in, 0) < 0)
			_exit(127);
		if (out >= 0 && dup2(out, 1) < 0)
			_exit(127);
		if (errfd >= 0 && dup2(errfd, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "local_bench: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Wait for pid; returns the CPU seconds (user + system) it used. */
static double
reap(pid_t pid, const char *what)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			fail("waitpid %s: %s", what, strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("%s failed (status %#x)", what, st);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds segd has used so far (clock ticks of /proc/PID/stat). */
static double
segd_cpu(void)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)segd_pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		fail("open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		fail("read %s", path);
	buf[n] = '\0';
	/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		fail("cannot parse %s", path);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void
start_segd(const char *sock, const char *state, uint64_t maxbytes)
{
	char logf[PATH_MAX + 16], mb[32];
	char *argv[] = { segd_path, "-f", "-s", (char *)sock, "-d",
	    (char *)state, "-M", mb, NULL };
	struct seg_info *v;
	int fd, i, n;

	snprintf(mb, sizeof mb, "%llu", (unsigned long long)maxbytes);
	snprintf(logf, sizeof logf, "%s/segd.log", tmpdir);
	fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("open %s: %s", logf, strerror(errno));
	segd_pid = spawn(argv, -1, -1, fd);
	close(fd);
	for (i = 0; i < 500; i++) {	/* up to 5 s */
		if ((n = seg_list(&v)) >= 0) {
			free(v);
			return;
		}
		if (waitpid(segd_pid, NULL, WNOHANG) == segd_pid) {
			segd_pid = -1;
			fail("segd exited at start");
		}
		usleep(10000);
	}
	fail("segd did not answer within 5 s: %s", seg_errstr());
}

/* Fields of /proc/PID/status, in KiB. */
struct rss {
	long rss, anon, file, shmem;
};

static struct rss
proc_rss(pid_t pid)
{
	char path[64], line[256];
	struct rss r = { -1, -1, -1, -1 };
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		fail("open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		sscanf(line, "VmRSS: %ld", &r.rss);
		sscanf(line, "RssAnon: %ld", &r.anon);
		sscanf(line, "RssFile: %ld", &r.file);
		sscanf(line, "RssShmem: %ld", &r.shmem);
	}
	fclose(f);
	return r;
}

static void
make_seg(const char *name, uint64_t len)
{
	char msg[64];

	if (seg_create(name, 0600) < 0)
		fail("create %s: %s", name, seg_errstr());
	snprintf(msg, sizeof msg, "addr 0 %llu", (unsigned long long)len);
	if (seg_ctl(name, msg) < 0)
		fail("ctl %s '%s': %s", name, msg, seg_errstr());
}

static void
drop_seg(const char *name)
{
	if (seg_remove(name) < 0)
		fail("rm %s: %s", name, seg_errstr());
}

/* Resident pages of [p, p+len) by mincore. */
static size_t
resident_pages(void *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (len + pg - 1) / pg, i,
	    c = 0;
	unsigned char *vec = malloc(n);

	if (vec == NULL)
		fail("out of memory");
	if (mincore(p, len, vec) < 0)
		fail("mincore: %s", strerror(errno));
	for (i = 0; i < n; i++)
		c += vec[i] & 1;
	free(vec);
	return c;
}

struct attach_fig {
	double min, median;
	size_t resident;
};

static struct attach_fig
time_attach(const char *name)
{
	static double t[ATTACH_REPS];
	struct attach_fig f;
	struct seg_info si;
	int i;

	if (seg_stat(name, &si) < 0)
		fail("stat %s: %s", name, seg_errstr());
	for (i = 0; i < ATTACH_REPS; i++) {
		double t0 = now_s();
		void *p = seg_attach(0, name, NULL, 0);
		t[i] = now_s() - t0;
		if (p == NULL)
			fail("seg_attach %s: %s", name, seg_errstr());
		if (i == ATTACH_REPS - 1)
			f.resident = resident_pages(p, si.len);
		if (seg_detach(p) < 0)
			fail("seg_detach %s: %s", name, seg_errstr());
	}
	qsort(t, ATTACH_REPS, sizeof t[0], cmp_double);
	f.min = t[0];
	f.median = t[ATTACH_REPS / 2];
	return f;
}

/*
 * Time one program run: feed it `bytes` bytes on a pipe as its stdin
 * (feed=1), or drain its stdout pipe and check it gave exactly `bytes`.
 * Returns seconds from fork to its exit.
 */
static double
pump(char *const argv[], int feed, uint64_t bytes, const char *what,
    double *cpu)
{
	static char *buf;
	uint64_t done = 0;
	double t0, c0 = segd_cpu(), c;
	int p[2];
	pid_t pid;

	if (buf == NULL) {
		if ((buf = malloc(PUMPCHUNK)) == NULL)
			fail("out of memory");
		memset(buf, 0x5a, PUMPCHUNK);
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		fail("pipe: %s", strerror(errno));
	t0 = now_s();
	pid = spawn(argv, feed ? p[0] : -1, feed ? -1 : p[1], -1);
	close(feed ? p[0] : p[1]);
	/* fed: until all bytes are written; drained: until end of file */
	while (!feed || done < bytes) {
		size_t n = feed && bytes - done < PUMPCHUNK ?
		    (size_t)(bytes - done) : PUMPCHUNK;
		ssize_t k = feed ? write(p[1], buf, n) : read(p[0], buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			fail("%s: %s: %s", what, feed ? "write to its stdin" :
			    "read its stdout", strerror(errno));
		if (k == 0)
			break;
		done += (uint64_t)k;
	}
	close(feed ? p[1] : p[0]);
	if (!feed && done != bytes)
		fail("%s gave %llu bytes, not %llu", what,
		    (unsigned long long)done, (unsigned long long)bytes);
	c = reap(pid, what);
	t0 = now_s() - t0;
	if (cpu != NULL)
		*cpu = c + (segd_cpu() - c0);
	return t0;
}

/* best seconds of each way of moving the bytes */
enum { SEG_W, SEG_OW, SEG_R, DD_W, DD_OW, DD_R, NIO };

static const char *const io_label[3] = {
	"write into new pages", "write over written data", "read",
};

struct io_fig {
	double best[NIO];	/* wall seconds, best run */
	double cpu[NIO];	/* CPU seconds, least run */
};

static struct io_fig
time_io(uint64_t bytes, int runs)
{
	struct io_fig f;
	char ddfile[PATH_MAX + 16], of[PATH_MAX + 32], iff[PATH_MAX + 32];
	char *segw[] = { segctl_path, "write", "io", NULL };
	char *segr[] = { segctl_path, "read", "io", NULL };
	char *ddw[] = { "dd", of, "bs=1M", "status=none", NULL };
	char *ddow[] = { "dd", of, "bs=1M", "conv=notrunc", "status=none",
	    NULL };
	char *ddr[] = { "dd", iff, "bs=1M", "status=none", NULL };
	double t[NIO], c[NIO];
	int i, k;

	for (k = 0; k < NIO; k++)
		f.best[k] = f.cpu[k] = 1e30;
	snprintf(ddfile, sizeof ddfile, "%s/ddfile", tmpdir);
	snprintf(of, sizeof of, "of=%s", ddfile);
	snprintf(iff, sizeof iff, "if=%s", ddfile);
	/*
	 * Untimed warm-up: in a virtual machine the first touch of guest
	 * memory costs the host a fault, which would land on whichever side
	 * runs first.
	 */
	pump(ddw, 1, bytes, "dd of= (warm-up)", NULL);
	unlink(ddfile);
	for (i = 0; i < runs; i++) {
		/* new: both write into fresh tmpfs pages; over: into the same */
		make_seg("io", bytes);
		t[SEG_W] = pump(segw, 1, bytes, "segctl write", &c[SEG_W]);
		t[SEG_OW] = pump(segw, 1, bytes, "segctl write (over)",
		    &c[SEG_OW]);
		t[SEG_R] = pump(segr, 0, bytes, "segctl read", &c[SEG_R]);
		drop_seg("io");
		unlink(ddfile);
		t[DD_W] = pump(ddw, 1, bytes, "dd of=", &c[DD_W]);
		t[DD_OW] = pump(ddow, 1, bytes, "dd of= conv=notrunc",
		    &c[DD_OW]);
		t[DD_R] = pump(ddr, 0, bytes, "dd if=", &c[DD_R]);
		unlink(ddfile);
		for (k = 0; k < NIO; k++) {
			if (t[k] < f.best[k])
				f.best[k] = t[k];
			if (c[k] < f.cpu[k])
				f.cpu[k] = c[k];
		}
		if (verbose) {
			fprintf(stderr, "run %d, wall (cpu) s:", i + 1);
			for (k = 0; k < NIO; k++)
				fprintf(stderr, " %.3f (%.2f)", t[k], c[k]);
			fprintf(stderr, "\n");
		}
	}
	return f;
}

struct rss_fig {
	struct rss idle, full, written;
	double create_us;	/* create + ctl, per segment */
};

static struct rss_fig
time_rss(int nsegs)
{
	struct rss_fig f;
	char name[32], page[4096];
	double t0;
	int i;

	f.idle = proc_rss(segd_pid);
	t0 = now_s();
	for (i = 0; i < nsegs; i++) {
		snprintf(name, sizeof name, "r%05d", i);
		make_seg(name, 4096);
	}
	f.create_us = (now_s() - t0) / nsegs * 1e6;
	f.full = proc_rss(segd_pid);
	memset(page, 0xa5, sizeof page);
	for (i = 0; i < nsegs; i++) {
		snprintf(name, sizeof name, "r%05d", i);
		if (seg_pwrite(name, page, sizeof page, 0) != sizeof page)
			fail("write %s: %s", name, seg_errstr());
	}
	f.written = proc_rss(segd_pid);
	for (i = 0; i < nsegs; i++) {
		snprintf(name, sizeof name, "r%05d", i);
		drop_seg(name);
	}
	return f;
}

static void
usage(void)
{
	fprintf(stderr, "usage: local_bench [-v] [-m MiB] [-r runs] [-n nsegs]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	char sock[PATH_MAX + 16], state[PATH_MAX + 16];
	struct statvfs vfs;
	struct attach_fig a1g, a4m;
	struct io_fig io;
	struct rss_fig rs;
	char label[64];
	uint64_t mib = 1024, bytes;
	int ch, k, runs = 3, nsegs = 1000;

	progname = "local_bench";
	fail_tag = "";
	fail_hook = show_log;
	while ((ch = getopt(argc, argv, "m:r:n:v")) != -1) {
		switch (ch) {
		case 'v':
			verbose = 1;
			break;
		case 'm':
			mib = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'n':
			nsegs = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || mib == 0 || mib > 1 << 20 || runs < 1 ||
	    nsegs < 1 || nsegs > 60000)
		usage();
	bytes = mib * MIB;
	signal(SIGPIPE, SIG_IGN);
	find_build();

	snprintf(tmpdir, sizeof tmpdir, "/dev/shm/segbench.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		fail("mkdtemp in /dev/shm: %s", strerror(errno));
	}
	atexit(cleanup);
	/* 1 GiB + 4 MiB attached, the I/O segment and the dd file, slack */
	if (statvfs(tmpdir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < 2 * bytes + 64 * MIB)
		fail("/dev/shm has %llu MiB free; %llu needed (use -m)",
		    (unsigned long long)((uint64_t)vfs.f_bavail * vfs.f_frsize /
		    MIB), (unsigned long long)((2 * bytes + 64 * MIB) / MIB));
	snprintf(sock, sizeof sock, "%s/segd.sock", tmpdir);
	snprintf(state, sizeof state, "%s/state", tmpdir);
	if (setenv("SEGD_SOCKET", sock, 1) < 0)
		fail("setenv: %s", strerror(errno));
	start_segd(sock, state, GIB + 4 * MIB + bytes + (uint64_t)nsegs * 4096 +
	    64 * MIB);

	/* (c) first, on a segd that has done nothing yet */
	rs = time_rss(nsegs);

	/* (a) */
	make_seg("att1g", GIB);
	make_seg("att4m", 4 * MIB);
	a1g = time_attach("att1g");
	a4m = time_attach("att4m");
	drop_seg("att1g");
	drop_seg("att4m");

	/* (b) */
	io = time_io(bytes, runs);

	printf("segd local benchmark (state and dd file on tmpfs in /dev/shm)\n\n");
	printf("(a) seg_attach, %d attaches each (attach + detach)\n",
	    ATTACH_REPS);
	printf("  %-10s %12s %12s %16s\n", "segment", "min us", "median us",
	    "resident pages");
	printf("  %-10s %12.1f %12.1f %16zu\n", "1 GiB", a1g.min * 1e6,
	    a1g.median * 1e6, a1g.resident);
	printf("  %-10s %12.1f %12.1f %16zu\n", "4 MiB", a4m.min * 1e6,
	    a4m.median * 1e6, a4m.resident);
	printf("  1 GiB / 4 MiB median: %.2f\n\n", a1g.median / a4m.median);

	printf("(b) %llu MiB through a pipe, best of %d (1 MiB = 2^20 B)\n",
	    (unsigned long long)mib, runs);
	printf("  %-24s %9s %7s %9s %7s %6s   %7s %7s %6s\n", "", "segctl s",
	    "MiB/s", "dd s", "MiB/s", "ratio", "seg cpu", "dd cpu", "ratio");
	for (k = 0; k < 3; k++)
		printf("  %-24s %9.3f %7.0f %9.3f %7.0f %6.2f   %7.2f %7.2f "
		    "%6.2f\n", io_label[k], io.best[k], mib / io.best[k],
		    io.best[k + 3], mib / io.best[k + 3],
		    io.best[k + 3] / io.best[k], io.cpu[k], io.cpu[k + 3],
		    io.cpu[k + 3] / io.cpu[k]);
	printf("  segctl: `segctl write io` into a new segment, again over its "
	    "data,\n          `segctl read io`\n"
	    "  dd:     `dd bs=1M of=FILE` (new file), again with conv=notrunc,\n"
	    "          `dd bs=1M if=FILE`; FILE on tmpfs\n"
	    "  ratio = dd / segctl (goal >= 0.80); s: wall seconds; cpu: CPU "
	    "seconds of\n  segctl + segd, or of dd (not counting the pipe's "
	    "other end)\n\n");

	printf("(c) segd resident memory, KiB (/proc/PID/status)\n");
	printf("  %-34s %8s %8s %8s %8s\n", "", "VmRSS", "RssAnon", "RssFile",
	    "RssShmem");
	printf("  %-34s %8ld %8ld %8ld %8ld\n", "idle", rs.idle.rss,
	    rs.idle.anon, rs.idle.file, rs.idle.shmem);
	snprintf(label, sizeof label, "%d segments, 4 KiB each", nsegs);
	printf("  %-34s %8ld %8ld %8ld %8ld\n", label, rs.full.rss,
	    rs.full.anon, rs.full.file, rs.full.shmem);
	printf("  %-34s %8ld %8ld %8ld %8ld\n", "  after writing 4 KiB to each",
	    rs.written.rss, rs.written.anon, rs.written.file,
	    rs.written.shmem);
	printf("  growth per segment: %.2f KiB; create + ctl: %.0f us each\n",
	    (double)(rs.full.rss - rs.idle.rss) / nsegs, rs.create_us);
	return 0;
}
