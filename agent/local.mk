# agent: dmadirty-agent, the guest daemon.
#
# Everything but main.c is in a convenience library, so that the unit,
# integration and fuzz tests link the very objects the agent runs.

noinst_LIBRARIES += agent/libdmadirty-agent.a
agent_libdmadirty_agent_a_SOURCES = \
	agent/agent.c agent/agent.h \
	agent/agent-config.h \
	agent/channel.c agent/channel.h \
	agent/commands.c agent/commands.h \
	agent/config.c \
	agent/dirty.c agent/dirty.h \
	agent/dispatch.c agent/dispatch.h \
	agent/framer.c agent/framer.h \
	agent/hooks.c agent/hooks.h \
	agent/kernel.c agent/kernel.h \
	agent/log.c agent/log.h \
	agent/notify.c agent/notify.h \
	agent/uevent.c agent/uevent.h \
	proto/qga.c proto/qga.h
nodist_agent_libdmadirty_agent_a_SOURCES = agent/rpc-table.c
agent_libdmadirty_agent_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS) $(UDEV_CFLAGS)

# The dispatch table comes from the schema, so that the two cannot drift.
agent/rpc-table.c: $(top_srcdir)/proto/rpc-schema.json $(top_srcdir)/proto/gen-rpc.py
	$(AM_V_GEN)$(MKDIR_P) agent && \
	$(PYTHON3) $(top_srcdir)/proto/gen-rpc.py agent $(top_srcdir)/proto/rpc-schema.json $@
BUILT_SOURCES += agent/rpc-table.c
CLEANFILES += agent/rpc-table.c

DD_AGENT_LIBS = agent/libdmadirty-agent.a $(GLIB_LIBS) $(JSON_LIBS) $(UDEV_LIBS)

sbin_PROGRAMS += agent/dmadirty-agent
agent_dmadirty_agent_SOURCES = agent/main.c
agent_dmadirty_agent_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS) $(UDEV_CFLAGS)
agent_dmadirty_agent_LDADD = $(DD_AGENT_LIBS)
