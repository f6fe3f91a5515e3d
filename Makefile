# make install [PREFIX=/usr/local] [DESTDIR=]: a release build of the C ABI as
# lib/libgraphseq.so (SONAME libgraphseq.so.MAJOR), include/graphseq.h and
# lib/pkgconfig/graphseq.pc. make uninstall removes them again.
#
# The Swift runtime is linked in statically (-static-stdlib), so the library
# needs only libc, libm, libstdc++ and libomp at run time, not /opt/swift. A
# linker version script exports the public gsq_ names only; everything else
# (internal gsq__ helpers, the Swift runtime) stays local.
PREFIX ?= /usr/local
SWIFT ?= swift
BUILD := .build/install
VERSION := $(shell awk '/define GSQ_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", s, $$3; s="."}' include/graphseq.h)
MAJOR := $(firstword $(subst ., ,$(VERSION)))
LIB := libgraphseq.so
LIBDIR := $(DESTDIR)$(PREFIX)/lib

.PHONY: all install uninstall
all:
	mkdir -p $(BUILD)
	echo '{ global: gsq_[a-z]*; local: *; };' > $(BUILD)/exports.map
	$(SWIFT) build -c release --product GraphSeqC --scratch-path $(BUILD) -Xswiftc -static-stdlib \
	    -Xlinker -soname=$(LIB).$(MAJOR) -Xlinker --version-script=$(CURDIR)/$(BUILD)/exports.map

install: all
	install -d $(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/release/libGraphSeqC.so $(LIBDIR)/$(LIB).$(VERSION)
	ln -sf $(LIB).$(VERSION) $(LIBDIR)/$(LIB).$(MAJOR)
	ln -sf $(LIB).$(MAJOR) $(LIBDIR)/$(LIB)
	install -m 644 include/graphseq.h $(DESTDIR)$(PREFIX)/include/graphseq.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' bindings/c/graphseq.pc.in > $(LIBDIR)/pkgconfig/graphseq.pc
	[ -n "$(DESTDIR)" ] || ldconfig 2>/dev/null || true  # refresh the loader's cache where that is allowed

uninstall:
	rm -f $(addprefix $(LIBDIR)/,$(LIB) $(LIB).$(MAJOR) $(LIB).$(VERSION) pkgconfig/graphseq.pc) \
	    $(DESTDIR)$(PREFIX)/include/graphseq.h
