# packaging/: what `make install` puts outside the programs (the unit, the
# udev rule, modules-load.d, the config and the hooks directory), and the
# Debian and RPM package builds.  Install paths come from configure
# (pkg-config of systemd and udev, --with-... overrides).

systemdsystemunit_DATA = packaging/dmadirty-agent.service
CLEANFILES += packaging/dmadirty-agent.service
EXTRA_DIST += packaging/dmadirty-agent.service.in

packaging/dmadirty-agent.service: packaging/dmadirty-agent.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging && \
	$(SED) -e 's|@sbindir[@]|$(sbindir)|g' \
		$(srcdir)/packaging/dmadirty-agent.service.in >$@.tmp && mv $@.tmp $@

udevrulesdir = $(udevdir)/rules.d
dist_udevrules_DATA = packaging/60-dmadirty-agent.rules

# Installed as dmadirty.conf (the name modules-load.d wants).
EXTRA_DIST += packaging/dmadirty.modules-load.conf

dmadirtyconfdir = $(sysconfdir)/dmadirty
dist_dmadirtyconf_DATA = packaging/agent.conf

dmadirtyhooksdir = $(sysconfdir)/dmadirty/hooks.d
dist_dmadirtyhooks_DATA = packaging/hooks.d/example.sample

install-data-local: install-packaging-modules-load
uninstall-local: uninstall-packaging-modules-load
install-packaging-modules-load:
	$(MKDIR_P) '$(DESTDIR)$(modulesloaddir)'
	$(INSTALL_DATA) $(srcdir)/packaging/dmadirty.modules-load.conf \
		'$(DESTDIR)$(modulesloaddir)/dmadirty.conf'
uninstall-packaging-modules-load:
	rm -f '$(DESTDIR)$(modulesloaddir)/dmadirty.conf'
.PHONY: install-packaging-modules-load uninstall-packaging-modules-load

# distcheck installs below its own prefix: keep the pkg-config paths from
# pointing outside it.
AM_DISTCHECK_CONFIGURE_FLAGS += \
	--with-systemdsystemunitdir="$$dc_install_base/lib/systemd/system" \
	--with-udevdir="$$dc_install_base/lib/udev" \
	--with-modulesloaddir="$$dc_install_base/lib/modules-load.d"

# ------------------------------------------------------------- packages
# dpkg-buildpackage wants debian/ at the top of a source tree: `make deb`
# builds from the dist tarball, unpacked in a scratch directory, with
# packaging/debian copied in.  `make rpm` builds the spec from the same
# tarball.  The packages land in $(pkgdir).
pkgdir = $(abs_builddir)/packages
PACKAGING_FILES = \
	packaging/debian/changelog \
	packaging/debian/control \
	packaging/debian/copyright \
	packaging/debian/rules \
	packaging/debian/source/format \
	packaging/debian/dmadirty-agent.install \
	packaging/debian/dmadirty-agent.postinst \
	packaging/debian/dmadirty-agent.prerm \
	packaging/debian/dmadirty-agent.lintian-overrides \
	packaging/debian/dmadirty-dkms.install \
	packaging/debian/dmadirtyctl.install \
	packaging/rpm/dmadirty.spec \
	packaging/rpm/dmadirty.rpmlintrc \
	packaging/dkms.conf
EXTRA_DIST += $(PACKAGING_FILES)

#
# With DEB_RELEASE=bookworm or DEB_RELEASE=trixie (as root), the build runs
# in a debootstrap'ed root of that release, cached in $(DD_CACHE)/pkgroots,
# so that the packages depend on that release's libraries.  Without it, it
# runs on the build machine.
DEB_BUILD_OPTIONS ?= nocheck
DEB_RELEASE ?=
DD_CACHE ?= /var/cache/dmadirty
deb: dist-gzip
	rm -rf '$(pkgdir)/deb-src' && $(MKDIR_P) '$(pkgdir)/deb-src'
	tar -C '$(pkgdir)/deb-src' -xzf $(distdir).tar.gz
	cp -R $(srcdir)/packaging/debian '$(pkgdir)/deb-src/$(distdir)/debian'
	if test -n '$(DEB_RELEASE)'; then \
		DEB_BUILD_OPTIONS='$(DEB_BUILD_OPTIONS)' \
		$(srcdir)/tests/packaging/build-in-root.sh '$(DEB_RELEASE)' \
			'$(DD_CACHE)/pkgroots' '$(pkgdir)/deb-src/$(distdir)' -us -uc -b -j2; \
	else \
		cd '$(pkgdir)/deb-src/$(distdir)' && \
		DEB_BUILD_OPTIONS='$(DEB_BUILD_OPTIONS)' dpkg-buildpackage -us -uc -b -j2; \
	fi
	mv '$(pkgdir)'/deb-src/*.deb '$(pkgdir)'/deb-src/*.changes '$(pkgdir)'/deb-src/*.buildinfo '$(pkgdir)/'
	rm -rf '$(pkgdir)/deb-src'

# Debian's rpm has no database of build dependencies (--nodeps) and no
# find-debuginfo; on Fedora/RHEL `rpmbuild -tb` of the tarball does it all.
RPMBUILD_FLAGS ?= --nodeps --define 'debug_package %{nil}'
rpm: dist-gzip
	rm -rf '$(pkgdir)/rpmbuild' && $(MKDIR_P) '$(pkgdir)/rpmbuild/SOURCES'
	cp $(distdir).tar.gz '$(pkgdir)/rpmbuild/SOURCES/'
	rpmbuild -bb $(RPMBUILD_FLAGS) --define '_topdir $(pkgdir)/rpmbuild' \
		$(srcdir)/packaging/rpm/dmadirty.spec
	mv '$(pkgdir)'/rpmbuild/RPMS/*/*.rpm '$(pkgdir)/'
	rm -rf '$(pkgdir)/rpmbuild'

clean-local: clean-packages
clean-packages:
	rm -rf packages
.PHONY: deb rpm clean-packages
