# proto: see Makefile.am

# dmadirtyctl, the host-side reference client.  Its sub-commands come from
# the RPC schema through a generated table.
bin_PROGRAMS += proto/dmadirtyctl
proto_dmadirtyctl_SOURCES = proto/dmadirtyctl.c proto/ctl.h \
	proto/ctl-socket.c proto/ctl-resync.c proto/ctl-parse.c proto/ctl-print.c \
	proto/qga.c proto/qga.h
nodist_proto_dmadirtyctl_SOURCES = proto/dmadirtyctl-commands.h
proto_dmadirtyctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/proto
proto_dmadirtyctl_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS)
proto_dmadirtyctl_LDADD = $(GLIB_LIBS) $(JSON_LIBS) -lm

proto/dmadirtyctl-commands.h: $(srcdir)/proto/gen-rpc.py $(srcdir)/proto/rpc-schema.json
	$(AM_V_GEN)$(MKDIR_P) proto && \
	$(PYTHON3) $(srcdir)/proto/gen-rpc.py ctl $(srcdir)/proto/rpc-schema.json $@
BUILT_SOURCES += proto/dmadirtyctl-commands.h
CLEANFILES += proto/dmadirtyctl-commands.h

EXTRA_DIST += proto/gen-rpc.py proto/rpc-schema.json \
	proto/dmadirty_vendor.h proto/dmadirty_uapi.h

# Examples for wiring the agent's channel into libvirt and QEMU, and an
# orchestration script; installed as documentation.
ctlexamplesdir = $(docdir)/examples
dist_ctlexamples_DATA = \
	packaging/examples/README.md \
	packaging/examples/libvirt-channel.xml \
	packaging/examples/qemu-agent-channel.args
dist_ctlexamples_SCRIPTS = packaging/examples/migrate-with-passthrough
