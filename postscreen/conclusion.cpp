// The end of every session (postscreen.md §1.8-§1.10): PASS NEW/OLD, the
// cache update, then the hand-off to smtpd - or the final reply and
// DISCONNECT; a failed hand-off after a teaser continues in X21 mode.
#include "session_parts.hpp"

#include "handoff.hpp"

#include "psm/util/log.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace psm::postscreen {

void Session::conclude() {
    // Stop whatever the phase was waiting for.
    timer_.cancel();
    if (smtp_) smtp_->reader.stop();
    stop_watching();
    watching_ = false; // an aborted wait's handler finds the phase over
    if (dnsbl_) {
        server_.dnsbl().leave(dnsbl_->waiter);
        dnsbl_.reset();
    }
    phase_ = Phase::endpoint;

    // 1. A failure cancels every pass of this session.
    if (state_.any_fail())
        for (auto& t : state_.tests)
            t.pass = false;
    // 2. PASS NEW / PASS OLD when every test to do has passed.
    bool any_pass = false, all_passed = true;
    for (const auto& t : state_.tests) {
        any_pass |= t.pass;
        all_passed &= t.pass == t.todo;
    }
    if (any_pass && all_passed)
        msg_info("PASS %s %s", !state_.new_client || client_->state.pass_new_logged++ > 0 ? "OLD" : "NEW",
                 addr_port().c_str());
    // 3. Remember what passed (not after the drain has closed the cache).
    if (any_pass)
        if (CacheStore* cache = server_.cache())
            cache->update(endpoint_.client_addr, client_->state.stamps, server_.settings().enabled);
    // 4. Hand off, or say goodbye.
    if (!state_.noforward) return hand_off();
    if (!state_.hangup) send_reply(state_.final_reply);
    msg_info("DISCONNECT %s", addr_port().c_str());
    finish();
}

void Session::hand_off() {
    const std::string& service = server_.settings().smtpd_service;
    UniqueFd channel;
    int error = 0;
    switch (pass_connection(service, client_fd(), endpoint_, channel, error)) {
    case HandoffResult::ok:
        break;
    case HandoffResult::connect_failed:
        if ((error == EAGAIN || error == EWOULDBLOCK) && retry_hand_off()) return;
        msg_warn("cannot connect to service %s: %s", service.c_str(), std::strerror(error));
        return handoff_failed(true);
    case HandoffResult::pass_failed:
        msg_warn("cannot pass connection to service %s: %s", service.c_str(), std::strerror(error));
        return handoff_failed(false);
    }
    phase_ = Phase::handoff;
    handoff_ = std::make_unique<HandoffState>();
    handoff_->channel = std::move(channel);
    wait_handoff_ack();
}

// EAGAIN from the connect: smtpd's listen queue is full (a burst of
// hand-offs, and master starts one more smtpd per wake-up). Stock means to
// wait up to a second for the connect, but a UNIX-domain connect never
// waits, so stock turns the client away at once ("All server ports are
// busy") although it passed. Here the session tries again for that second,
// at growing intervals; the client just sees smtpd's banner a little later.
bool Session::retry_hand_off() {
    static constexpr std::array<std::chrono::milliseconds, 8> kDelays{
        std::chrono::milliseconds(10),  std::chrono::milliseconds(20),  std::chrono::milliseconds(40),
        std::chrono::milliseconds(80),  std::chrono::milliseconds(150), std::chrono::milliseconds(200),
        std::chrono::milliseconds(250), std::chrono::milliseconds(250)}; // 1 s in all
    if (handoff_retries_ >= kDelays.size()) return false;
    server_.timers().arm(
        timer_, kDelays[handoff_retries_++],
        [](void* p) {
            auto& s = *static_cast<Session*>(p);
            auto keep = s.shared_from_this();
            s.hand_off();
        },
        this);
    return true;
}

// smtpd closes the channel once it has the socket; until then the session
// counts in the post-queue and keeps its copy of the client socket.
void Session::wait_handoff_ack() {
    handoff_->ticket = server_.readiness().watch(
        handoff_->channel.get(),
        [](void* p) {
            auto& s = *static_cast<Session*>(p);
            auto keep = s.shared_from_this();
            s.handoff_->ticket = 0;
            s.finish();
        },
        this);
    // smtpd has the socket whether or not its close can be watched (no
    // memory for the watch): then the session just ends here.
    if (handoff_->ticket == 0) return finish();
    server_.post_queue_enter();
    handoff_->counted = true;
    server_.timers().arm(
        timer_, kHandoffAckTimeout,
        [](void* p) {
            auto& s = *static_cast<Session*>(p);
            auto keep = s.shared_from_this();
            if (s.phase_ != Phase::handoff) return;
            msg_warn("timeout sending connection to service %s", s.server_.settings().smtpd_service.c_str());
            s.finish();
        },
        this);
}

void Session::handoff_failed(bool connect_error) {
    if (state_[Test::pregreet].todo) {
        // X21: a "220-" teaser is outstanding; finish the greeting in the
        // SMTP engine and turn the client away at its first command.
        state_.x21 = true;
        state_.noforward = true;
        state_.final_reply = "421 4.3.2 No system resources";
        return start_smtp();
    }
    send_reply(connect_error ? "421 4.3.2 All server ports are busy" : "421 4.3.2 No system resources");
    finish(); // no DISCONNECT line, as stock
}

} // namespace psm::postscreen
