/*
 * main.c: segd, the node's segment daemon.
 *
 *   segd [-fv] [-s SOCKET] [-d STATEDIR] [-N MAXSEGS] [-M MAXBYTES]
 *        [-l ADDR[:PORT]] [-D DEVICE] [-n NODENAME] [-t DEADLINE_MS]
 *        [-m MOUNTPOINT]
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "segd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: segd [-fv] [-s socket] [-d statedir] "
	    "[-N maxsegs] [-M maxbytes]\n"
	    "            [-l addr[:port]] [-D device] [-n nodename] "
	    "[-t deadline_ms]\n"
	    "            [-m mountpoint]\n");
	exit(2);
}

static uint64_t
number_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (seg_parse_u64(s, strlen(s), &v) < 0 || v < min || v > max) {
		fprintf(stderr, "segd: -%s: '%s' is not a number from %llu to "
		    "%llu\n", opt, s, (unsigned long long)min,
		    (unsigned long long)max);
		exit(2);
	}
	return v;
}

static int
default_statedir(char *buf, size_t size)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	int n;

	if (geteuid() == 0)
		n = snprintf(buf, size, "/run/segd/segments");
	else if (x != NULL && *x != '\0')
		n = snprintf(buf, size, "%s/segd", x);
	else
		return -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* A segment's life, as the other modules see it (namespace hooks). */
static int
hook_alloc(void *ctx, struct segment *s, struct segerr *e)
{
	struct segd *sd = ctx;

	if (sd->rdma != NULL && rdma_seg_reg(sd, s, e) < 0)
		return -1;
	if (zio_seg_init(sd, s, e) < 0) {
		rdma_seg_dereg(s);
		return -1;
	}
	return 0;
}

static void
hook_remove(void *ctx, struct segment *s)
{
	export_drop(ctx, s);	/* removing an exported segment unexports it */
}

static void
hook_free(void *ctx, struct segment *s)
{
	zio_seg_free(s);
	export_shutdown(ctx, s);	/* still exported only when segd stops */
	rdma_seg_dereg(s);
}

/*
 * Every allocated segment is one mapping in segd: keep the default segment
 * limit below the kernel's map count, so the limit is the error users see.
 */
#define MAPS_SPARE 4096	/* mappings left for segd's own code and heap */

static size_t
default_maxsegs(void)
{
	unsigned long mc = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f != NULL) {
		if (fscanf(f, "%lu", &mc) != 1)
			mc = 0;
		fclose(f);
	}
	if (mc > 2 * MAPS_SPARE && mc - MAPS_SPARE < SEGD_DEF_MAXSEGS)
		return mc - MAPS_SPARE;
	return SEGD_DEF_MAXSEGS;
}

static void
signal_cb(int sig, short ev, void *arg)
{
	struct segd *sd = arg;

	(void)ev;
	log_info("segd: signal %d, shutting down", sig);
	event_base_loopbreak(sd->base);
}

/* What the command line asks for, beyond struct segd. */
struct opts {
	struct ns_limits lim;
	const char      *statedir, *mountpoint;
	int              verbose;
};

/* One option; 2 (exit status) when it is bad. */
static int
option(int ch, struct segd *sd, struct opts *o)
{
	switch (ch) {
	case 'f': sd->foreground = 1; break;
	case 'v': o->verbose = 1; break;
	case 's': sd->sockpath = optarg; break;
	case 'd': o->statedir = optarg; break;
	case 'N': o->lim.maxsegs = number_arg("N", optarg, 1, 1u << 24); break;
	case 'M': o->lim.maxbytes = number_arg("M", optarg, 1, UINT64_MAX); break;
	case 'l': sd->listen = optarg; break;
	case 'D': sd->device = optarg; break;
	case 'm': o->mountpoint = optarg; break;
	case 't':
		sd->deadline_ms = (unsigned)number_arg("t", optarg, 10, 3600000);
		break;
	case 'n':
		if (!seg_node_valid(optarg)) {
			fprintf(stderr, "segd: -n: bad node name '%s': use 1 to %d "
			    "of [A-Za-z0-9._-]\n", optarg, SEGP_NODEMAX);
			return 2;
		}
		snprintf(sd->node, sizeof sd->node, "%s", optarg);
		break;
	default:
		usage();
	}
	return 0;
}

