/*
 * show.c: what segctl shows of segd: ls, ls NODE, stat, peers and stats,
 * as plain lines (with a header line when standard output is a terminal,
 * as ss and ip do) or, with -j, as JSON (the schema is in segctl(1)).
 */
#include <ctype.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"
#include "segctl.h"

#define TEXTMAX (1u << 20)	/* peers' lines, metrics */

static void
header(const char *line)
{
	if (!opt_json && isatty(1))
		puts(line);
}

static void
owner_name(unsigned uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", uid);
}

static void
json_info(const struct seg_info *s)
{
	char owner[64], mode[8];

	owner_name(s->uid, owner, sizeof owner);
	snprintf(mode, sizeof mode, "%04o", s->mode);
	json_open('{');
	json_key("name"), json_str(s->name);
	json_key("verb"), json_str(s->verb);
	json_key("address"), json_u64(s->va);
	json_key("length"), json_u64(s->len);
	json_key("owner"), json_str(owner);
	json_key("uid"), json_u64(s->uid);
	json_key("gid"), json_u64(s->gid);
	json_key("mode"), json_str(mode);
	json_key("attaches"), json_u64(s->nattach);
	json_close('}');
}

static void
print_info(const struct seg_info *s)
{
	char owner[64];

	owner_name(s->uid, owner, sizeof owner);
	printf("%s %s 0x%llx 0x%llx %s %04o %u\n", s->name, s->verb,
	    (unsigned long long)s->va, (unsigned long long)s->len, owner,
	    s->mode, s->nattach);
}

/* an export's SEG_* flags as segctl export -f takes them; "" for none */
static void
flag_names(unsigned flags, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", flags & SEG_ALLOW_REBIND ? "rebind" :
	    "", flags & SEG_ALLOW_REBIND && flags & ~SEG_ALLOW_REBIND ? "," : "",
	    flags & SEG_DONTWAIT ? "dontwait" : "",
	    flags & SEG_DONTWAIT && flags & SEG_LOCK_OPS ? "," : "",
	    flags & SEG_LOCK_OPS ? "lockops" : "");
}

/*
 * A peer's exports: the address is 0 when its protocol predates it; the
 * export's flags, if any, after the access.
 */
static void
show_remote(const struct seg_info *v, int n)
{
	char fl[32];
	int i;

	if (opt_json)
		json_open('[');
	else
		header("NAME VERB ADDRESS LENGTH ACCESS");
	for (i = 0; i < n; i++) {
		const char *acc = v[i].mode & 2 ? "rw" : "r";
		flag_names(SEG_PEER_FLAGS(v[i].mode), fl, sizeof fl);
		if (opt_json) {
			json_open('{');
			json_key("name"), json_str(v[i].name);
			json_key("verb"), json_str(v[i].verb);
			json_key("address");
			if (v[i].va != 0)
				json_u64(v[i].va);
			else
				json_null();
			json_key("length"), json_u64(v[i].len);
			json_key("access"), json_str(acc);
			json_key("flags"), json_str(fl);
			json_close('}');
		} else if (v[i].va != 0)
			printf("%s %s 0x%llx 0x%llx %s%s%s\n", v[i].name,
			    v[i].verb, (unsigned long long)v[i].va,
			    (unsigned long long)v[i].len, acc, fl[0] ? " " : "",
			    fl);
		else
			printf("%s %s - 0x%llx %s%s%s\n", v[i].name, v[i].verb,
			    (unsigned long long)v[i].len, acc, fl[0] ? " " : "",
			    fl);
	}
	if (opt_json)
		json_close(']');
}

int
cmd_ls(int argc, char **argv)
{
	struct seg_info *v;
	int i, n;

	if (argc > 2)
		usage();
	if (argc == 2) {
		if ((n = seg_peer_list(argv[1], &v)) < 0)
			fail(argv[1], "%s", seg_errstr());
		show_remote(v, n);
		free(v);
		return 0;
	}
	if ((n = seg_list(&v)) < 0)
		fail("ls", "%s", seg_errstr());
	if (opt_json)
		json_open('[');
	else
		header("NAME VERB ADDRESS LENGTH OWNER MODE ATTACHES");
	for (i = 0; i < n; i++)
		opt_json ? json_info(&v[i]) : print_info(&v[i]);
	if (opt_json)
		json_close(']');
	free(v);
	return 0;
}

int
cmd_stat(int argc, char **argv)
{
	struct seg_info s;

	if (argc != 2)
		usage();
	if (seg_stat(argv[1], &s) < 0)
		fail(argv[1], "%s", seg_errstr());
	if (opt_json) {
		json_info(&s);
		return 0;
	}
	printf("name %s\nverb %s\naddress 0x%llx\nlength 0x%llx\nuid %u\n"
	    "gid %u\nmode %04o\nattaches %u\n", s.name, s.verb,
	    (unsigned long long)s.va, (unsigned long long)s.len, s.uid, s.gid,
	    s.mode, s.nattach);
	return 0;
}

/*
 * One line of segd's peers: NODE WHERE in|out STATE LABEL credits N
 * queued N version N.  -1 when it is not that.
 */
static int
json_peer(const char *text)
{
	static const char *const keys[] = { "node", "address", "direction",
	    "state", "label" };
	char line[1024], *f[11], *save = NULL, *t;
	int n = 0, i;

	snprintf(line, sizeof line, "%s", text);
	for (t = strtok_r(line, " ", &save); t != NULL && n < 11;
	    t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n != 11 || t != NULL || strcmp(f[5], "credits") != 0 ||
	    strcmp(f[7], "queued") != 0 || strcmp(f[9], "version") != 0)
		return -1;
	for (i = 6; i <= 10; i += 2)
		if (f[i][strspn(f[i], "-0123456789")] != '\0')
			return -1;
	json_open('{');
	for (i = 0; i < 5; i++)
		json_key(keys[i]), json_str(f[i]);
	json_key("credits"), json_i64(strtoll(f[6], NULL, 10));
	json_key("queued"), json_u64(strtoull(f[8], NULL, 10));
	json_key("version"), json_u64(strtoull(f[10], NULL, 10));
	json_close('}');
	return 0;
}

int
cmd_peers(int argc, char **argv)
{
	static char buf[TEXTMAX];
	char *line, *save = NULL;

	(void)argv;
	if (argc != 1)
		usage();
	if (seg_peers(buf, sizeof buf) < 0)
		fail("peers", "%s", seg_errstr());
	if (!opt_json) {
		header("NODE WHERE DIR STATE LABEL CREDITS QUEUED VERSION");
		fputs(buf, stdout);
		return 0;
	}
	json_open('[');
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (json_peer(line) < 0)
			fail("peers", "segd sent a line segctl does not know: "
			    "'%.80s'", line);
	json_close(']');
	return 0;
}
