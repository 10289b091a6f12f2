# SPDX-License-Identifier: ISC
# Copyright (c) 2025-2026 the segd authors
# segd: network segment export service.
# make            build segd, segctl, libseg (static and shared) into build/
# make check      set up packages if missing, then unit + local tiers (plain and
#                 under ASan/UBSan), then the RDMA tier through tests/softroce
#                 (its segds from the ASan+UBSan build)
# make check-rdma only the RDMA tier
# make install PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR  ?= $(PREFIX)/share/doc/segd
UNITDIR ?= $(PREFIX)/lib/systemd/system
BUILD   ?= build
SAN     ?=

PKGS     = libevent libibverbs librdmacm fuse3 libsystemd libcrypto
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
SEGD_LIBS  = $(shell pkg-config --libs libevent libibverbs librdmacm fuse3 libsystemd \
             libcrypto) -lpthread
CHECK_LIBS = $(shell pkg-config --libs check)
# libseg posts its own RDMA work: what a program linking it needs
LIBSEG_LIBS = $(shell pkg-config --libs libibverbs librdmacm) -lpthread

PROTO_SRC = proto/segframe.c proto/segwire.c proto/segparse.c proto/zring.c proto/zread.c
LIB_SRC   = seglib/client.c seglib/seg.c seglib/attach.c seglib/err.c seglib/dpath.c \
            seglib/import.c seglib/import_io.c seglib/import_ops.c seglib/lock.c \
            seglib/zio.c seglib/zring.c seglib/zread.c seglib/metrics.c segd/zio_pool.c
SEGD_SRC  = segd/main.c segd/log.c segd/config.c segd/client.c segd/share.c segd/control.c segd/namespace.c \
            segd/ctl.c segd/perm.c segd/store.c segd/acl.c segd/rdma.c \
            segd/peer.c segd/peer_msg.c segd/peer_cm.c segd/peers.c segd/rop.c segd/grant.c \
            segd/export.c segd/rseg.c segd/rseg_io.c segd/rseg_free.c \
            segd/import.c segd/zio.c segd/zio_pool.c segd/pstats.c segd/fs.c segd/fs_node.c \
            segd/fs_reply.c segd/fs_ops.c segd/fs_io.c segd/fs_free.c segd/fsnet.c \
            segd/fs_netio.c segd/guard.c segd/backing.c segd/zring.c segd/zread.c segd/rfree.c segd/auth.c
CLI_SRC   = cli/segctl.c cli/io.c cli/progress.c cli/show.c cli/stats.c cli/json.c

# section 3: one page per family; every function its NAME section lists
# gets a .so page (man3/seg_attach.3 holds ".so man3/libseg.3")
MAN3      = man/libseg.3 man/seg_export.3 man/seg_lock.3 man/seg_rebind.3 man/seg_zalloc.3 \
            man/seg_zfree_async.3

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

all: $(BUILD)/segd $(BUILD)/segctl $(BUILD)/libseg.a $(BUILD)/libseg.so \
    $(BUILD)/segd.service $(BUILD)/libseg.pc

$(BUILD)/segd.service: dist/segd.service.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' $< > $@

$(BUILD)/libseg.pc: seglib/libseg.pc.in FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' $< > $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libseg.a: $(call obj,$(LIB_SRC) $(PROTO_SRC))
	rm -f $@; ar rcs $@ $^

$(BUILD)/libseg.so: $(call obj,$(LIB_SRC) $(PROTO_SRC)) seglib/libseg.map
	$(CC) -shared -Wl,-soname,libseg.so.0 -Wl,--version-script=seglib/libseg.map \
	    -o $@ $(filter %.o,$^) $(LDFLAGS) $(LIBSEG_LIBS)

$(BUILD)/segd: $(call obj,$(SEGD_SRC) $(PROTO_SRC))
	$(CC) -o $@ $^ $(LDFLAGS) $(SEGD_LIBS)

$(BUILD)/segctl: $(call obj,$(CLI_SRC)) $(BUILD)/libseg.a
	$(CC) -o $@ $^ $(LDFLAGS) $(LIBSEG_LIBS)

-include $(shell find $(BUILD)/obj -type f -name '*.d' 2>/dev/null)

include tests/tests.mk
include tests/fuzz/fuzz.mk
-include tests/rdma.mk
-include bench/bench.mk
-include bench/rdma.mk
-include bench/zio.mk

# The unit and the .pc carry the paths: build them with the same variables.
install: all install-man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(BUILD)/segd $(DESTDIR)$(SBINDIR)/segd
	install -m 755 $(BUILD)/segctl $(DESTDIR)$(BINDIR)/segctl
	install -m 644 $(BUILD)/libseg.a $(DESTDIR)$(LIBDIR)/libseg.a
	install -m 644 $(BUILD)/libseg.so $(DESTDIR)$(LIBDIR)/libseg.so.0
	ln -sf libseg.so.0 $(DESTDIR)$(LIBDIR)/libseg.so
	install -m 644 seglib/seg.h $(DESTDIR)$(INCLUDEDIR)/seg.h
	install -m 644 $(BUILD)/libseg.pc $(DESTDIR)$(LIBDIR)/pkgconfig/libseg.pc
	install -m 644 $(BUILD)/segd.service $(DESTDIR)$(UNITDIR)/segd.service
	install -m 644 dist/segd.conf $(DESTDIR)$(DOCDIR)/segd.conf.example

# the manual and bash completion (nothing to build)
install-man:
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 man/segctl.1 $(DESTDIR)$(MANDIR)/man1/segctl.1
	for p in $(MAN3); do \
	    page=$${p##*/}; \
	    install -m 644 $$p $(DESTDIR)$(MANDIR)/man3/$$page || exit 1; \
	    for f in $$(sed -n '/^\.SH NAME/,/\\-/p' $$p | sed '1d;s/\\-.*//' | tr ',' ' '); do \
	        [ "$$f.3" = "$$page" ] || \
	        printf '.so man3/%s\n' "$$page" >$(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	    done; \
	done
	install -m 644 man/segd.8 $(DESTDIR)$(MANDIR)/man8/segd.8
	install -m 644 cli/segctl.bash \
	    $(DESTDIR)$(BASHCOMPDIR)/segctl

clean:
	rm -rf build

.PHONY: all install install-man clean FORCE
FORCE:

# The main job: a demo of segd on soft-RoCE, two nodes (see demo/node.sh).
demo:
	sh tests/setup.sh
	$(MAKE) all
	tests/softroce pair -- demo/node.sh

.PHONY: demo
