#ifndef WHATIF_CLINUXSHIMS_H
#define WHATIF_CLINUXSHIMS_H
#include <sys/types.h>

/* glibc hides struct ucred without _GNU_SOURCE; this is the same layout, visible to Swift. */
typedef struct {
    int pid;
    unsigned int uid;
    unsigned int gid;
} whatif_peer_cred;

/* SO_PEERCRED on a connected AF_UNIX socket. Returns 0, or -1 with errno set. */
int whatif_peer_credentials(int fd, whatif_peer_cred *out);

/* SO_PEERGROUPS (Linux >= 4.13): the peer's supplementary groups at connect time.
   On entry *count is the capacity of groups; on return the number stored.
   Returns 0, or -1 with errno set (ERANGE: *count holds the number needed). */
int whatif_peer_groups(int fd, unsigned int *groups, int *count);

/* pipe2(fds, O_CLOEXEC): no window in which a concurrently spawned child inherits the pipe. */
int whatif_pipe_cloexec(int fds[2]);

/* accept4(fd, NULL, NULL, SOCK_CLOEXEC). */
int whatif_accept_cloexec(int fd);

/* The WIFEXITED/WEXITSTATUS family are macros. */
int whatif_wifexited(int status);
int whatif_wexitstatus(int status);
int whatif_wifsignaled(int status);
int whatif_wtermsig(int status);

/* Starts `path` with `argv` and `envp` (NULL-terminated) the way a daemon should start a helper:
   empty signal mask, default dispositions, stdin/stdout/stderr from fd0/fd1/fd2 (-1: /dev/null),
   every other descriptor closed (they are CLOEXEC), and `death_signal` delivered to the child when
   the calling thread exits (PR_SET_PDEATHSIG; 0 for none), so a SIGKILLed agent leaves no orphan
   writing into a backup. Returns the child's pid, or -1 with errno set (also for exec failures). */
int whatif_spawn(const char *path, char *const argv[], char *const envp[], int fd0, int fd1, int fd2,
                 int death_signal);
/* Returns freed heap memory to the system (glibc's malloc_trim); after a large one-off load. */
void whatif_malloc_trim(void);
/* A fixed mmap threshold (256 KiB): glibc's dynamic one grows after a large buffer is freed, and later
   large transient buffers (loading the metrics history, answering a day of metrics) then stay in the
   heap, fragmented, instead of going back to the system. */
void whatif_malloc_tune(void);
/* Writes "<prefix>crashed with SIG..." to stderr (the journal) on a fatal signal, then dies of it; the
   main thread's handler runs on an alternate stack so that a stack overflow there is reported too. */
int whatif_install_crash_logger(const char *prefix);
#endif
