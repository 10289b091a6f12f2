/*
 * pstats.c: counters per peer, kept by the peer's node name across its
 * connections: messages sent and received by type (peer.c and peer_msg.c
 * count them), connections made (peer_msg.c) and ended by an error
 * (peer.c), and the remote
 * operations segd posts for its clients, with their failures, bytes and
 * latency in a fixed-bucket histogram (rseg.c counts them).  control.c
 * formats them.  It calls nothing; the table never shrinks, so a pointer
 * to an entry stays valid while segd runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "segd.h"

#define PSTAT_MAX 256		/* nodes; later ones share the last entry */

static struct pstat *table[PSTAT_MAX];
static unsigned ntable;

static const char *const op_names[PSO_MAX] = {
	[PSO_IMPORT] = "import", [PSO_LIST] = "list", [PSO_GET] = "get",
	[PSO_PUT] = "put", [PSO_BARRIER] = "barrier", [PSO_FREE] = "free",
	[PSO_SIGNAL] = "signal", [PSO_ATOMIC] = "atomic", [PSO_ALIVE] = "alive",
};

const char *
pstat_op_name(int op)
{
	return op >= 0 && op < PSO_MAX ? op_names[op] : "?";
}

/* The entry of node (created on first use); NULL only without memory. */
struct pstat *
pstat_get(const char *node)
{
	struct pstat *s;
	unsigned i;

	if (node == NULL || node[0] == '\0')
		node = "-";
	for (i = 0; i < ntable; i++)
		if (strcmp(table[i]->node, node) == 0)
			return table[i];
	if (ntable == PSTAT_MAX) {
		s = table[PSTAT_MAX - 1];
		snprintf(s->node, sizeof s->node, "%s", "other");
		return s;
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	snprintf(s->node, sizeof s->node, "%s", node);
	table[ntable++] = s;
	return s;
}

uint64_t
pstat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bucket b holds latencies below 2^b microseconds; the last, the rest. */
static unsigned
bucket(uint64_t us)
{
	unsigned b = 0;

	while (b < PSTAT_BUCKETS - 1 && us >= (1ull << b))
		b++;
	return b;
}

/* An operation done (ok) or failed, amount its bytes or addresses. */
void
pstat_op(const char *node, int op, uint64_t amount, uint64_t start_ns, int ok)
{
	struct pstat *s = pstat_get(node);
	uint64_t ns = pstat_now() - start_ns;

	if (s == NULL || op < 0 || op >= PSO_MAX)
		return;
	s->ops[op]++;
	if (!ok) {
		s->op_errors[op]++;
		return;
	}
	s->amount[op] += amount;
	s->lat[op][bucket(ns / 1000)]++;
	s->lat_sum_ns[op] += ns;
}

/*
 * The upper bound, in seconds, of the bucket holding quantile q of op's
 * successful latencies; 0 when there are none.  The last bucket has no
 * bound: its lower one is given.
 */
double
pstat_quantile(const struct pstat *s, int op, double q)
{
	uint64_t n = 0, seen = 0, want;
	unsigned b;

	for (b = 0; b < PSTAT_BUCKETS; b++)
		n += s->lat[op][b];
	if (n == 0)
		return 0;
	want = (uint64_t)(q * (double)n + 0.999999);
	if (want == 0)
		want = 1;
	for (b = 0; b < PSTAT_BUCKETS - 1; b++) {
		seen += s->lat[op][b];
		if (seen >= want)
			break;
	}
	if (b == PSTAT_BUCKETS - 1)
		return (double)(1ull << (PSTAT_BUCKETS - 2)) / 1e6;
	return (double)(1ull << b) / 1e6;
}

uint64_t
pstat_count(const struct pstat *s, int op)
{
	uint64_t n = 0;
	unsigned b;

	for (b = 0; b < PSTAT_BUCKETS; b++)
		n += s->lat[op][b];
	return n;
}

void
pstat_foreach(void (*fn)(const struct pstat *, void *), void *arg)
{
	unsigned i;

	for (i = 0; i < ntable; i++)
		fn(table[i], arg);
}
