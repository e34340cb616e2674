#include <nimbus/directory/phone.hpp>

#include "app.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sys/auxv.h>

// LeakSanitizer traces the process as it exits, which the kernel forbids for
// a setgid one (it is not dumpable): a sanitized build installed setgid keeps
// every other check.
extern "C" const char* __asan_default_options() {
    return ::getauxval(AT_SECURE) != 0 ? "detect_leaks=0" : "";
}
#endif

int main(int argc, char** argv) {
    nimbus::phone::set_module_folder(NIMBUS_MODULE_DIR);
    return nimbus::cli::run(argc, argv);
}
