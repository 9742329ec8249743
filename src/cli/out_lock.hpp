// src/cli/out_lock.hpp (private to the tools) - one writer per run directory.
//
// typenet-train writes a run's checkpoints, metrics and charts into --out DIR. Two runs in the
// same directory (a second terminal, a script started twice) would interleave their epochs in
// metrics.csv and replace each other's last.ckpt: nothing says so, and the run's record is
// lost. The trainer therefore holds an exclusive lock on DIR/.lock (flock, with the holder's
// pid written in it) for as long as it runs; a second typenet-train on the same directory
// stops at once with an error naming the directory and the holder. The kernel drops the lock
// when the holder ends, however it ends (Ctrl-C, a crash, a closed session): a stale .lock
// file never blocks a later run.
#pragma once

#include <filesystem>

namespace typenet::train {

class out_dir_lock {
public:
    // Creates DIR/.lock if needed and locks it; throws config_error ("--out DIR: ...") when
    // another process holds it, or the file cannot be created.
    explicit out_dir_lock(const std::filesystem::path& dir);
    ~out_dir_lock();
    out_dir_lock(const out_dir_lock&) = delete;
    out_dir_lock& operator=(const out_dir_lock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace typenet::train
