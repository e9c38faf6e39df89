#define _GNU_SOURCE
#include <malloc.h>
#include "CLinuxShims.h"
#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

int whatif_peer_credentials(int fd, whatif_peer_cred *out) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    out->pid = cred.pid;
    out->uid = cred.uid;
    out->gid = cred.gid;
    return 0;
}

int whatif_peer_groups(int fd, unsigned int *groups, int *count) {
#ifdef SO_PEERGROUPS
    socklen_t len = (socklen_t)(*count) * sizeof(gid_t);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
        if (errno == ERANGE) *count = (int)(len / sizeof(gid_t));
        return -1;
    }
    *count = (int)(len / sizeof(gid_t));
    return 0;
#else
    errno = ENOPROTOOPT;
    return -1;
#endif
}

int whatif_wifexited(int status) { return WIFEXITED(status); }
int whatif_wexitstatus(int status) { return WEXITSTATUS(status); }
int whatif_wifsignaled(int status) { return WIFSIGNALED(status); }
int whatif_wtermsig(int status) { return WTERMSIG(status); }

int whatif_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int whatif_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

#include <signal.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <string.h>

int whatif_spawn(const char *path, char *const argv[], char *const envp[], int fd0, int fd1, int fd2,
                 int death_signal) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    /* No signal handler of ours may run in the child between fork and exec. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        /* Child: async-signal-safe calls only. */
        int err = 0;
        for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
        if (death_signal > 0) {
            if (prctl(PR_SET_PDEATHSIG, death_signal) != 0) err = errno;
            if (getppid() != parent) _exit(127); /* the parent died before prctl */
        }
        int fds[3] = {fd0, fd1, fd2};
        for (int i = 0; i < 3 && err == 0; i++) {
            int fd = fds[i];
            if (fd < 0) {
                fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
                if (fd < 0) { err = errno; break; }
            }
            if (fd == i) {
                int flags = fcntl(fd, F_GETFD);
                if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
            } else if (dup2(fd, i) < 0) {
                err = errno;
            }
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (err == 0) {
            execve(path, argv, envp);
            err = errno;
        }
        (void)!write(report[1], &err, sizeof(err));
        _exit(127);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        errno = fork_errno;
        return -1;
    }
    int child_err = 0;
    ssize_t n;
    do { n = read(report[0], &child_err, sizeof(child_err)); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == sizeof(child_err)) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = child_err;
        return -1;
    }
    return pid;
}

void whatif_malloc_trim(void) { malloc_trim(0); }
void whatif_malloc_tune(void) { mallopt(M_MMAP_THRESHOLD, 256 * 1024); }

#include <signal.h>
#include <string.h>

static char crash_prefix[128];

static void whatif_crash_handler(int sig) {
    /* Only async-signal-safe calls: write(2) the reason, then die of the same signal. */
    char buf[256];
    size_t n = 0;
    const char *name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGILL ? "SIGILL"
        : sig == SIGTRAP ? "SIGTRAP" : sig == SIGFPE ? "SIGFPE" : sig == SIGABRT ? "SIGABRT" : "a fatal signal";
    const char *parts[] = {crash_prefix, "crashed with ", name,
        "; this is a bug: please report it with the journal (journalctl -u whatifd)\n"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t l = strlen(parts[i]);
        if (n + l >= sizeof(buf)) l = sizeof(buf) - 1 - n;
        memcpy(buf + n, parts[i], l);
        n += l;
    }
    ssize_t ignored = write(2, buf, n);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}

int whatif_install_crash_logger(const char *prefix) {
    strncpy(crash_prefix, prefix, sizeof(crash_prefix) - 1);
    static char stack[65536];
    stack_t ss = {.ss_sp = stack, .ss_size = sizeof(stack), .ss_flags = 0};
    /* On an alternate stack: a stack overflow (the usual SIGSEGV of deep recursion) can still be reported. */
    if (sigaltstack(&ss, NULL) != 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = whatif_crash_handler;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (sigaction(sigs[i], &sa, NULL) != 0) return -1;
    }
    return 0;
}
