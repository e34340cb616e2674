#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <nimbus/directory/phone.hpp>

namespace {
// As cmd/main.cpp does for the program: the modules of this build tree.
const bool modules_found = (nimbus::phone::set_module_folder(NIMBUS_MODULE_DIR), true);
} // namespace
