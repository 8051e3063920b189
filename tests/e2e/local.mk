# tests/e2e: the end-to-end migration test (see tests/e2e/e2e.sh) and the
# demo.  The guest side (dmadirty.ko, guest/dmadirty_e2e.ko, initramfs) is
# built per kernel by build-guest.sh into tests/e2e/guest-<kver>/.

e2e_files = \
	tests/e2e/README.md \
	tests/e2e/e2e.sh \
	tests/e2e/build-guest.sh \
	tests/e2e/migrate.py \
	tests/e2e/guest/Kbuild \
	tests/e2e/guest/dmadirty_e2e.c \
	tests/e2e/guest/e2e-guest.sh
EXTRA_DIST += $(e2e_files)

if ENABLE_VM_TESTS
TESTS += tests/e2e/e2e.sh
endif

# One A/B migration and its table: the main job (make demo).
demo-e2e: all
	@$(AM_TESTS_ENVIRONMENT) $(SHELL) $(srcdir)/tests/e2e/e2e.sh --demo
demo-run: demo-e2e

clean-local: clean-e2e
clean-e2e:
	-rm -rf tests/e2e/guest-*
.PHONY: demo-e2e clean-e2e
