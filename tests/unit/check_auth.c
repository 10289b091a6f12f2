/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * check_auth.c: the cluster key (segd/auth.c).  Key files that another
 * user owns, that others may read or write, that are short, long, links or
 * no files at all are refused, with a message saying why; the connect tag
 * and the AUTH proof are HMAC-SHA256 of what proto/segwire.c lays out, and
 * checking them fails for a bad tag, another key, another nonce, another
 * address or port, other node names, or the other side's role.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check_main.h"
#include "segd.h"

static char topdir[256];	/* per test case, made and removed by the parent */
static char dir[300];		/* per test: the key's directory */
static int dirfd_ = -1;
static uint8_t keybytes[64];

static void
case_begin(void)
{
	ck_mkdtemp(topdir, sizeof topdir, "check_auth");
}

static void
case_end(void)
{
	ck_rm_rf(topdir);
}

static void
setup(void)
{
	static unsigned n;
	unsigned i;

	snprintf(dir, sizeof dir, "%s/keys.%d.%u", topdir, (int)getpid(), n++);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dirfd_, 0);
	for (i = 0; i < sizeof keybytes; i++)
		keybytes[i] = (uint8_t)(i * 37 + 11);
}

static void
teardown(void)
{
	close(dirfd_);
}

static const struct ck_fix fix = { setup, teardown, case_begin, case_end };

/* dir/name with len bytes of keybytes (repeated), mode mode. */
static void
put_key(const char *name, size_t len, mode_t mode)
{
	char path[400];
	size_t i;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < len; i++) {
		uint8_t b = keybytes[i % sizeof keybytes];
		ck_assert_int_eq(write(fd, &b, 1), 1);
	}
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* auth_key_read of name with owner: its result, the message in e. */
static int
read_key(const char *name, uid_t owner, struct segerr *e)
{
	uint8_t key[AUTH_KEYMAX];
	size_t len = 0;
	int r;

	memset(e, 0, sizeof *e);
	r = auth_key_read(dirfd_, name, owner, key, sizeof key, &len, e);
	if (r == 0) {
		ck_assert_uint_ge(len, AUTH_KEYMIN);
		ck_assert_mem_eq(key, keybytes, len < sizeof keybytes ? len :
		    sizeof keybytes);
	} else {
		ck_assert_int_ne(e->code, 0);
		ck_assert(e->msg[0] != '\0');
	}
	return r;
}

START_TEST(key_good)
{
	struct segerr e;
	struct auth *a;
	char path[400];

	put_key("key", 32, 0600);
	ck_assert_int_eq(read_key("key", geteuid(), &e), 0);
	put_key("key400", 48, 0400);
	ck_assert_int_eq(read_key("key400", geteuid(), &e), 0);
	snprintf(path, sizeof path, "%s/key", dir);
	a = auth_load(path, &e);
	ck_assert_msg(a != NULL, "auth_load: %s", e.msg);
	auth_free(a);
}
END_TEST

START_TEST(key_wrong_owner)
{
	struct segerr e;

	put_key("key", 32, 0600);
	ck_assert_int_eq(read_key("key", geteuid() + 1, &e), -1);
	ck_assert_int_eq(e.code, EPERM);
	ck_assert_ptr_nonnull(strstr(e.msg, "ownership"));
}
END_TEST

START_TEST(key_wrong_modes)
{
	static const mode_t bad[] = { 0640, 0604, 0620, 0602, 0610, 0601, 0644,
	    0666 };
	struct segerr e;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put_key("key", 32, bad[i]);
		ck_assert_msg(read_key("key", geteuid(), &e) == -1,
		    "mode %04o taken", (unsigned)bad[i]);
		ck_assert_int_eq(e.code, EPERM);
		ck_assert_ptr_nonnull(strstr(e.msg, "chmod 600"));
	}
}
END_TEST

START_TEST(key_short_long)
{
	struct segerr e;

	put_key("key", AUTH_KEYMIN - 1, 0600);
	ck_assert_int_eq(read_key("key", geteuid(), &e), -1);
	ck_assert_int_eq(e.code, EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "31 bytes"));
	put_key("empty", 0, 0600);
	ck_assert_int_eq(read_key("empty", geteuid(), &e), -1);
	put_key("long", AUTH_KEYMAX + 1, 0600);
	ck_assert_int_eq(read_key("long", geteuid(), &e), -1);
	ck_assert_int_eq(e.code, EINVAL);
	put_key("max", AUTH_KEYMAX, 0600);
	ck_assert_int_eq(read_key("max", geteuid(), &e), 0);
}
END_TEST

