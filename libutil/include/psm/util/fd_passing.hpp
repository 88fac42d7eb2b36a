// Passing an open file descriptor over a UNIX-domain stream socket exactly
// as Postfix does it (unix_send_fd/unix_recv_fd): one data byte 0x00 plus one
// SCM_RIGHTS control message. Used for the postscreen -> smtpd "pass"
// hand-off and the postscreen -> tlsproxy client socket. Both calls work on
// blocking and non-blocking sockets; a would-block is returned as EAGAIN for
// the caller's event loop to retry. They never raise SIGPIPE.
#pragma once

#include "psm/util/unique_fd.hpp"

#include <string_view>

namespace psm {

// Sends fd_to_send. Returns 0, or an errno value (EAGAIN, EPIPE, ...). If the
// first sendmsg() fails for another reason, it is retried once with the
// smaller control length CMSG_LEN (Postfix's workaround for old kernels).
// `trailer` (e.g. the attribute list that follows the descriptor) goes in
// the same sendmsg() after the data byte: the peer reads the same byte
// stream as after two sends, with one system call less on each side of a
// wake-up. It must fit the socket's buffer at once: a short send is EAGAIN
// (the descriptor may then have gone; the caller gives the connection up).
int send_fd(int sock, int fd_to_send, std::string_view trailer = {});

// Receives one descriptor (close-on-exec set) into out. Returns 0, or an
// errno value: EAGAIN (nothing yet), ENOMSG (the peer closed the connection
// without sending a descriptor), EBADMSG (no data byte, missing, truncated or
// unexpected control data; any descriptors that came with it are closed),
// or the error of recvmsg(). If several descriptors arrive, the first is
// kept and the others are closed.
int recv_fd(int sock, UniqueFd& out);

} // namespace psm
