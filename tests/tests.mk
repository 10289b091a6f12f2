# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# Unit and local (integration) tiers.  Included by the top Makefile.
#
# tests/unit/check_NAME.c    one Check suite per module, linked with segd's
#                            objects (all but main.c) and proto/
# tests/integ/check_NAME.c   Check suites that run a real segd on a temporary
#                            socket and state directory, linked with libseg
# tests/check_main.c         the one main() of every suite (it names the
#                            suite after the program; each file's suite()
#                            adds its tcases), and the helpers they share
# tests/cli/NAME.sh          scripts that run segctl against a real segd
#                            (JSON parsed with python3, terminals made with
#                            script(1)) and the checks of the manual

UNIT_SUITES  = $(patsubst tests/unit/check_%.c,%,$(wildcard tests/unit/check_*.c))
INTEG_SUITES = $(patsubst tests/integ/check_%.c,%,$(wildcard tests/integ/check_*.c))
UNIT_BINS    = $(patsubst %,$(BUILD)/tests/unit_%,$(UNIT_SUITES))
INTEG_BINS   = $(patsubst %,$(BUILD)/tests/integ_%,$(INTEG_SUITES))
SEGD_CORE    = $(filter-out segd/main.c,$(SEGD_SRC))
CHECK_MAIN   = $(call obj,tests/check_main.c)
INTEG_HELP   = $(wildcard tests/integ/harness.c)
TEST_PROGS_SRC = $(wildcard tests/progs/*.c)
CLI_TESTS    = $(wildcard tests/cli/*.sh)	# scripts: segctl against a segd
TEST_PROGS   = $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(TEST_PROGS_SRC))

$(BUILD)/obj/tests/%.o: CFLAGS += -Itests

$(BUILD)/tests/unit_%: $(BUILD)/obj/tests/unit/check_%.o $(CHECK_MAIN) \
    $(call obj,$(SEGD_CORE) $(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(SEGD_LIBS) $(CHECK_LIBS)

# segctl's JSON writer and metric reader (cli/json.c)
$(BUILD)/tests/unit_json: $(call obj,cli/json.c)
$(BUILD)/obj/tests/unit/check_json.o: CFLAGS += -Icli

$(BUILD)/tests/integ_%: $(BUILD)/obj/tests/integ/check_%.o $(CHECK_MAIN) \
    $(call obj,$(INTEG_HELP)) $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(CHECK_LIBS) $(LIBSEG_LIBS)

$(BUILD)/tests/progs/%: $(BUILD)/obj/tests/progs/%.o $(BUILD)/libseg.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDFLAGS) $(LIBSEG_LIBS)

tests-build: all $(UNIT_BINS) $(INTEG_BINS) $(TEST_PROGS)

# One tier, in this build (plain, or SAN=1 for ASan+UBSan).
check-local: tests-build
	SEG_BUILD=$(BUILD) tests/run-suites $(UNIT_BINS) $(INTEG_BINS) $(CLI_TESTS)
	tests/check-layers $(BUILD)
	tests/check-systemd $(BUILD)
	tests/check-abi $(BUILD)

# The Debian packages, built, linted, installed with apt into a minimal
# Debian root and used there (tests/check-deb; root, slow, not in check).
check-deb:
	tests/check-deb $(BUILD)

# The unit suites alone: no segd, no QEMU, no apt (the package build's test).
check-unit: all $(UNIT_BINS)
	SEG_BUILD=$(BUILD) tests/run-suites $(UNIT_BINS)

check-san:
	$(MAKE) BUILD=build/san SAN=1 check-local

# segd under valgrind across the integration suites: no leak, no error.
check-valgrind: tests-build
	SEG_BUILD=$(BUILD) SEGD_WRAPPER="valgrind -q --leak-check=full \
	    --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	    --error-exitcode=99" tests/run-suites $(INTEG_BINS) $(CLI_TESTS)

# The README's test command: set-up, every tier, sanitizers, valgrind, the
# fuzz targets (tests/fuzz/fuzz.mk: about a minute in all), RDMA.  Builds
# run JOBS at a time (default: the CPUs); the tests themselves one at a time.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check:
	sh tests/setup.sh
	$(MAKE) -j$(JOBS) check-local
	$(MAKE) -j$(JOBS) check-san
	$(MAKE) -j$(JOBS) check-valgrind
	$(MAKE) -j$(JOBS) fuzz
	$(MAKE) -j$(JOBS) check-rdma RDMA_SAN=1

.PHONY: tests-build check check-local check-unit check-deb check-san check-valgrind
