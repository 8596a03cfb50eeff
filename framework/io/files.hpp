#pragma once
// Files and programs, checked. Every file xgrad writes goes through here: each write, the flush and
// the close are checked, and a failure raises IoError naming the path and the operating system's
// reason — a full disk or a missing folder is never reported as success. Files that matter
// (parameters, checkpoints, reports) are replaced atomically, so a failed or interrupted save
// leaves the previous file as it was. Programs (gnuplot) are started with an argument vector,
// never through a shell, so no path or title can be read as a command.

#include <string>
#include <string_view>
#include <vector>

namespace xgrad {

/// The whole file. IoError naming the path when it cannot be opened, is a directory, or a read fails.
std::string read_file(const std::string& path);

/// Replaces `path` with `bytes` atomically: the bytes go to a temporary file in the same folder,
/// which is flushed to disk (fsync) and then renamed over `path`. On any failure the temporary file
/// is removed, `path` is untouched, and IoError says what failed. A path that is not a regular file
/// (a device such as /dev/null or /dev/full, a pipe) is written in place, with the same checks.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Creates `folder` (and its parents) if needed and checks that a file can be created in it, so a
/// program can refuse a bad --out before it trains rather than after. IoError otherwise.
void ensure_writable_folder(const std::string& folder);

/// Checks that `path` could be written: its folder exists and is writable (it is not created: a
/// mistyped path is an error), and `path` is not a folder. For options like --json FILE, checked before the work starts.
void ensure_writable_file(const std::string& path);

/// What a finished program left behind.
struct ProgramResult {
    int exit_code = -1;       ///< the program's exit status; 128 + N when killed by signal N
    std::string std_err;      ///< what it printed on standard error
};

/// Runs `argv[0]` (looked up in PATH) with the arguments `argv`, no shell involved, writing `input`
/// to its standard input and discarding its standard output. IoError when it cannot be started
/// (not installed, not executable); otherwise its exit status, whatever it is.
ProgramResult run_program(const std::vector<std::string>& argv, std::string_view input = {});

}  // namespace xgrad
