// src/cli/out_lock.cpp - see out_lock.hpp.
#include "out_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "config.hpp"

namespace typenet::train {

out_dir_lock::out_dir_lock(const std::filesystem::path& dir) {
    const auto file = dir / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw config_error("--out " + dir.string() + ": cannot create " + file.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {  // e.g. some network filesystems
            std::fprintf(stderr, "typenet-train: warning: --out %s: this filesystem cannot lock %s (%s); running "
                                 "without the one-writer check\n", dir.c_str(), file.c_str(), std::strerror(err));
            return;  // fd_ stays open (closed by the destructor): harmless
        }
        char holder[32] = {};
        const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            std::string pid = n > 0 ? std::string(holder, std::size_t(n)) : std::string("unknown");
            while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
            throw config_error("--out " + dir.string() + ": another typenet-train (pid " + pid +
                               ") is writing this run directory; two runs in one directory would overwrite each "
                               "other's checkpoints and metrics. Wait for it, stop it, or choose another --out");
        }
        throw config_error("--out " + dir.string() + ": cannot lock " + file.string() + ": " + std::strerror(err));
    }
    char pid[32];
    const int len = std::snprintf(pid, sizeof pid, "%ld\n", long(::getpid()));  // nothing here throws
    if (::ftruncate(fd_, 0) != 0 || len <= 0 || ::pwrite(fd_, pid, std::size_t(len), 0) != ssize_t(len)) {
        // The lock holds regardless; only the pid in the message of a second run would be missing.
    }
}

out_dir_lock::~out_dir_lock() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace typenet::train
