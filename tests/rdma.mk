# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# RDMA tier: real verbs through tests/softroce (a native RDMA device, a
# soft-RoCE device made on this host, or QEMU guests running rdma_rxe).
# Included by the top Makefile.  See docs/rdma-tier.md.
#
# make check-rdma      build the smoke program, then the single-node tests in
#                      RDMA_SHARDS guests at once (default 2; they share the
#                      tests out) and the two-node tests in one pair of
#                      guests; skipped (status 0, reason shown) where there is
#                      no way to run RDMA, unless SEG_REQUIRE_RDMA=1
# make bench-baseline  perftest figures into $(BUILD)/bench/perftest.json
# RDMA_SAN=1           the tests' segds run from the ASan+UBSan build
#                      (build/san/segd, built first); `make check` sets it

RDMA_LIBS  = $(shell pkg-config --libs libibverbs librdmacm)
RDMA_SMOKE = $(BUILD)/tests/rdma/verbs_smoke

$(RDMA_SMOKE): tests/rdma/verbs_smoke.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(RDMA_LIBS)

RDMA_SAN ?=

check-rdma: $(RDMA_SMOKE)
	RDMA_SAN=$(RDMA_SAN) BUILD=$(BUILD) tests/rdma/tier check

ifeq ($(RDMA_SAN),1)
check-rdma: rdma-san-segd
endif

rdma-san-segd:
	$(MAKE) BUILD=build/san SAN=1 build/san/segd

.PHONY: rdma-san-segd

bench-baseline:
	BUILD=$(BUILD) tests/rdma/tier bench

.PHONY: check-rdma bench-baseline

# ---- export/import tests (issue 4) ---------------------------------------
# tests/rdma/{single,pair}/[34]*-*.sh use segd, segctl and these programs:
# tests/rdma/imp_*.c (libseg clients) and tests/rdma/rawpeer.c (a peer on
# raw rdma_cm and verbs).  check-rdma builds them (and segd, segctl) first.
IMP_PROGS = $(patsubst tests/rdma/%.c,$(BUILD)/tests/rdma/%,\
            $(wildcard tests/rdma/imp_*.c)) $(BUILD)/tests/rdma/rawpeer

# tests/rdma/testlib.c: helpers shared by imp_io and zio_io
RDMA_TESTLIB = tests/rdma/testlib.c tests/rdma/testlib.h

$(BUILD)/tests/rdma/imp_%: tests/rdma/imp_%.c seglib/seg.h $(BUILD)/libseg.a $(RDMA_TESTLIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/rdma/testlib.c $(BUILD)/libseg.a $(LDFLAGS) $(LIBSEG_LIBS)

# segds of other peer protocol versions, for single/40-versions.sh: one that
# speaks only version 2 (an older release), one only version 4 (a newer one)
COMPAT_SEGDS = $(BUILD)/compat/v2/segd $(BUILD)/compat/v4/segd
$(BUILD)/compat/v2/segd: $(SEGD_SRC) $(PROTO_SRC) segd/segd.h proto/segwire.h
	$(MAKE) BUILD=$(BUILD)/compat/v2 EXTRA_CFLAGS=-DSEGP_VERSION_MAX=2 $@
$(BUILD)/compat/v4/segd: $(SEGD_SRC) $(PROTO_SRC) segd/segd.h proto/segwire.h
	$(MAKE) BUILD=$(BUILD)/compat/v4 \
	    EXTRA_CFLAGS="-DSEGP_VERSION_MIN=4 -DSEGP_VERSION_MAX=4" $@
check-rdma: $(COMPAT_SEGDS)

$(BUILD)/tests/rdma/rawpeer: tests/rdma/rawpeer.c proto/segwire.h $(PROTO_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(PROTO_SRC) $(LDFLAGS) $(RDMA_LIBS) \
	    $(shell pkg-config --libs libcrypto)

# dpguess: a data connection of its own with a real ticket, to prove what
# the NIC refuses (tests/rdma/single/45-dpath-isolation.sh)
$(BUILD)/tests/rdma/dpguess: tests/rdma/dpguess.c $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libseg.a $(LDFLAGS) $(LIBSEG_LIBS)
$(BUILD)/tests/rdma/dpmulti: tests/rdma/dpmulti.c $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libseg.a $(LDFLAGS) $(LIBSEG_LIBS)
check-rdma: $(BUILD)/tests/rdma/dpguess $(BUILD)/tests/rdma/dpmulti

check-rdma: all $(IMP_PROGS)

# ---- zero-copy buffer tests (issue 5) --------------------------------------
# tests/rdma/{single,pair}/5[0-9]-*.sh use segd, segctl and the libseg
# clients tests/rdma/zio_*.c; check-rdma builds them first (zio-progs: only
# them).
ZIO_PROGS = $(patsubst tests/rdma/%.c,$(BUILD)/tests/rdma/%,\
            $(wildcard tests/rdma/zio_*.c))

$(BUILD)/tests/rdma/zio_%: tests/rdma/zio_%.c seglib/seg.h $(BUILD)/libseg.a $(RDMA_TESTLIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/rdma/testlib.c $(BUILD)/libseg.a $(LDFLAGS) $(LIBSEG_LIBS)

zio-progs: $(ZIO_PROGS)

check-rdma: all $(ZIO_PROGS)

.PHONY: zio-progs
