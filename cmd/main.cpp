#include <nimbus/directory/phone.hpp>

#include "app.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sys/auxv.h>

// LeakSanitizer traces the process as it exits, which the kernel forbids for
// a setgid one (it is not dumpable): a sanitized build installed setgid keeps
// every other check. And it reads the dynamic TLS of loaded libraries through
// its own record of __tls_get_addr, which g++ 12's runtime keeps wrongly once
// the phone module (protobuf, abseil) and libpq are both loaded: its tracer
// then crashes at exit. Without that record, leaks are still found.
extern "C" const char* __asan_default_options() {
    return ::getauxval(AT_SECURE) != 0 ? "detect_leaks=0:intercept_tls_get_addr=0"
                                       : "intercept_tls_get_addr=0";
}
#endif

int main(int argc, char** argv) {
    nimbus::phone::set_module_folder(NIMBUS_MODULE_DIR);
    return nimbus::cli::run(argc, argv);
}