/* The defaults of what the options left unsaid; 2 when one cannot be had. */
static int
defaults(struct segd *sd, struct opts *o)
{
	static char sockbuf[PATH_MAX], statebuf[PATH_MAX];

	if (sd->device != NULL && sd->listen == NULL) {
		fprintf(stderr, "segd: -D needs -l ADDR: the device is the one "
		    "serving ADDR\n");
		return 2;
	}
	if (sd->node[0] == '\0') {
		char h[256];
		if (gethostname(h, sizeof h) < 0 || (h[sizeof h - 1] = '\0',
		    strtok(h, ".") == NULL) || !seg_node_valid(h))
			snprintf(h, sizeof h, "localhost");
		snprintf(sd->node, sizeof sd->node, "%.64s", h);
	}
	if (sd->sockpath == NULL) {
		if (seg_default_socket(sockbuf, sizeof sockbuf) < 0) {
			fprintf(stderr, "segd: no socket path: use -s, or set "
			    "SEGD_SOCKET or XDG_RUNTIME_DIR\n");
			return 2;
		}
		sd->sockpath = sockbuf;
	}
	if (o->statedir == NULL) {
		if (default_statedir(statebuf, sizeof statebuf) < 0) {
			fprintf(stderr, "segd: no state directory: use -d, or "
			    "set XDG_RUNTIME_DIR\n");
			return 2;
		}
		o->statedir = statebuf;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct segd sd;
	struct opts o;
	struct segerr e;
	struct event *sigint = NULL, *sigterm = NULL;
	int ch, n, rc = 1;

	memset(&sd, 0, sizeof sd);
	memset(&o, 0, sizeof o);
	sd.store.dirfd = -1;
	o.lim.maxsegs = default_maxsegs();
	o.lim.maxbytes = (uint64_t)sysconf(_SC_PHYS_PAGES) *
	    (uint64_t)sysconf(_SC_PAGESIZE) / 2;
	sd.deadline_ms = 5000;
	while ((ch = getopt(argc, argv, "fvs:d:N:M:l:D:n:t:m:")) != -1)
		if (option(ch, &sd, &o) != 0)
			return 2;
	if (optind != argc)
		usage();
	if (defaults(&sd, &o) != 0)
		return 2;
	log_init(1, o.verbose);
	signal(SIGPIPE, SIG_IGN);
	if (guard_init() < 0) {		/* before segd touches shared memory */
		log_warn("segd: sigaction SIGBUS");
		return 1;
	}

	if (store_open(&sd.store, o.statedir, &e) < 0) {
		log_warnx("segd: %s", e.msg);
		return 1;
	}
	if (ns_init(&sd.ns, &o.lim, &sd.store) < 0) {
		log_warnx("segd: ns_init: %s", strerror(errno));
		goto out_store;
	}
	if ((sd.base = event_base_new()) == NULL) {
		log_warnx("segd: event_base_new failed");
		goto out_ns;
	}
	if (sd.listen != NULL && (rdma_init(&sd, &e) < 0 ||
	    peer_start(&sd, &e) < 0)) {
		log_warnx("segd: %s", e.msg);
		goto out_rdma;
	}
	/* the modules that serve peers' messages; rops fail first */
	rop_init();
	export_init(&sd);
	rseg_init(&sd);
	sd.ns.hookctx = &sd;
	sd.ns.on_alloc = hook_alloc;
	sd.ns.on_remove = hook_remove;
	sd.ns.on_free = hook_free;
	if ((n = ns_load(&sd.ns)) > 0)
		log_info("segd: found %d segments in %s", n, o.statedir);
	if (backing_watch(&sd) < 0)	/* clients resizing backing files */
		goto out_rdma;
	/* before anything can reach segd: a SIGTERM from then on is a clean stop */
	sigint = evsignal_new(sd.base, SIGINT, signal_cb, &sd);
	sigterm = evsignal_new(sd.base, SIGTERM, signal_cb, &sd);
	if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) < 0 ||
	    evsignal_add(sigterm, NULL) < 0) {
		log_warnx("segd: cannot install signal handlers");
		goto out_control;
	}
	/* mounted before the socket listens: a client that reaches segd
	 * finds the file system there too */
	if (o.mountpoint != NULL && fs_init(&sd, o.mountpoint) < 0)
		goto out_control;
	if (control_init(&sd) < 0)
		goto out_control;
	if (!sd.foreground) {
		if (daemon(0, 0) < 0) {
			log_warn("segd: daemon");
			goto out_control;
		}
		log_init(0, o.verbose);
		if (event_reinit(sd.base) < 0) {
			log_warnx("segd: event_reinit failed");
			goto out_control;
		}
	}
	log_info("segd: serving %s, state in %s", sd.sockpath, o.statedir);
	if (event_base_dispatch(sd.base) < 0)
		log_warnx("segd: event loop failed");
	else
		rc = 0;
out_control:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	control_shutdown(&sd);
out_rdma:
	backing_unwatch();
	peer_shutdown(&sd);	/* every remote operation fails and answers */
	rdma_shutdown(&sd);
	fs_shutdown(&sd);	/* unmounts; after the peers, before segments */
	ns_shutdown(&sd.ns);	/* deregisters every segment */
	rdma_free(&sd);
	event_base_free(sd.base);
	goto out_store;
out_ns:
	ns_shutdown(&sd.ns);
out_store:
	store_close(&sd.store);
	return rc;
}
