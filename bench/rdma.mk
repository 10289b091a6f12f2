# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The RDMA benchmark of issue 4 (figures, not a test).  Included by the top
# Makefile.  `make bench` builds segd, libseg and bench/rdma_bench, then in
# one soft-RoCE session (tests/softroce run) runs perftest's baseline
# (tests/rdma/perftest-baseline) and bench/run-rdma's figures beside it on
# the same device; the table goes to stdout, the figures to
# $(BUILD)/bench/perftest.json and $(BUILD)/bench/rdma.json.  Where no RDMA
# can run, it says why and succeeds (fails with SEG_REQUIRE_RDMA=1).

RDMA_BENCH      = $(BUILD)/bench/rdma_bench
RDMA_BENCH_LIBS = $(shell pkg-config --libs libibverbs)

$(RDMA_BENCH): $(call obj,bench/rdma_bench.c) $(BENCH_LIB) $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(RDMA_BENCH_LIBS) $(LIBSEG_LIBS)

# seg_fadd's latency beside ib_atomic_lat (bench/atomic_bench.c)
ATOMIC_BENCH = $(BUILD)/bench/atomic_bench
$(ATOMIC_BENCH): $(call obj,bench/atomic_bench.c) $(BENCH_LIB) $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(RDMA_BENCH_LIBS) $(LIBSEG_LIBS)

bench: all $(RDMA_BENCH) $(ATOMIC_BENCH)
	@rc=0; BUILD=$(BUILD) tests/softroce run -- bench/run-rdma || rc=$$?; \
	if [ $$rc = 77 ]; then echo "bench: skipped (no RDMA here)"; rc=0; fi; \
	exit $$rc

.PHONY: bench
