#include "framework/io/files.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <pthread.h>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <random>

#include "framework/errors.hpp"

extern char** environ;

namespace xgrad {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
    throw IoError(path + ": " + what + " (" + std::strerror(error) + ")");
}

/// A file descriptor closed on every path out.
class Descriptor {
public:
    explicit Descriptor(int fd = -1) : fd_(fd) {}
    ~Descriptor() { reset(); }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    /// Closes and reports whether close succeeded (a write-back error can first show here).
    int close_checked() {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0 ? 0 : errno;
    }

private:
    int fd_;
};

void write_all(int fd, std::string_view bytes, const std::string& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path, "write failed", errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string folder_of(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? "." : parent.string();
}

}  // namespace

std::string read_file(const std::string& path) {
    Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail(path, "cannot open", errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) fail(path, "cannot stat", errno);
    if (S_ISDIR(info.st_mode)) throw IoError(path + ": is a directory, not a file");
    std::string bytes;
    if (S_ISREG(info.st_mode)) bytes.reserve(static_cast<std::size_t>(info.st_size));
    char chunk[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path, "read failed", errno);
        }
        if (n == 0) break;
        bytes.append(chunk, static_cast<std::size_t>(n));
    }
    return bytes;
}

void write_file_atomic(const std::string& given, std::string_view bytes) {
    if (given.empty()) throw IoError("write: empty file name");
    // A symbolic link is followed: the file it points to is replaced, the link stays a link.
    std::string path = given;
    std::error_code link_error;
    if (std::filesystem::is_symlink(path, link_error)) {
        const auto target = std::filesystem::weakly_canonical(path, link_error);
        if (!link_error) path = target.string();
    }
    struct stat info {};
    const bool replacing = ::stat(path.c_str(), &info) == 0;
    if (replacing) {
        if (S_ISDIR(info.st_mode)) throw IoError(path + ": is a directory; give a file name");
        if (!S_ISREG(info.st_mode)) {
            // A device or a pipe: renaming over it would replace it, so write through it instead.
            Descriptor fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
            if (fd.get() < 0) fail(path, "cannot open for writing", errno);
            write_all(fd.get(), bytes, path);
            if (const int error = fd.close_checked()) fail(path, "close failed", error);
            return;
        }
    }
    // The temporary file lives in the target's folder: rename is atomic only within one file system.
    std::random_device entropy;
    const std::string temporary = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(entropy());
    Descriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (fd.get() < 0) fail(path, "cannot create a file in " + folder_of(path), errno);
    try {
        // The new file keeps the old one's permissions (a 0600 checkpoint stays 0600).
        if (replacing && ::fchmod(fd.get(), info.st_mode & 07777) != 0) fail(path, "cannot set permissions", errno);
        write_all(fd.get(), bytes, path);
        if (::fsync(fd.get()) != 0) fail(path, "fsync failed", errno);
        if (const int error = fd.close_checked()) fail(path, "close failed", error);
        if (::rename(temporary.c_str(), path.c_str()) != 0) fail(path, "cannot replace the file", errno);
    } catch (...) {
        fd.reset();
        ::unlink(temporary.c_str());
        throw;
    }
    // Make the rename itself durable; failing here leaves a complete file either way, so it is not an error.
    Descriptor folder(::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (folder.get() >= 0) ::fsync(folder.get());
}

void ensure_writable_folder(const std::string& folder) {
    if (folder.empty()) return;
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) throw IoError(folder + ": cannot create the folder (" + error.message() + ")");
    if (!std::filesystem::is_directory(folder, error)) throw IoError(folder + ": is not a folder");
    if (::access(folder.c_str(), W_OK | X_OK) != 0) fail(folder, "cannot write in the folder", errno);
}

void ensure_writable_file(const std::string& path) {
    if (path.empty()) throw IoError("write: empty file name");
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) throw IoError(path + ": is a directory; give a file name");
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
        if (::access(path.c_str(), W_OK) != 0) fail(path, "cannot write", errno);
        return;
    }
    // A file's folder must exist already (only --out style folders are created): a mistyped path is
    // an error, not a new folder tree.
    const std::string folder = folder_of(path);
    if (!std::filesystem::is_directory(folder, error))
        throw IoError(path + ": cannot write, the folder " + folder + " does not exist");
    if (::access(folder.c_str(), W_OK | X_OK) != 0) fail(path, "cannot write in " + folder, errno);
}

namespace {

/// Starts argv[0] (looked up in PATH) with standard input from `stdin_fd`, standard error into
/// `stderr_fd` and standard output discarded. No shell is involved.
pid_t spawn(const std::vector<std::string>& argv, int stdin_fd, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) fail(argv[0], "cannot start the program", spawned);
    return pid;
}

/// Writes `input` into the program's standard input while draining its standard error, so neither
/// side can block the other (the input end is non-blocking); returns what it printed on stderr.
std::string exchange(Descriptor& in_write, Descriptor& err_read, std::string_view input) {
    std::string std_err;
    if (input.empty()) in_write.reset();
    if (in_write.get() >= 0) ::fcntl(in_write.get(), F_SETFL, ::fcntl(in_write.get(), F_GETFL) | O_NONBLOCK);
    // A program that exits without reading all its input must not kill us with SIGPIPE: the signal
    // is blocked in this thread only (other threads are left alone), and one it raised is consumed.
    sigset_t pipe_signal, previous_mask;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous_mask);
    bool broken_pipe = false;
    // Until both are done: a program may close its standard error and still read its input.
    while (err_read.get() >= 0 || in_write.get() >= 0) {
        // poll ignores negative descriptors, so a finished side simply drops out.
        pollfd fds[2] = {{err_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (in_write.get() >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n = ::write(in_write.get(), input.data(), std::min<std::size_t>(input.size(), 1 << 16));
            if (n > 0) input.remove_prefix(static_cast<std::size_t>(n));
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                broken_pipe = errno == EPIPE;
                input = {};
            }
            if (input.empty()) in_write.reset();
        }
        if (err_read.get() >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            char chunk[4096];
            const ssize_t n = ::read(err_read.get(), chunk, sizeof chunk);
            if (n > 0)
                std_err.append(chunk, static_cast<std::size_t>(n));
            else if (n == 0 || errno != EINTR)
                err_read.reset();
        }
    }
    in_write.reset();
    if (broken_pipe) {
        const timespec now{0, 0};
        ::sigtimedwait(&pipe_signal, nullptr, &now);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    return std_err;
}

/// The exit status; 128 + N for a program killed by signal N.
int wait_for(pid_t pid, const std::string& program) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail(program, "cannot learn how the program ended", errno);  // never "exit 0"
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

ProgramResult run_program(const std::vector<std::string>& argv, std::string_view input) {
    if (argv.empty()) throw IoError("run_program: no program given");
    int in_pipe[2], err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) fail(argv[0], "cannot create a pipe", errno);
    Descriptor in_read(in_pipe[0]), in_write(in_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) fail(argv[0], "cannot create a pipe", errno);
    Descriptor err_read(err_pipe[0]), err_write(err_pipe[1]);
    const pid_t pid = spawn(argv, in_read.get(), err_write.get());
    in_read.reset();
    err_write.reset();
    ProgramResult result;
    result.std_err = exchange(in_write, err_read, input);
    result.exit_code = wait_for(pid, argv[0]);
    return result;
}

}  // namespace xgrad
