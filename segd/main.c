/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * main.c: segd, the node's segment daemon.
 *
 *   segd [-fv] [-c CONFFILE] [-s SOCKET] [-d STATEDIR] [-N MAXSEGS]
 *        [-M MAXBYTES] [-U UIDSEGS] [-B UIDBYTES] [-C UIDCLIENTS]
 *        [-Q UIDQUEUED] [-I IDLE_MS] [-l ADDR[:PORT]] [-D DEVICE]
 *        [-n NODENAME] [-t DEADLINE_MS] [-E TICKET_MS] [-k KEYFILE]
 *        [-m MOUNTPOINT]
 *
 * Options come from the command line, then the configuration file
 * (config.c: -c FILE, else /etc/segd.conf if it exists), then defaults.
 * Under systemd segd says READY=1 once its socket serves (sd_notify), and
 * SIGHUP reloads the log level and the limits from the file.
 */
#include <sys/resource.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "segd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: segd [-fv] [-c conffile] [-s socket] "
	    "[-d statedir] [-N maxsegs] [-M maxbytes]\n"
	    "            [-U uidsegs] [-B uidbytes] [-C uidclients] "
	    "[-Q uidqueued] [-I idle_ms]\n"
	    "            [-l addr[:port]] [-D device] [-n nodename] "
	    "[-t deadline_ms] [-E ticket_ms]\n"
	    "            [-k keyfile] [-H heartbeat_ms] [-m mountpoint]\n");
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
	zio_seg_removed(s);	/* its creator's pool is stale */
}

static void
hook_restored(void *ctx, struct segment *s)
{
	export_restore(ctx, s);	/* exported when segd stopped: again */
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
	log_info("%s: signal %d, shutting down", __func__, sig);
	sd_notify(0, "STOPPING=1");
	event_base_loopbreak(sd->base);
}

/*
 * Descriptors: segd raises its soft limit to the hard one, keeps what the
 * clients and the replies in flight may hold, and caps -N to what is left
 * (a plain segment holds one, a umsg or kmsg segment four), saying so.
 */
#define FD_SPARE 256	/* the socket, FUSE, RDMA, logs, the state directory */

static void
fd_budget(struct segd *sd, struct ns_limits *lim)
{
	struct client_limits *cl = &sd->clim;
	struct rlimit rl;
	rlim_t n, keep;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("segd: getrlimit");
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("segd: setrlimit RLIMIT_NOFILE %llu",
			    (unsigned long long)rl.rlim_max);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	n = rl.rlim_cur;
	keep = (rlim_t)cl->maxclients + cl->total_fds + FD_SPARE;
	if (n < 2 * keep) {	/* a small limit: a share of it for each */
		cl->maxclients = (unsigned)(n / 4 > 128 ? n / 4 : 128);
		cl->total_fds = (unsigned)(n / 8 > 16 ? n / 8 : 16);
		if (cl->uid_fds > cl->total_fds)
			cl->uid_fds = cl->total_fds;
		if (cl->uid_clients > cl->maxclients / 2)
			cl->uid_clients = cl->maxclients / 2;
		keep = (rlim_t)cl->maxclients + cl->total_fds + FD_SPARE;
	}
	lim->maxfds = n > keep + 1 ? (size_t)(n - keep) : 1;
	if (lim->maxsegs > lim->maxfds) {
		log_info("segd: open-file limit %llu: room for %u clients and "
		    "%zu segments; -N lowered from %zu to %zu",
		    (unsigned long long)n, cl->maxclients, lim->maxfds,
		    lim->maxsegs, lim->maxfds);
		lim->maxsegs = lim->maxfds;
	}
}

/* The limits the options left unsaid, once the descriptors are known. */
static void
limits(struct segd *sd, struct ns_limits *lim)
{
	fd_budget(sd, lim);
	/* one uid may have half of -N and -M unless told otherwise */
	if (lim->uid_segs == 0)
		lim->uid_segs = lim->maxsegs / 2 ? lim->maxsegs / 2 : 1;
	if (lim->uid_bytes == 0)
		lim->uid_bytes = lim->maxbytes / 2 ? lim->maxbytes / 2 : 1;
	if (sd->clim.total_out < 2 * sd->clim.uid_out)
		sd->clim.total_out = 2 * sd->clim.uid_out;
}

