/*
 * guard.c: CPU access to memory a client can cut away.
 *
 * A segment's backing file and a umsg pool's state file are shared with
 * clients that hold writable descriptors of them: a client may truncate
 * the file, punch holes in it or fill the file system, and segd's next
 * load or store there raises SIGBUS.  segd touches such memory only
 * inside guard_call(): a SIGBUS whose address lies in the guarded range
 * ends the call (siglongjmp back to it) with -1 and errno EFAULT, and segd
 * goes on serving.  Any other SIGBUS is a bug of segd's own and kills it,
 * as it would without the guard.
 *
 * segd's event loop is one thread, and guarded calls do not nest.
 *
 * Memory segd makes to share with a client needs no guard: shm_sealed
 * makes it a memfd sealed at its size, which no client can cut.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "segd.h"

static sigjmp_buf             jb;
static volatile sig_atomic_t  armed;
static volatile uintptr_t     lo, hi;	/* the range guarded now */

static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	(void)uc;
	if (armed && si->si_code > 0 && a >= lo && a < hi) {
		armed = 0;
		siglongjmp(jb, 1);
	}
	/* not ours to catch: die of it, as without a handler */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);	/* sent, not a fault: it does not come again */
}

int
guard_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL);
}

/*
 * fn(arg), which touches only [base, base+len) of client-shared memory:
 * its result, or -1 with errno EFAULT if a page there could not be had.
 */
int
guard_call(const void *base, size_t len, int (*fn)(void *), void *arg)
{
	int r;

	if (sigsetjmp(jb, 1) != 0) {
		armed = 0;
		errno = EFAULT;
		return -1;
	}
	lo = (uintptr_t)base;
	hi = (uintptr_t)base + len;
	armed = 1;
	r = fn(arg);
	armed = 0;
	return r;
}

struct copy {
	void       *dst;
	const void *src;
	size_t      n;
};

static int
copy_fn(void *arg)
{
	struct copy *c = arg;

	memcpy(c->dst, c->src, c->n);
	return 0;
}

/* memcpy where the shared side is [base, base+len): 0, or -1 EFAULT. */
int
guard_copy(void *dst, const void *src, size_t n, const void *base, size_t len)
{
	struct copy c = { dst, src, n };

	return guard_call(base, len, copy_fn, &c);
}

/*
 * A memfd of size bytes that can be neither shrunk nor grown, mapped at
 * *mem: its descriptor, or -1 with e (and *mem NULL).
 */
int
shm_sealed(const char *name, size_t size, void **mem, struct segerr *e)
{
	int fd;

	*mem = NULL;
	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0)
		return seterr(e, errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS,
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		seterr(e, errno, "%s: %s", name, strerror(errno));
		goto fail;
	}
	*mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*mem == MAP_FAILED) {
		*mem = NULL;
		seterr(e, errno, "mmap: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* What shm_sealed made, undone (mem NULL, fd -1: nothing of it). */
void
shm_release(void *mem, size_t size, int fd)
{
	if (mem != NULL)
		munmap(mem, size);
	if (fd >= 0)
		close(fd);
}
