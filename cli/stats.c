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

/*
 * One sample, NAME{L="V",...} VALUE, as a JSON object.  Label values are
 * unescaped as the exposition format says (\\, \", \n).  -1 if malformed.
 */
static int
json_sample(const char *s)
{
	size_t nl = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
	char val[512];

	if (nl == 0 || (s[nl] != '{' && s[nl] != ' '))
		return -1;
	json_open('{');
	json_key("name"), json_strn(s, nl);
	json_key("labels"), json_open('{');
	s += nl;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			size_t kl = strspn(s, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), vl = 0;
			char key[128];
			if (kl == 0 || kl >= sizeof key || s[kl] != '=' ||
			    s[kl + 1] != '"')
				return -1;
			memcpy(key, s, kl);
			key[kl] = '\0';
			for (s += kl + 2; *s != '"'; s++) {
				if (*s == '\0' || vl + 1 >= sizeof val)
					return -1;
				if (*s == '\\') {
					s++;
					if (*s != '\\' && *s != '"' && *s != 'n')
						return -1;
					val[vl++] = *s == 'n' ? '\n' : *s;
				} else
					val[vl++] = *s;
			}
			json_key(key), json_strn(val, vl);
			s++;
			if (*s == ',')
				s++;
			else if (*s != '}')
				return -1;
		}
		s++;
	}
	json_close('}');
	if (*s++ != ' ' || *s == '\0' || strchr(s, ' ') != NULL)
		return -1;
	json_key("value"), json_num(s);
	json_close('}');
	return 0;
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
