// One accepted connection through stock 3.7's life cycle
// (../shared/spec/postscreen.md §1.3-§1.10): [A] endpoint lookup (socket or
// HAProxy header), [B] CONNECT, [C]/[D] connection-count and post-queue
// limits, [E] the permanent access list, [F] the temporary allowlist (cache),
// [G] the allowlist-interface veto, [H] the pre-queue limit, [I] the early
// tests (teaser, greet wait, pregreet peek, DNSBL score), the SMTP engine
// on the client socket, and the conclusion: PASS NEW/OLD, cache update,
// hand-off to smtpd (or X21) or the final reply and DISCONNECT; HANGUP.
//
// Memory: a session waiting in the greet wait holds this object, one
// pending readiness wait on its socket in the server's private epoll set
// (only while the pregreet test watches it; no Asio state for the socket),
// one timer-queue slot and its share of the per-IP entry; no
// read buffer (input is peeked into a loop-wide scratch buffer). The SMTP
// engine, its line reader and the DNSBL state are allocated only in the
// phases that need them.
//
// Sessions own themselves (the server keeps a list to close them on exit);
// every asynchronous completion holds a shared_ptr and checks that the
// session is still in the phase that asked for it.
#pragma once

#include "dnsbl_client.hpp"
#include "endpoint.hpp"
#include "server.hpp"
#include "session_state.hpp"
#include "timer_queue.hpp"

#include "psm/global/daemon.hpp"

#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace psm::postscreen {

class Session : public std::enable_shared_from_this<Session> {
public:
    using Socket = Connection::Socket;
    using Clock = std::chrono::steady_clock;

    // `family`: the socket's address family (AF_UNSPEC: not known).
    Session(Server& server, UniqueFd client, ClientSlot slot, int family);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Starts the session (called once, after the server adopted it), with
    // the client's address as accept() gave it (length 0: not known).
    void start(const Connection& connection); // its addresses (the descriptor and slot are taken)
    // Closes the session at once, without logging (process exit).
    void abort();

    Server::SessionHook hook;      // the server's session list
    std::shared_ptr<Session> self; // ownership: reset when the session ends

private:
    enum class Phase : std::uint8_t { endpoint, load, early, grace, smtp, handoff, done };
    struct DnsblState;
    struct SmtpState;
    struct HandoffState;

    // ---- [A] endpoint
    void start_proxy_wait();
    void endpoint_failed();
    // ---- [B]..[I]
    void connected(Endpoint endpoint);
    void check_cache(); // [F]
    void cache_loaded(std::optional<CacheRecord> record);
    void load_finished();                         // wakes sessions waiting for this IP's load
    void after_cache(bool loaded_here, bool hit); // [F] tail, [G], [H], [I]
    void compute_todo();
    void dispatch(); // [I]
    // ---- early tests
    void start_early();
    void watch_pregreet();
    static void on_pregreet_ready(void* self);
    void stop_watching(); // ends the pregreet wait, if one is pending
    void on_pregreet_readable();
    void on_pregreet_input(ssize_t peeked); // peek_input()'s result
    static void on_early_timer(void* self);
    static void on_dnsbl_ready(void* self);
    void retrieve_dnsbl();
    bool early_tests_done() const;
    void end_early();
    // ---- SMTP engine
    void start_smtp();
    void read_commands();
    bool apply(SmtpEngine::Step step);
    static void on_command_timer(void* self);
    void arm_command_timer();
    void start_tls(); // starttls.cpp: STARTTLS via tlsproxy
    void tls_finished(bool ok, Socket plaintext);
    // ---- ends
    void drop(std::string reply);
    void hangup();
    void conclude();
    void hand_off();
    bool retry_hand_off(); // false: no retry left
    void handoff_failed(bool connect_error);
    void wait_handoff_ack();
    void finish();
    void close_client();

    // Sends bytes (non-blocking; what the kernel does not take is kept and
    // sent first next time). false: the client is gone (warns as stock).
    bool send(std::string_view bytes);
    bool send_reply(std::string_view reply); // formatted (footer, soft_bounce)
    std::string after() const;               // time since the phase started, stock format
    std::string addr_port() const;           // "[addr]:port"

    // The client's socket: a plain descriptor (client_descriptor_) until a phase waits
    // on it (a PASS OLD client never does), then socket_.
    int client_fd() { return socket_.is_open() ? socket_.native_handle() : client_descriptor_.get(); }
    Socket& socket();

    Server& server_;
    Socket socket_;
    ClientSlot slot_;
    Endpoint endpoint_;
    ClientEntry* client_ = nullptr;
    SessionState state_;
    TimerQueue::Entry timer_;
    std::uint64_t watch_ticket_ = 0; // the pregreet wait in the server's ReadinessWatch
    Clock::time_point phase_start_{};
    std::unique_ptr<std::string> unsent_;   // reply bytes the kernel did not take yet
    std::unique_ptr<DnsblState> dnsbl_;     // early phase with DNSBL TODO
    std::unique_ptr<SmtpState> smtp_;       // SMTP engine phase
    std::unique_ptr<HandoffState> handoff_; // waiting for smtpd to take the socket
    Phase phase_ = Phase::endpoint;
    bool watching_ = false;            // a readiness wait on the socket is outstanding
    bool attached_ = false;            // counted in the server's tables
    bool pregreet_seen_ = false;       // the early bytes were logged (PREGREET)
    bool stress_wait_ = false;         // this session's waits use the stress values
    bool in_early_phase_ = true;       // for the HANGUP phase name
    std::uint8_t handoff_retries_ = 0; // connects refused with EAGAIN so far
    sa_family_t family_;               // of the client's socket, for socket()
    UniqueFd client_descriptor_;       // see client_fd()
};

} // namespace psm::postscreen
