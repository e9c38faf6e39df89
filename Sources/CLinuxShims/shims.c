#define _GNU_SOURCE
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
