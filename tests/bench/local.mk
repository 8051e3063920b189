# tests/bench: see Makefile.am

# The interim main job (make demo): the built agent answers
# dmadirtyctl status over a unix socket.
demo-agent: all
	$(SHELL) $(srcdir)/tests/bench/demo-agent.sh $(abs_top_builddir)
demo-run: demo-agent
.PHONY: demo-agent
EXTRA_DIST += tests/bench/demo-agent.sh