/* What the command line and the configuration file ask for. */
struct opts {
	struct segd     *sd;
	struct ns_limits lim;
	const char      *statedir, *mountpoint;
	int              verbose;
	const char      *conffile;	/* -c, else CONF_PATH */
	int              conf_required;	/* -c: the file must be there */
	unsigned         cli;		/* 1 << CONF_key for each option given */
	struct conf      conf;		/* the file as segd started with it */
};

/* One option; 2 (exit status) when it is bad. */
static int
option(int ch, struct segd *sd, struct opts *o)
{
	static const char flags[CONF_NKEYS] = {
		[CONF_SOCKET] = 's', [CONF_STATEDIR] = 'd', [CONF_MAXSEGS] = 'N',
		[CONF_MAXBYTES] = 'M', [CONF_LISTEN] = 'l', [CONF_DEVICE] = 'D',
		[CONF_NODE] = 'n', [CONF_DEADLINE] = 't', [CONF_MOUNT] = 'm',
		[CONF_VERBOSE] = 'v', [CONF_FOREGROUND] = 'f', [CONF_TICKET] = 'E',
		[CONF_KEY] = 'k', [CONF_HEARTBEAT] = 'H',
	};
	int k;

	for (k = 0; k < CONF_NKEYS; k++)
		if (flags[k] == ch)
			o->cli |= 1u << k;
	switch (ch) {
	case 'c': o->conffile = optarg; break;
	case 'f': sd->foreground = 1; break;
	case 'v': o->verbose = 1; break;
	case 's': sd->sockpath = optarg; break;
	case 'd': o->statedir = optarg; break;
	case 'N': o->lim.maxsegs = number_arg("N", optarg, 1, CONF_MAXSEGS_MAX);
		break;
	case 'M': o->lim.maxbytes = number_arg("M", optarg, 1, UINT64_MAX); break;
	case 'U': o->lim.uid_segs = number_arg("U", optarg, 1, 1u << 24); break;
	case 'B': o->lim.uid_bytes = number_arg("B", optarg, 1, UINT64_MAX); break;
	case 'C':
		sd->clim.uid_clients = (unsigned)number_arg("C", optarg, 1,
		    SEGD_MAXCLIENTS);
		break;
	case 'Q': sd->clim.uid_out = number_arg("Q", optarg, 65536, 1ULL << 40); break;
	case 'I':
		sd->clim.idle_ms = (unsigned)number_arg("I", optarg, 10, 3600000);
		break;
	case 'l': sd->listen = optarg; break;
	case 'D': sd->device = optarg; break;
	case 'k': sd->keyfile = optarg; break;
	case 'm': o->mountpoint = optarg; break;
	case 't':
		sd->deadline_ms = (unsigned)number_arg("t", optarg,
		    CONF_DEADLINE_MIN, CONF_DEADLINE_MAX);
		break;
	case 'E':
		sd->ticket_ms = (unsigned)number_arg("E", optarg, 0,
		    CONF_TICKET_MAX);
		break;
	case 'H':
		sd->heartbeat_ms = (unsigned)number_arg("H", optarg, 0,
		    CONF_HEARTBEAT_MAX);
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

/* Whether the file gives key k and no option overrides it. */
#define FROM_FILE(o, c, k) (((c)->set & ~(o)->cli) & (1u << (k)))

/* The file's values where the command line said nothing. */
static void
apply_conf(struct segd *sd, struct opts *o)
{
	struct conf *c = &o->conf;

	if (FROM_FILE(o, c, CONF_SOCKET))
		sd->sockpath = c->str[CONF_SOCKET];
	if (FROM_FILE(o, c, CONF_STATEDIR))
		o->statedir = c->str[CONF_STATEDIR];
	if (FROM_FILE(o, c, CONF_MAXSEGS))
		o->lim.maxsegs = c->maxsegs;
	if (FROM_FILE(o, c, CONF_MAXBYTES))
		o->lim.maxbytes = c->maxbytes;
	if (FROM_FILE(o, c, CONF_LISTEN))
		sd->listen = c->str[CONF_LISTEN];
	if (FROM_FILE(o, c, CONF_DEVICE))
		sd->device = c->str[CONF_DEVICE];
	if (FROM_FILE(o, c, CONF_NODE))
		snprintf(sd->node, sizeof sd->node, "%.*s", SEGP_NODEMAX,
		    c->str[CONF_NODE]);
	if (FROM_FILE(o, c, CONF_DEADLINE))
		sd->deadline_ms = c->deadline_ms;
	if (FROM_FILE(o, c, CONF_TICKET))
		sd->ticket_ms = c->ticket_ms;
	if (FROM_FILE(o, c, CONF_KEY))
		sd->keyfile = c->str[CONF_KEY];
	if (FROM_FILE(o, c, CONF_HEARTBEAT))
		sd->heartbeat_ms = c->heartbeat_ms;
	if (FROM_FILE(o, c, CONF_MOUNT))
		o->mountpoint = c->str[CONF_MOUNT];
	if (FROM_FILE(o, c, CONF_VERBOSE))
		o->verbose = c->verbose;
	if (FROM_FILE(o, c, CONF_FOREGROUND))
		sd->foreground = c->foreground;
}

static uint64_t
default_maxbytes(void)
{
	return (uint64_t)sysconf(_SC_PHYS_PAGES) *
	    (uint64_t)sysconf(_SC_PAGESIZE) / 2;
}

/* A limit after a reload: the option's, else the file's, else the default. */
static uint64_t
reload_limit(struct opts *o, const struct conf *c, int k, uint64_t now,
    uint64_t file, uint64_t def)
{
	uint64_t v = o->cli & (1u << k) ? now : c->set & (1u << k) ? file : def;

	if (o->cli & (1u << k))
		log_info("%s: %s %llu: set on the command line", __func__,
		    conf_key_name(k), (unsigned long long)v);
	else if (v != now)
		log_info("%s: %s %llu (was %llu)", __func__, conf_key_name(k),
		    (unsigned long long)v, (unsigned long long)now);
	else
		log_info("%s: %s %llu (unchanged)", __func__, conf_key_name(k),
		    (unsigned long long)v);
	return v;
}

/* The keys a reload does not apply: say when the file changed them. */
static void
reload_rest(struct opts *o, const struct conf *c)
{
	const struct conf *was = &o->conf;
	unsigned k, bit;

	for (k = 0; k < CONF_NKEYS; k++) {
		bit = 1u << k;
		if (k == CONF_MAXSEGS || k == CONF_MAXBYTES || k == CONF_VERBOSE ||
		    (o->cli & bit))
			continue;
		if ((c->set & bit) != (was->set & bit) ||
		    strcmp(c->str[k], was->str[k]) != 0 ||
		    (k == CONF_DEADLINE && c->deadline_ms != was->deadline_ms) ||
		    (k == CONF_FOREGROUND && c->foreground != was->foreground))
			log_warnx("%s: %s changed in %s: it takes effect when "
			    "segd restarts", __func__, conf_key_name((int)k),
			    o->conffile);
	}
}

/* SIGHUP: the log level and the limits again, from the file. */
static void
hup_cb(int sig, short ev, void *arg)
{
	struct opts *o = arg;
	struct ns *ns = &o->sd->ns;
	struct conf *c;
	struct segerr e;
	int verbose;

	(void)sig, (void)ev;
	sd_notify(0, "RELOADING=1");
	log_info("%s: SIGHUP: reloading %s", __func__, o->conffile);
	if ((c = malloc(sizeof *c)) == NULL ||
	    conf_load(c, o->conffile, o->conf_required, &e) < 0) {
		log_warnx("%s: %s: nothing changed", __func__, c == NULL ?
		    "malloc: out of memory" : e.msg);
		free(c);
		sd_notify(0, "READY=1");
		return;
	}
	verbose = o->cli & (1u << CONF_VERBOSE) ? 1 :
	    c->set & (1u << CONF_VERBOSE) ? c->verbose : 0;
	log_set_verbose(verbose);
	log_info("%s: verbose %s", __func__, verbose ? "yes" : "no");
	ns->lim.maxsegs = reload_limit(o, c, CONF_MAXSEGS, ns->lim.maxsegs,
	    c->maxsegs, default_maxsegs());
	ns->lim.maxbytes = reload_limit(o, c, CONF_MAXBYTES, ns->lim.maxbytes,
	    c->maxbytes, default_maxbytes());
	if (ns->nsegs > ns->lim.maxsegs || ns->bytes > ns->lim.maxbytes)
		log_warnx("%s: %zu segments of %llu bytes exist: more are refused "
		    "until some are removed", __func__, ns->nsegs,
		    (unsigned long long)ns->bytes);
	if (ns->lim.maxfds != 0 && ns->lim.maxsegs > ns->lim.maxfds) {
		log_info("%s: maxsegs %zu capped to %zu by the open-file limit",
		    __func__, ns->lim.maxsegs, ns->lim.maxfds);
		ns->lim.maxsegs = ns->lim.maxfds;
	}
	reload_rest(o, c);
	free(c);
	sd_notify(0, "READY=1");
}

/* *path, or else fn's default, kept in buf; 2 (what says so) without one. */
static int
path_default(const char **path, char *buf, size_t size,
    int (*fn)(char *, size_t), const char *what)
{
	if (*path != NULL)
		return 0;
	if (fn(buf, size) < 0) {
		fprintf(stderr, "segd: no %s\n", what);
		return 2;
	}
	*path = buf;
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
	if (path_default(&sd->sockpath, sockbuf, sizeof sockbuf,
	    seg_default_socket, "socket path: use -s, or set SEGD_SOCKET or "
	    "XDG_RUNTIME_DIR") != 0)
		return 2;
	return path_default(&o->statedir, statebuf, sizeof statebuf,
	    default_statedir, "state directory: use -d, or set XDG_RUNTIME_DIR");
}

/* The command line, then the file; 0, or the exit status. */
static int
configure(int argc, char *argv[], struct segd *sd, struct opts *o)
{
	struct segerr e;
	int ch;

	sd->ticket_ms = UINT_MAX;	/* unset */
	sd->heartbeat_ms = UINT_MAX;
	while ((ch = getopt(argc, argv,
	    "fvc:s:d:N:M:U:B:C:Q:I:l:D:n:t:m:E:k:H:")) != -1)
		if (option(ch, sd, o) != 0)
			return 2;
	if (optind != argc)
		usage();
	o->conf_required = o->conffile != NULL;
	if (o->conffile == NULL)
		o->conffile = CONF_PATH;
	if (conf_load(&o->conf, o->conffile, o->conf_required, &e) < 0) {
		fprintf(stderr, "segd: %s\n", e.msg);
		return 2;
	}
	apply_conf(sd, o);
	if (o->lim.maxsegs == 0)
		o->lim.maxsegs = default_maxsegs();
	if (o->lim.maxbytes == 0)
		o->lim.maxbytes = default_maxbytes();
	if (sd->deadline_ms == 0)
		sd->deadline_ms = 5000;
	if (sd->ticket_ms == UINT_MAX)
		sd->ticket_ms = 60000;
	if (sd->heartbeat_ms == UINT_MAX)
		sd->heartbeat_ms = 4000;
	return defaults(sd, o);
}

/* SIGINT and SIGTERM stop segd, SIGHUP reloads; -1 if they cannot be had. */
static int
signals(struct segd *sd, struct opts *o, struct event *ev[3])
{
	static const int sig[3] = { SIGINT, SIGTERM, SIGHUP };
	int i;

	for (i = 0; i < 3; i++) {
		ev[i] = evsignal_new(sd->base, sig[i], sig[i] == SIGHUP ?
		    hup_cb : signal_cb, sig[i] == SIGHUP ? (void *)o :
		    (void *)sd);
		if (ev[i] == NULL || evsignal_add(ev[i], NULL) < 0) {
			log_errx("%s: cannot install the handler of signal %d",
			    __func__, sig[i]);
			return -1;
		}
	}
	return 0;
}

/* Serving from here on: detach unless -f, then tell systemd. */
static int
serve(struct segd *sd, struct opts *o)
{
	if (!sd->foreground) {
		if (daemon(0, 0) < 0) {
			log_warn("%s: daemon", __func__);
			return -1;
		}
		log_init(0, o->verbose);
		if (event_reinit(sd->base) < 0) {
			log_errx("%s: event_reinit failed", __func__);
			return -1;
		}
	}
	log_info("segd: serving %s, state in %s", sd->sockpath, o->statedir);
	/* the socket listens, so a client that reaches segd is served */
	sd_notifyf(0, "READY=1\nMAINPID=%ld\nSTATUS=serving %s",
	    (long)getpid(), sd->sockpath);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct segd sd;
	static struct opts o;	/* the file's values live as long as segd */
	struct segerr e;
	struct event *sigev[3] = { NULL, NULL, NULL };
	int n, i, rc = 1;

	memset(&sd, 0, sizeof sd);
	sd.store.dirfd = -1;
	o.sd = &sd;
	sd.clim = (struct client_limits){ .maxclients = SEGD_MAXCLIENTS,
	    .uid_clients = SEGD_MAXCLIENTS / 4, .uid_out = 32u << 20,
	    .total_out = 128u << 20, .uid_fds = 256, .total_fds = 1024,
	    .idle_ms = 30000 };
	if ((n = configure(argc, argv, &sd, &o)) != 0)
		return n;
	log_init(1, o.verbose);	/* start-up errors to the terminal */
	signal(SIGPIPE, SIG_IGN);
	if (guard_init() < 0) {		/* before segd touches shared memory */
		log_warn("segd: sigaction SIGBUS");
		return 1;
	}
	limits(&sd, &o.lim);

	if (sd.keyfile != NULL && (sd.auth = auth_load(sd.keyfile, &e)) == NULL) {
		log_errx("segd: -k %s: %s", sd.keyfile, e.msg);
		return 1;
	}
	if (store_open(&sd.store, o.statedir, &e) < 0) {
		log_errx("segd: %s", e.msg);
		goto out_auth;
	}
	if (ns_init(&sd.ns, &o.lim, &sd.store) < 0) {
		log_errx("segd: ns_init: %s", strerror(errno));
		goto out_store;
	}
	if ((sd.base = event_base_new()) == NULL) {
		log_errx("segd: event_base_new failed");
		goto out_ns;
	}
	/* every event at SEGD_PRIO_NORMAL but the work that waits until the
	 * loop has nothing else to do (rfree.c's idle flush) */
	if (event_base_priority_init(sd.base, SEGD_NPRIO) < 0) {
		log_errx("segd: event_base_priority_init failed");
		goto out_base;
	}
	if (sd.listen != NULL && (rdma_init(&sd, &e) < 0 ||
	    peer_start(&sd, &e) < 0 || grant_init(&sd, &e) < 0)) {
		log_errx("segd: %s", e.msg);
		goto out_rdma;
	}
	if (sd.listen != NULL && sd.auth == NULL)
		log_warnx("segd: peers are not authenticated: any host that "
		    "reaches %s may connect under any node name (give every "
		    "segd of the cluster the same key file with -k)", sd.listen);
	else if (sd.listen != NULL)
		log_info("segd: peers must prove the cluster key of %s",
		    sd.keyfile);
	/* the modules that serve peers' messages; rops fail first */
	rop_init();
	export_init(&sd);
	rseg_init(&sd);
	rseg_free_init(&sd);
	sd.ns.hookctx = &sd;
	sd.ns.on_alloc = hook_alloc;
	sd.ns.on_remove = hook_remove;
	sd.ns.on_free = hook_free;
	sd.ns.on_restored = hook_restored;
	if ((n = ns_load(&sd.ns)) > 0)
		log_info("segd: found %d segments in %s", n, o.statedir);
	if (backing_watch(&sd) < 0)	/* clients resizing backing files */
		goto out_rdma;
	/* before anything can reach segd: a SIGTERM from then on is a clean stop */
	if (signals(&sd, &o, sigev) < 0)
		goto out_control;
	/* mounted before the socket listens: a client that reaches segd
	 * finds the file system there too */
	if (o.mountpoint != NULL && fs_init(&sd, o.mountpoint) < 0)
		goto out_control;
	if (control_init(&sd) < 0 || serve(&sd, &o) < 0)
		goto out_control;
	if (event_base_dispatch(sd.base) < 0)
		log_errx("segd: event loop failed");
	else
		rc = 0;
out_control:
	for (i = 0; i < 3; i++)
		if (sigev[i] != NULL)
			event_free(sigev[i]);
	control_shutdown(&sd);
out_rdma:
	backing_unwatch();
	peer_shutdown(&sd);	/* every remote operation fails and answers */
	grant_shutdown();
	rdma_shutdown(&sd);
	fs_shutdown(&sd);	/* unmounts; after the peers, before segments */
	ns_shutdown(&sd.ns);	/* deregisters every segment */
	rdma_free(&sd);
	event_base_free(sd.base);
	goto out_store;
out_base:
	event_base_free(sd.base);
out_ns:
	ns_shutdown(&sd.ns);
out_store:
	store_close(&sd.store);
out_auth:
	auth_free(sd.auth);
	return rc;
}