START_TEST(key_not_a_file)
{
	struct segerr e;

	put_key("real", 32, 0600);
	ck_assert_int_eq(symlinkat("real", dirfd_, "link"), 0);
	ck_assert_int_eq(read_key("link", geteuid(), &e), -1);
	ck_assert_int_eq(e.code, ELOOP);
	ck_assert_ptr_nonnull(strstr(e.msg, "symbolic link"));
	ck_assert_int_eq(mkdirat(dirfd_, "sub", 0700), 0);
	ck_assert_int_eq(read_key("sub", geteuid(), &e), -1);
	ck_assert_int_eq(e.code, EINVAL);
	ck_assert_int_eq(mkfifoat(dirfd_, "fifo", 0600), 0);
	ck_assert_int_eq(read_key("fifo", geteuid(), &e), -1);
	ck_assert_int_eq(read_key("missing", geteuid(), &e), -1);
	ck_assert_int_eq(e.code, ENOENT);
}
END_TEST

/* a key in a directory others may write: refused by auth_load */
START_TEST(key_unsafe_dir)
{
	struct segerr e;
	char path[400];

	put_key("key", 32, 0600);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	snprintf(path, sizeof path, "%s/key", dir);
	ck_assert_ptr_null(auth_load(path, &e));
	ck_assert_int_eq(e.code, EPERM);
	ck_assert_ptr_nonnull(strstr(e.msg, "writable by no other user"));
	ck_assert_int_eq(chmod(dir, 0700), 0);
}
END_TEST

/* ---- tags and proofs ---- */

static struct auth *
key_of(uint8_t seed)
{
	uint8_t k[32];
	struct auth *a;
	size_t i;

	for (i = 0; i < sizeof k; i++)
		k[i] = (uint8_t)(seed + i * 3);
	a = auth_new(k, sizeof k);
	ck_assert_ptr_nonnull(a);
	return a;
}

static void
v4(struct sockaddr_in *s, const char *addr, uint16_t port)
{
	memset(s, 0, sizeof *s);
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, addr, &s->sin_addr), 1);
}

static void
sample_connect(struct segp_connect *c)
{
	memset(c, 0, sizeof *c);
	c->magic = SEGP_CONNECT_AUTH;
	c->vmin = SEGP_VERSION_MIN;
	c->vmax = SEGP_VERSION_MAX;
	memset(c->nonce, 0x42, sizeof c->nonce);
}

START_TEST(connect_tag)
{
	struct auth *a = key_of(1), *b = key_of(2);
	struct sockaddr_in t, other;
	struct segp_connect c, d;
	uint8_t in[SEGP_CONNECT_MACIN], addr[16], mac[32];
	unsigned int mlen = 0;
	uint16_t port;

	sample_connect(&c);
	v4(&t, "10.0.2.15", 7450);
	ck_assert_int_eq(auth_connect_tag(a, &c, (struct sockaddr *)&t), 0);
	ck_assert(auth_connect_ok(a, &c, (struct sockaddr *)&t));
	/* the tag is HMAC-SHA256 of segp_connect_macin, cut to 16 bytes */
	seg_addr16((struct sockaddr *)&t, addr, &port);
	ck_assert_uint_eq(port, 7450);
	ck_assert_uint_eq(addr[10], 0xff);
	ck_assert_uint_eq(addr[12], 10);
	segp_connect_macin(in, &c, addr, port);
	{
		uint8_t k[32];
		size_t i;

		for (i = 0; i < sizeof k; i++)
			k[i] = (uint8_t)(1 + i * 3);
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), k, sizeof k, in,
		    sizeof in, mac, &mlen));
	}
	ck_assert_uint_eq(mlen, 32);
	ck_assert_mem_eq(c.tag, mac, SEGP_TAGLEN);
	/* a bad tag */
	d = c;
	d.tag[5] ^= 1;
	ck_assert(!auth_connect_ok(a, &d, (struct sockaddr *)&t));
	/* another key */
	ck_assert(!auth_connect_ok(b, &c, (struct sockaddr *)&t));
	/* another address, another port */
	v4(&other, "10.0.2.16", 7450);
	ck_assert(!auth_connect_ok(a, &c, (struct sockaddr *)&other));
	v4(&other, "10.0.2.15", 7451);
	ck_assert(!auth_connect_ok(a, &c, (struct sockaddr *)&other));
	/* another nonce, other versions */
	d = c;
	d.nonce[15] ^= 0x80;
	ck_assert(!auth_connect_ok(a, &d, (struct sockaddr *)&t));
	d = c;
	d.vmax++;
	ck_assert(!auth_connect_ok(a, &d, (struct sockaddr *)&t));
	/* not a keyed connect at all */
	d = c;
	d.magic = SEGP_CONNECT_CTRL;
	ck_assert(!auth_connect_ok(a, &d, (struct sockaddr *)&t));
	auth_free(a);
	auth_free(b);
}
END_TEST

