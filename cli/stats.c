/*
 * stats.c: segctl stats.  segd formats its counters (control.c): the
 * node's as "key value" lines (seg_stats), and every counter, per peer
 * ones included, in the Prometheus text exposition format (seg_metrics).
 * segctl shows them as they are (plain: the node's lines, then the
 * per-peer samples; --prometheus: the whole text) or turns them into JSON.
 * What segd sends is checked like any input: a line segctl cannot read is
 * an error that quotes it.
 */
#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "segctl.h"

#define TEXTMAX (1u << 20)

#define PEER_PREFIX "segd_peer_"

/* "key value" lines into a JSON object's members */
static void
json_counters(char *buf)
{
	char *line, *save = NULL;

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (sp == NULL || sp == line)
			fail("stats", "segd sent a line segctl does not know: "
			    "'%.80s'", line);
		*sp = '\0';
		json_key(line);
		json_num(sp + 1);
	}
}

static void
stats_json(char *counters, char *metrics)
{
	char *line, *save = NULL;

	json_open('{');
	json_counters(counters);
	json_key("metrics"), json_open('[');
	for (line = strtok_r(metrics, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#' && json_sample(line) < 0) {
			fflush(stdout);
			fail("stats", "segd sent a metric segctl does not know: "
			    "'%.80s'", line);
		}
	json_close(']');
	json_close('}');
}

int
cmd_stats(int argc, char **argv)
{
	static char counters[4096], metrics[TEXTMAX];
	int prom = 0;
	char *line, *save = NULL;

	if (argc == 2 && strcmp(argv[1], "--prometheus") == 0)
		prom = 1;
	else if (argc != 1)
		usage();
	if (seg_metrics(metrics, sizeof metrics) < 0)
		fail("stats", "%s", seg_errstr());
	if (prom) {
		fputs(metrics, stdout);
		return 0;
	}
	if (seg_stats(counters, sizeof counters) < 0)
		fail("stats", "%s", seg_errstr());
	if (opt_json) {
		stats_json(counters, metrics);
		return 0;
	}
	fputs(counters, stdout);
	for (line = strtok_r(metrics, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, PEER_PREFIX, strlen(PEER_PREFIX)) == 0)
			puts(line);
	return 0;
}
