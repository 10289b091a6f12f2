# libFuzzer targets of every parser segd meets (tests/fuzz/fuzz_T.c), built
# with clang and ASan + UBSan.  Included by the top Makefile.
#
# make fuzz          build each target, replay its corpus (tests/fuzz/corpus/T),
#                    then fuzz it for FUZZ_SECONDS; new inputs go under
#                    $(BUILD)/fuzz/work, never into the tree
# make fuzz-corpus   rewrite the seed corpora with tests/fuzz/mkcorpus

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 8
FUZZ_TARGETS  = segw segp ctl acl meta export zpool parse zring zread auth
FUZZ_FLAGS    = -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
                -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -Iproto -Isegd -Iseglib -Itests/fuzz
FUZZ_SRC      = proto/segframe.c proto/segwire.c proto/segparse.c segd/log.c segd/ctl.c \
                segd/acl.c segd/store.c segd/zio_pool.c proto/zring.c proto/zread.c
FUZZ_OBJS     = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_SRC))
FUZZ_BINS     = $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))

# the code under test, instrumented once for every target
$(BUILD)/fuzz/obj/%.o: %.c segd/segd.h proto/segwire.h segd/zio_pool.h \
    proto/zring.h proto/zread.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS)

$(BUILD)/fuzz/mkcorpus: tests/fuzz/mkcorpus.c proto/segframe.c proto/segwire.c proto/segparse.c \
    segd/zio_pool.c proto/zring.c proto/zread.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-corpus: $(BUILD)/fuzz/mkcorpus
	$(BUILD)/fuzz/mkcorpus tests/fuzz/corpus

.PHONY: fuzz fuzz-build fuzz-corpus
