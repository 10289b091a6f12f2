# segd: network segment export service.
# make            build segd, segctl, libseg (static and shared) into build/
# make check      set up packages if missing, then unit + local tiers (plain and
#                 under ASan/UBSan), then the RDMA tier through tests/softroce
#                 (its segds from the ASan+UBSan build)
# make check-rdma only the RDMA tier
# make install PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SAN     ?=

PKGS     = libevent libibverbs librdmacm fuse3
CC      ?= cc
CFLAGS  ?= -O2 -g
EXTRA_CFLAGS ?=
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC \
           -Iproto -Iseglib -Isegd $(EXTRA_CFLAGS)
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) check)
SEGD_LIBS  = $(shell pkg-config --libs libevent libibverbs librdmacm fuse3) -lpthread
CHECK_LIBS = $(shell pkg-config --libs check)

PROTO_SRC = proto/segwire.c proto/segparse.c
LIB_SRC   = seglib/client.c seglib/seg.c seglib/attach.c seglib/err.c \
            seglib/import.c seglib/zio.c segd/zio_pool.c
SEGD_SRC  = segd/main.c segd/log.c segd/client.c segd/control.c segd/namespace.c \
            segd/ctl.c segd/perm.c segd/store.c segd/acl.c segd/rdma.c \
            segd/peer.c segd/peers.c segd/rop.c segd/export.c segd/rseg.c \
            segd/import.c segd/zio.c segd/zio_pool.c segd/fs.c segd/fs_node.c \
            segd/fs_reply.c segd/fs_ops.c segd/fs_io.c segd/fs_free.c segd/fsnet.c \
            segd/fs_netio.c
CLI_SRC   = cli/segctl.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

all: $(BUILD)/segd $(BUILD)/segctl $(BUILD)/libseg.a $(BUILD)/libseg.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libseg.a: $(call obj,$(LIB_SRC) $(PROTO_SRC))
	rm -f $@; ar rcs $@ $^

$(BUILD)/libseg.so: $(call obj,$(LIB_SRC) $(PROTO_SRC)) seglib/libseg.map
	$(CC) -shared -Wl,-soname,libseg.so.0 -Wl,--version-script=seglib/libseg.map \
	    -o $@ $(filter %.o,$^) $(LDFLAGS) -lpthread

$(BUILD)/segd: $(call obj,$(SEGD_SRC) $(PROTO_SRC))
	$(CC) -o $@ $^ $(LDFLAGS) $(SEGD_LIBS)

$(BUILD)/segctl: $(call obj,$(CLI_SRC)) $(BUILD)/libseg.a
	$(CC) -o $@ $^ $(LDFLAGS) -lpthread

-include $(shell find $(BUILD)/obj -type f -name '*.d' 2>/dev/null)

include tests/tests.mk
-include tests/rdma.mk
-include bench/bench.mk
-include bench/rdma.mk
-include bench/zio.mk

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man3 \
	    $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BUILD)/segd $(DESTDIR)$(PREFIX)/sbin/segd
	install -m 755 $(BUILD)/segctl $(DESTDIR)$(PREFIX)/bin/segctl
	install -m 644 $(BUILD)/libseg.a $(DESTDIR)$(PREFIX)/lib/libseg.a
	install -m 755 $(BUILD)/libseg.so $(DESTDIR)$(PREFIX)/lib/libseg.so.0
	ln -sf libseg.so.0 $(DESTDIR)$(PREFIX)/lib/libseg.so
	install -m 644 seglib/seg.h $(DESTDIR)$(PREFIX)/include/seg.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' seglib/libseg.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libseg.pc
	install -m 644 man/segctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/segctl.1
	install -m 644 man/libseg.3 $(DESTDIR)$(PREFIX)/share/man/man3/libseg.3
	install -m 644 man/segd.8 $(DESTDIR)$(PREFIX)/share/man/man8/segd.8

clean:
	rm -rf build

.PHONY: all install clean

# The main job: a demo of segd on soft-RoCE, two nodes (see demo/node.sh).
demo:
	sh tests/setup.sh
	$(MAKE) all
	tests/softroce pair -- demo/node.sh

.PHONY: demo
