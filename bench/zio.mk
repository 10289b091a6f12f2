# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The zero-copy buffer benchmark of issue 5 (figures, not a test).  The top
# Makefile -includes this.  `make bench-zio` builds segd, libseg and
# bench/zio_bench, then in one soft-RoCE session (tests/softroce run) runs
# perftest's baseline (tests/rdma/perftest-baseline), ib_send_bw at small
# sizes, and bench/run-zio's figures beside them on the same device; the
# table goes to stdout, the figures to $(BUILD)/bench/zio.json.  Where no
# RDMA can run, it says why and succeeds (fails with SEG_REQUIRE_RDMA=1).

ZIO_BENCH = $(BUILD)/bench/zio_bench

$(ZIO_BENCH): $(call obj,bench/zio_bench.c) $(BENCH_LIB) $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(LIBSEG_LIBS)

bench-zio: all $(ZIO_BENCH)
	@rc=0; BUILD=$(BUILD) tests/softroce run -- bench/run-zio || rc=$$?; \
	if [ $$rc = 77 ]; then echo "bench-zio: skipped (no RDMA here)"; rc=0; fi; \
	exit $$rc

.PHONY: bench-zio
