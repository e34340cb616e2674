# The Debian package: `cpack -G DEB` in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr (scripts/package.sh does both). It holds what
# `cmake --install` installs, its dependencies found by dpkg-shlibdeps, and
# the maintainer scripts in packaging/debian, which set up the shared host the
# Debian way (docs/install.md).

# The package's version is the project's, and its changelog says so.
file(STRINGS "${PROJECT_SOURCE_DIR}/packaging/debian/changelog" changelog_head LIMIT_COUNT 1)
if(NOT changelog_head MATCHES "^nimbus-codes \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog begins '${changelog_head}', "
                      "not an entry for version ${PROJECT_VERSION}")
endif()

# Debian compresses manual pages and changelogs with gzip -9n (no name or time
# in the header, so the same input gives the same bytes).
set(packaging_dir "${PROJECT_BINARY_DIR}/packaging")
set(compressed)
foreach(source IN ITEMS docs/nimbus-codes.1 docs/nimbus-codes-identity.5
                        docs/nimbus-codes-setup-shared-host.8 packaging/debian/changelog)
  get_filename_component(name "${source}" NAME)
  add_custom_command(OUTPUT "${packaging_dir}/${name}.gz"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${packaging_dir}"
    COMMAND gzip -9n -c "${PROJECT_SOURCE_DIR}/${source}" > "${packaging_dir}/${name}.gz"
    DEPENDS "${PROJECT_SOURCE_DIR}/${source}" VERBATIM)
  list(APPEND compressed "${packaging_dir}/${name}.gz")
endforeach()
add_custom_target(nimbus-codes-compressed-docs ALL DEPENDS ${compressed})

install(FILES "${packaging_dir}/nimbus-codes.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES "${packaging_dir}/nimbus-codes-identity.5.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES "${packaging_dir}/nimbus-codes-setup-shared-host.8.gz"
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT shared-host)
file(GLOB docs_pages CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES "${packaging_dir}/changelog.gz" packaging/debian/copyright README.md ${docs_pages}
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nimbus-codes)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "nimbus-codes maintainers <maintainers@nimbus-codes.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "conclusion codes and tags for contact-center service teams")
# The long description (CPack puts the summary above it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "At the end of every call an agent records why it happened and how it ended:
predefined primary and secondary codes and free tags. Admins define the codes
and attach them to services; service owners read monthly code usage.
nimbus-codes does this as one command over a SQLite store, or a PostgreSQL
database for agents on many machines, with roles from a TOML identity file.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # nimbus-codes_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_STRIP_FILES ON)
# What is linked, from the libraries' shlibs; then what is loaded at run time,
# which dpkg-shlibdeps cannot see: ICU compares every new name (Depends), libpq
# only reaches PostgreSQL stores (Recommends: installed by default, but a
# SQLite-only machine may leave it out and is told what to install if needed).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
string(REGEX MATCH "^[0-9]+" icu_major "${ICU_VERSION}")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libicu${icu_major}, adduser, debconf (>= 0.5) | debconf-2.0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libpq5")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
# The maintainer scripts and the debconf question name the paths this build
# was configured with (`binary` is set beside the monthly report's).
set(shared_store "${NIMBUS_SHARED_STORE}")
set(shared_identity "${NIMBUS_SHARED_IDENTITY}")
get_filename_component(store_folder "${NIMBUS_SHARED_STORE}" DIRECTORY)
get_filename_component(identity_folder "${NIMBUS_SHARED_IDENTITY}" DIRECTORY)
set(control_files "${PROJECT_SOURCE_DIR}/packaging/debian/config")
foreach(name IN ITEMS postinst postrm templates)
  configure_file("${PROJECT_SOURCE_DIR}/packaging/debian/${name}.in" "${packaging_dir}/${name}" @ONLY
                 USE_SOURCE_PERMISSIONS)
  list(APPEND control_files "${packaging_dir}/${name}")
endforeach()
# The settings in /etc are the admin's: dpkg keeps their changes on upgrade.
file(WRITE "${packaging_dir}/conffiles" "${monthly_report_config}\n")
list(APPEND control_files "${packaging_dir}/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${control_files}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
