# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# The local benchmark of issue 2 (figures, not a test).  Included by the top
# Makefile.  `make bench-local` builds and runs it; it starts its own segd on
# a temporary socket and state directory under /dev/shm.

BENCH_LOCAL = $(BUILD)/bench/local_bench

# What every benchmark links: bench/benchlib (the perftest baseline, table
# statistics) and the RDMA tier's tests/rdma/testlib (fail, clocks, numbers).
BENCH_LIB = $(call obj,bench/benchlib.c tests/rdma/testlib.c)
$(BUILD)/obj/bench/%.o: CFLAGS += -Itests/rdma

$(BENCH_LOCAL): $(call obj,bench/local_bench.c) $(BENCH_LIB) $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(LIBSEG_LIBS)

bench-local: all $(BENCH_LOCAL)
	SEG_BUILD=$(BUILD) $(BENCH_LOCAL)

.PHONY: bench-local

# Fragmentation of the zero-copy allocator under random workloads (figures).
ZIO_FRAG = $(BUILD)/bench/zio_frag

$(ZIO_FRAG): $(call obj,bench/zio_frag.c segd/zio_pool.c) $(BENCH_LIB) \
    $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) -lpthread

bench-frag: $(ZIO_FRAG)
	$(ZIO_FRAG)

.PHONY: bench-frag

# dd through the segment file system against dd on tmpfs, and fio through
# it against libfuse's passthrough_ll example (figures); dd through the
# remote view net/ beside perftest in one soft-RoCE session.
bench-fs: all
	BUILD=$(BUILD) bench/fs_bench.sh
	BUILD=$(BUILD) bench/fs_fio.sh

bench-fs-net: all
	BUILD=$(BUILD) tests/softroce run -- bench/fs_net_bench.sh

.PHONY: bench-fs bench-fs-net