static void
sample_proof(struct segp_proof_in *in)
{
	memset(in, 0, sizeof *in);
	in->role = SEGP_ROLE_CONNECT;
	memset(in->cnonce, 0x11, sizeof in->cnonce);
	memset(in->snonce, 0x22, sizeof in->snonce);
	strcpy(in->prover, "imp");
	strcpy(in->verifier, "exp");
	in->paddr[15] = 1;
	in->vaddr[15] = 2;
}

START_TEST(proof)
{
	struct auth *a = key_of(7), *b = key_of(8);
	struct segp_proof_in in, x;
	uint8_t p[SEGP_PROOFLEN], q[SEGP_PROOFLEN];

	sample_proof(&in);
	ck_assert_int_eq(auth_proof(a, &in, p), 0);
	ck_assert(auth_proof_ok(a, &in, p));
	/* the same inputs, the same proof; a bad proof refused */
	ck_assert_int_eq(auth_proof(a, &in, q), 0);
	ck_assert_mem_eq(p, q, sizeof p);
	q[31] ^= 1;
	ck_assert(!auth_proof_ok(a, &in, q));
	/* another key */
	ck_assert(!auth_proof_ok(b, &in, p));
	/* a wrong nonce: either side's (a replayed proof) */
	x = in;
	x.snonce[0] ^= 1;
	ck_assert(!auth_proof_ok(a, &x, p));
	x = in;
	x.cnonce[7] ^= 1;
	ck_assert(!auth_proof_ok(a, &x, p));
	/* a wrong address, either one */
	x = in;
	x.paddr[15] = 3;
	ck_assert(!auth_proof_ok(a, &x, p));
	x = in;
	x.vaddr[0] = 1;
	ck_assert(!auth_proof_ok(a, &x, p));
	/* other node names, or the names swapped */
	x = in;
	strcpy(x.prover, "imq");
	ck_assert(!auth_proof_ok(a, &x, p));
	x = in;
	strcpy(x.prover, "exp");
	strcpy(x.verifier, "imp");
	ck_assert(!auth_proof_ok(a, &x, p));
	/* the other side's role: a proof sent back to its maker */
	x = in;
	x.role = SEGP_ROLE_ACCEPT;
	ck_assert(!auth_proof_ok(a, &x, p));
	/* a bad node name makes no proof */
	x = in;
	strcpy(x.verifier, "no good");
	ck_assert_int_eq(auth_proof(a, &x, q), -1);
	ck_assert(!auth_proof_ok(a, &x, p));
	auth_free(a);
	auth_free(b);
}
END_TEST

START_TEST(nonces_and_keys)
{
	uint8_t n1[SEGP_NONCELEN], n2[SEGP_NONCELEN], zero[SEGP_NONCELEN];
	uint8_t k[AUTH_KEYMAX + 1];

	memset(zero, 0, sizeof zero);
	ck_assert_int_eq(auth_nonce(n1), 0);
	ck_assert_int_eq(auth_nonce(n2), 0);
	ck_assert(memcmp(n1, n2, sizeof n1) != 0);
	ck_assert(memcmp(n1, zero, sizeof n1) != 0);
	memset(k, 1, sizeof k);
	ck_assert_ptr_null(auth_new(k, AUTH_KEYMIN - 1));
	ck_assert_ptr_null(auth_new(k, AUTH_KEYMAX + 1));
	auth_free(NULL);
}
END_TEST

void
suite(Suite *s)
{
	ck_tcase(s, "key file", &fix, 0, key_good, key_wrong_owner,
	    key_wrong_modes, key_short_long, key_not_a_file, key_unsafe_dir,
	    NULL);
	ck_tcase(s, "macs", &fix, 0, connect_tag, proof, nonces_and_keys,
	    NULL);
}
