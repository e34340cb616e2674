# Finds Debian's libutf8proc-dev, which ships no CMake package file.
# Defines the imported target utf8proc::utf8proc.
find_path(utf8proc_INCLUDE_DIR NAMES utf8proc.h)
# The static archive when there is one: one shared library less to load at
# every start (each conclusion is a process of its own).
find_library(utf8proc_LIBRARY NAMES libutf8proc.a utf8proc)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(utf8proc REQUIRED_VARS utf8proc_LIBRARY utf8proc_INCLUDE_DIR)

if(utf8proc_FOUND AND NOT TARGET utf8proc::utf8proc)
  add_library(utf8proc::utf8proc UNKNOWN IMPORTED)
  set_target_properties(utf8proc::utf8proc PROPERTIES
    IMPORTED_LOCATION "${utf8proc_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${utf8proc_INCLUDE_DIR}")
endif()
mark_as_advanced(utf8proc_INCLUDE_DIR utf8proc_LIBRARY)
