/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * auth.c: the cluster key (segd -k KEYFILE) and what segd makes with it:
 * the tags of keyed connects and the proofs of AUTH messages (the layouts
 * they cover are proto/segwire.c's, segp_connect_macin and
 * segp_proof_macin), and the nonces both carry.
 *
 * No cryptography of its own: HMAC-SHA256 is OpenSSL's (EVP_MAC), tags and
 * proofs are compared with CRYPTO_memcmp, nonces come from getrandom, and
 * the key is wiped with OPENSSL_cleanse when it is freed.  The key file is
 * read like segd's other files: opened relative to its directory (checked
 * with store_dir_safe) with O_NOFOLLOW, and refused unless it is a regular
 * file of segd's own uid that no one else may read or write, of at least
 * AUTH_KEYMIN bytes.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "segd.h"

struct auth {
	uint8_t  key[AUTH_KEYMAX];
	size_t   keylen;
	EVP_MAC *mac;		/* HMAC */
};

/*
 * The key file name in dirfd: its bytes into key (at most size), their
 * count into *len.  Refused (-1, e) unless it is a regular file (not a
 * link) owned by owner, with no access for group or others, of AUTH_KEYMIN
 * to size bytes.
 */
int
auth_key_read(int dirfd, const char *name, uid_t owner, uint8_t *key,
    size_t size, size_t *len, struct segerr *e)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd < 0)
		return seterr(e, errno, "key file %s: %s%s", name, strerror(errno),
		    errno == ELOOP ? " (a symbolic link is not taken)" : "");
	if (fstat(fd, &sb) < 0) {
		seterr(e, errno, "key file %s: fstat: %s", name, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		seterr(e, EINVAL, "key file %s: not a regular file", name);
		goto fail;
	}
	if (sb.st_uid != owner || (sb.st_mode & 077) != 0) {
		seterr(e, EPERM, "key file %s: bad ownership or modes (uid %u, "
		    "mode %04o): it must be owned by uid %u and neither readable "
		    "nor writable by anyone else (chmod 600)", name,
		    (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777),
		    (unsigned)owner);
		goto fail;
	}
	if (sb.st_size < AUTH_KEYMIN || (uint64_t)sb.st_size > size) {
		seterr(e, EINVAL, "key file %s: %lld bytes; a key is %d to %zu "
		    "random bytes (head -c 32 /dev/urandom)", name,
		    (long long)sb.st_size, AUTH_KEYMIN, size);
		goto fail;
	}
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, key + got, (size_t)sb.st_size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			seterr(e, errno, "key file %s: read: %s", name,
			    strerror(errno));
			goto fail;
		}
		got += (size_t)n;
	}
	if (got != (size_t)sb.st_size) {
		seterr(e, EIO, "key file %s: changed while read", name);
		goto fail;
	}
	close(fd);
	*len = got;
	return 0;
fail:
	OPENSSL_cleanse(key, size);
	close(fd);
	return -1;
}

/* The key in path (an absolute or relative file name); NULL with e. */
struct auth *
auth_load(const char *path, struct segerr *e)
{
	char dbuf[PATH_MAX], bbuf[PATH_MAX];
	const char *dir, *base;
	struct auth *a;
	int dirfd;

	if (snprintf(dbuf, sizeof dbuf, "%s", path) >= (int)sizeof dbuf ||
	    snprintf(bbuf, sizeof bbuf, "%s", path) >= (int)sizeof bbuf) {
		seterr(e, ENAMETOOLONG, "key file name too long");
		return NULL;
	}
	dir = dirname(dbuf);
	base = basename(bbuf);
	if (store_dir_safe("key file directory", dir, e) < 0)
		return NULL;
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		seterr(e, errno, "key file directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	if ((a = calloc(1, sizeof *a)) == NULL) {
		close(dirfd);
		seterr(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (auth_key_read(dirfd, base, geteuid(), a->key, sizeof a->key,
	    &a->keylen, e) < 0)
		goto fail;
	if ((a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
		seterr(e, ENOTSUP, "EVP_MAC_fetch HMAC: not available");
		goto fail;
	}
	close(dirfd);
	return a;
fail:
	close(dirfd);
	auth_free(a);
	return NULL;
}

/* A key of len bytes, as auth_load would hold it (for the unit tests). */
struct auth *
auth_new(const uint8_t *key, size_t len)
{
	struct auth *a;

	if (len < AUTH_KEYMIN || len > AUTH_KEYMAX ||
	    (a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	memcpy(a->key, key, len);
	a->keylen = len;
	if ((a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	EVP_MAC_free(a->mac);
	OPENSSL_cleanse(a->key, sizeof a->key);
	free(a);
}

/* A fresh nonce; -1 (errno) if the kernel gave none. */
int
auth_nonce(uint8_t nonce[SEGP_NONCELEN])
{
	ssize_t n;

	do
		n = getrandom(nonce, SEGP_NONCELEN, GRND_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n != SEGP_NONCELEN) {
		if (n >= 0)
			errno = EAGAIN;
		return -1;
	}
	return 0;
}

/* HMAC-SHA256 of in (len bytes) with the key into out[32]; -1 on failure. */
static int
auth_hmac(const struct auth *a, const uint8_t *in, size_t len,
    uint8_t out[SEGP_PROOFLEN])
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t olen = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(a->mac)) == NULL)
		return -1;
	ok = EVP_MAC_init(ctx, a->key, a->keylen, params) == 1 &&
	    EVP_MAC_update(ctx, in, len) == 1 &&
	    EVP_MAC_final(ctx, out, &olen, SEGP_PROOFLEN) == 1 &&
	    olen == SEGP_PROOFLEN;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* c's tag for a connect to target (c's other fields set); -1 on failure. */
int
auth_connect_tag(const struct auth *a, struct segp_connect *c,
    const struct sockaddr *target)
{
	uint8_t in[SEGP_CONNECT_MACIN], addr[16], mac[SEGP_PROOFLEN];
	uint16_t port;

	seg_addr16(target, addr, &port);
	segp_connect_macin(in, c, addr, port);
	if (auth_hmac(a, in, sizeof in, mac) < 0)
		return -1;
	memcpy(c->tag, mac, SEGP_TAGLEN);
	OPENSSL_cleanse(mac, sizeof mac);
	return 0;
}

/* Whether c's tag is the one the key makes for a connect to target. */
int
auth_connect_ok(const struct auth *a, const struct segp_connect *c,
    const struct sockaddr *target)
{
	struct segp_connect want = *c;

	if (c->magic != SEGP_CONNECT_AUTH ||
	    auth_connect_tag(a, &want, target) < 0)
		return 0;
	return CRYPTO_memcmp(want.tag, c->tag, SEGP_TAGLEN) == 0;
}

/* The proof of in into proof; -1 if in is not valid or HMAC failed. */
int
auth_proof(const struct auth *a, const struct segp_proof_in *in,
    uint8_t proof[SEGP_PROOFLEN])
{
	uint8_t buf[SEGP_PROOF_MACIN];

	if (segp_proof_macin(buf, in) < 0)
		return -1;
	return auth_hmac(a, buf, sizeof buf, proof);
}

/* Whether proof is the one the key makes of in. */
int
auth_proof_ok(const struct auth *a, const struct segp_proof_in *in,
    const uint8_t proof[SEGP_PROOFLEN])
{
	uint8_t want[SEGP_PROOFLEN];
	int ok;

	if (auth_proof(a, in, want) < 0)
		return 0;
	ok = CRYPTO_memcmp(want, proof, SEGP_PROOFLEN) == 0;
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}
