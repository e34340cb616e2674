#pragma once

#include <string>

#include <sys/types.h>

/// A binary installed setgid (the shared-host way to run, docs/guide.md) holds
/// rights its caller does not: the group that alone may write the store. Those
/// rights must reach the store and nothing else.
namespace nimbus::privilege {

/// True when the process holds rights its caller does not have (a setgid or
/// setuid binary), judged as the C library judges it: AT_SECURE.
bool elevated();

/// For its lifetime, the process acts with its caller's own user and group
/// (the real ids) instead of the rights the binary was installed with. Every
/// file the caller names is opened, created or renamed inside one. Does
/// nothing when not elevated, and nothing when already acting as the caller.
class CallerRights {
public:
    CallerRights();
    ~CallerRights();
    CallerRights(const CallerRights&) = delete;
    CallerRights& operator=(const CallerRights&) = delete;

private:
    bool dropped_ = false;
    uid_t saved_uid_ = 0;
    gid_t saved_gid_ = 0;
};

/// Checks that nobody but root can change `path` or what it names: the file
/// is a regular file owned by root and writable by nobody else, and so is
/// every folder on the way to it, links resolved. Gives the resolved path, to
/// be opened instead. Throws Config naming what is wrong; `what` names the
/// file ("the identity file").
std::string require_root_owned_file(const std::string& path, const std::string& what);

/// Checks that nobody but root and the group that owns it can write `folder`
/// (the shared store's), and that nobody but root can write the folders on
/// the way to it. Throws Config naming what is wrong.
void require_guarded_folder(const std::string& folder, const std::string& what);

/// Checks that `path` itself (not a link) is a regular file owned by root
/// whose mode has none of the bits in `forbidden`. Throws Config naming what
/// is wrong; `what` names the file.
void require_root_file(const std::string& path, const std::string& what, mode_t forbidden);

} // namespace nimbus::privilege
