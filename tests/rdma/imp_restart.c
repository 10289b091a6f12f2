/* SPDX-License-Identifier: ISC */
/* Copyright (c) 2025-2026 the segd authors */
/*
 * imp_restart: put-then-get with checked contents, on and on, while the
 * exporter's segd is killed and restarted (single/62-export-restart.sh).
 *
 *   imp_restart REF LEN STOPFILE DEADLINE_MS
 *
 * SEGD_SOCKET names the importer's segd.  LEN bytes of REF are slots of
 * 4096 bytes; iteration i puts a block made from i into slot i % slots
 * (seg_put, then seg_barrier), gets it back and compares.  A put whose
 * barrier succeeded is acknowledged: its slot must hold it until the next
 * acknowledged put there.  A call that fails prints
 *   err at EPOCH_MS after MS ms: MESSAGE
 * and must have failed within DEADLINE_MS; the slot it was putting is then
 * unknown (the put may have landed or not) until its next acknowledged
 * put, and the next try comes 50 ms later.  The first good iteration, the
 * first after an error, and every 200th print "ok N at EPOCH_MS".  Once STOPFILE
 * exists the loop ends, every slot of known contents is read back and
 * compared, and "path direct|segd[: WHY]", "gen G" (the export's
 * generation, which must be the one of the first import), "slowest good
 * call MS ms" (a call that waited out a restart and succeeded) and "done N
 * ops E errors K slots checked" are printed.  Every
 * failed check prints "imp_restart: FAIL: ..." and exits 1; the run is
 * bounded by 240 s (exit 124).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seg.h"
#include "testlib.h"

#define SLOT 4096

/* the block iteration i puts */
static void
block(uint64_t *b, uint64_t i)
{
	size_t w;

	for (w = 0; w < SLOT / 8; w++)
		b[w] = (i << 20) ^ ((uint64_t)w * 0x9e3779b97f4a7c15ULL) ^ 0x5e9d;
}

/* A failed call: said, and within the deadline. */
static void
failed(const char *what, long long t0, long long deadline, unsigned *errs)
{
	long long ms = now_ms() - t0;

	printf("err at %lld after %lld ms: %s: %s\n", epoch_ms(), ms, what,
	    seg_errstr());
	fflush(stdout);
	if (ms >= deadline)
		fail("%s took %lld ms, the deadline is %lld ms", what, ms,
		    deadline);
	(*errs)++;
	sleep_ms(50);
}

int
main(int argc, char *argv[])
{
	static uint64_t want[SLOT / 8], got[SLOT / 8];
	struct seg_import_info info;
	char why[256];
	uint64_t gen;
	seg_import_t *imp;
	uint64_t *acked, i, n, slots, k = 0;
	unsigned errs = 0;
	long long deadline, t0, slow = 0;
	int after_err = 0, path;

	progname = "imp_restart";
	if (argc != 5)
		fail("usage: imp_restart REF LEN STOPFILE DEADLINE_MS");
	slots = num(argv[2]) / SLOT;
	deadline = (long long)num(argv[4]);
	if (slots == 0)
		fail("LEN below one slot of %d bytes", SLOT);
	signal(SIGALRM, on_alarm);
	alarm(240);
	acked = xcalloc(slots, sizeof *acked);	/* 0: unknown; else i + 1 */
	if ((imp = seg_import(argv[1])) == NULL)
		fail("seg_import %s: %s", argv[1], seg_errstr());
	if (seg_import_info(imp, &info) < 0)
		fail("seg_import_info: %s", seg_errstr());
	gen = info.gen;
	for (i = 0, n = 0; access(argv[3], F_OK) != 0; i++) {
		uint64_t s = i % slots;

		block(want, i);
		t0 = now_ms();
		acked[s] = 0;
		if (seg_put(imp, s * SLOT, want, SLOT) != SLOT ||
		    seg_barrier(imp) < 0) {
			failed("put", t0, deadline, &errs);
			after_err = 1;
			continue;
		}
		acked[s] = i + 1;
		if (now_ms() - t0 > slow)
			slow = now_ms() - t0;
		t0 = now_ms();
		if (seg_get(imp, s * SLOT, got, SLOT) != SLOT) {
			failed("get", t0, deadline, &errs);
			after_err = 1;
			continue;
		}
		if (now_ms() - t0 > slow)	/* the get; the put's is below */
			slow = now_ms() - t0;
		if (memcmp(got, want, SLOT) != 0)
			fail("iteration %llu: slot %llu reads back other bytes",
			    (unsigned long long)i, (unsigned long long)s);
		if (after_err || ++n == 1 || n % 200 == 0)
			printf("ok %llu at %lld\n", (unsigned long long)n,
			    epoch_ms());
		fflush(stdout);
		after_err = 0;
	}
	for (i = 0; i < slots; i++) {
		if (acked[i] == 0)
			continue;
		block(want, acked[i] - 1);
		if (seg_get(imp, i * SLOT, got, SLOT) != SLOT)
			fail("final get of slot %llu: %s", (unsigned long long)i,
			    seg_errstr());
		if (memcmp(got, want, SLOT) != 0)
			fail("slot %llu lost its acknowledged put (iteration "
			    "%llu)", (unsigned long long)i,
			    (unsigned long long)(acked[i] - 1));
		k++;
	}
	if (seg_import_info(imp, &info) < 0)
		fail("seg_import_info: %s", seg_errstr());
	if (info.gen != gen)
		fail("the generation went from %llu to %llu",
		    (unsigned long long)gen, (unsigned long long)info.gen);
	path = seg_import_path(imp, why, sizeof why);
	printf("path %s%s%s\ngen %llu\nslowest good call %lld ms\n",
	    path == SEG_PATH_DIRECT ? "direct" : "segd", why[0] ? ": " : "", why,
	    (unsigned long long)gen, slow);
	printf("done %llu ops %u errors %llu slots checked\n",
	    (unsigned long long)n, errs, (unsigned long long)k);
	free(acked);
	seg_unimport(imp);
	return 0;
}
