/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * import_ops.c: the requests on an import that are one message: a remote
 * free (in batches of SEG_FREE_BATCH, each made again on a new import
 * until the import's deadline when the connection was lost: its batch
 * number makes a resend an acknowledgement, not a second free), a signal,
 * and the atomics (on the direct path, else through segd), with what
 * locks need of them (lock.c).
 *
 * It sits on import.c (the import, its requests, its direct path).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "libseg.h"

int
seg_zfree_remotev(seg_import_t *imp, const uint64_t *addrs, int n)
{
	struct imp_op o = { .op = SEGW_RFREE };
	int i, rc = 0;

	if (imp == NULL || n < 0 || (n > 0 && addrs == NULL))
		return seg_seterr(EINVAL, "bad arguments");
	pthread_mutex_lock(&imp->lock);
	for (i = 0; i < n && rc == 0; i += (int)o.n) {
		o.n = (uint32_t)(n - i < SEG_FREE_BATCH ? n - i : SEG_FREE_BATCH);
		o.addrs = addrs + i;
		rc = seg_imp_call(imp, &o, NULL);
	}
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

/* Read without imp's lock (a call on it may hold it long): a stale
 * handle is one segd refuses, as EBADF, in the outcome. */
uint64_t
seg_import_handle(seg_import_t *imp)
{
	if (__atomic_load_n(&imp->gen, __ATOMIC_RELAXED) != seg_conn_gen() ||
	    imp->pid != getpid())
		return 0;
	return __atomic_load_n(&imp->m.handle, __ATOMIC_RELAXED);
}

int
seg_zfree_remote(seg_import_t *imp, uint64_t addr)
{
	return seg_zfree_remotev(imp, &addr, 1);
}

int
seg_signal(seg_import_t *imp)
{
	int rc;

	if (seg_imp_lock(imp) < 0)
		return -1;
	rc = seg_imp_call(imp, &(struct imp_op){ .op = SEGW_RSIGNAL }, NULL);
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

/* ---- atomics and what locks need (lock.c) ---- */

/*
 * An atomic on the direct path, on a new connection if there is none; 1:
 * use the segd path.  A failed atomic is not tried again: whether it
 * changed the word is not known.
 */
static int
datomic(seg_import_t *imp, struct imp_op *o)
{
	long long end;
	int rc;

	end = seg_imp_end(imp);
	if (seg_imp_fresh(imp) < 0)
		return -1;
	if (imp->dp == NULL && (rc = seg_imp_dp_open(imp, end)) != 0)
		return rc;
	if (dp_atomic(imp->dp, &imp->m, o->kind, o->off, o->a, o->b,
	    &o->result, imp->label, end) == 0)
		return 0;
	dp_close(imp->dp);	/* its queue pair is in error */
	imp->dp = NULL;
	return -1;
}

/* Under imp->lock: the checks every atomic makes before it is sent. */
static int
atomic_check(seg_import_t *imp, uint64_t off)
{
	if (off % 8 != 0)
		return seg_seterr(EINVAL, "offset 0x%llx of an atomic is not "
		    "8-byte aligned", (unsigned long long)off);
	if (imp->m.len < 8 || off > imp->m.len - 8)
		return seg_seterr(ERANGE, "word 0x%llx+8 is past the end of "
		    "segment '%s' (length 0x%llx)", (unsigned long long)off,
		    imp->name, (unsigned long long)imp->m.len);
	if (!(imp->m.perm & SEGW_WR))
		return seg_seterr(EACCES, "permission denied: segment '%s' is "
		    "exported read-only to this node", imp->name);
	if (!(imp->m.eflags & SEGW_EXP_LOCKOPS))
		return seg_seterr(EPERM, "segment '%s' is not exported for lock "
		    "operations (SEG_LOCK_OPS)", imp->name);
	return 0;
}

static int
atomic_op(seg_import_t *imp, uint16_t kind, uint64_t off, uint64_t a,
    uint64_t b, uint64_t *old)
{
	struct imp_op o = { .op = SEGW_ATOMIC, .kind = kind, .off = off, .a = a,
	    .b = b };
	int rc;

	if (seg_imp_lock(imp) < 0)
		return -1;
	if ((rc = atomic_check(imp, off)) == 0 &&
	    (!seg_imp_dp_want(imp) || (rc = datomic(imp, &o)) > 0) &&
	    (rc = seg_imp_call(imp, &o, NULL)) == 0)
		dp_count_segd_atomic();
	pthread_mutex_unlock(&imp->lock);
	if (rc == 0 && old != NULL)
		*old = o.result;
	return rc;
}

int
seg_cas(seg_import_t *imp, uint64_t off, uint64_t expect, uint64_t desired,
    uint64_t *old)
{
	return atomic_op(imp, SEGW_AT_CAS, off, expect, desired, old);
}

int
seg_fadd(seg_import_t *imp, uint64_t off, uint64_t add, uint64_t *old)
{
	return atomic_op(imp, SEGW_AT_FADD, off, add, 0, old);
}

/* This import's lock holder id: the exporter's id of it, asked once. */
int
seg_imp_holder(seg_import_t *imp, uint64_t *id)
{
	struct imp_op o = { .op = SEGW_ATOMIC, .kind = SEGW_AT_HOLDER };
	int rc = 0;

	if (seg_imp_lock(imp) < 0)
		return -1;
	if (seg_imp_fresh(imp) < 0)
		rc = -1;
	else if (imp->holder_of == 0 || imp->holder_of != imp->m.handle) {
		if ((rc = seg_imp_call(imp, &o, NULL)) == 0) {
			imp->holder = o.result;
			imp->holder_of = imp->m.handle;
		}
	}
	*id = imp->holder;
	pthread_mutex_unlock(&imp->lock);
	return rc;
}

/* Whether the exporter still holds import holder of this export: 1 or 0. */
int
seg_imp_alive(seg_import_t *imp, uint64_t holder)
{
	struct imp_op o = { .op = SEGW_ATOMIC, .kind = SEGW_AT_ALIVE,
	    .a = holder };
	int rc;

	if (seg_imp_lock(imp) < 0)
		return -1;
	rc = seg_imp_call(imp, &o, NULL);
	pthread_mutex_unlock(&imp->lock);
	return rc < 0 ? -1 : o.result != 0;
}
