// The "tests after SMTP handshake" phase: the SMTP engine (smtp_engine.hpp)
// on the client socket - line reading with stock's length limit and
// pipelining view, the command time limit, replies, and the way out
// (conclusion or HANGUP).
#include "session_parts.hpp"

#include <ctime>

namespace psm::postscreen {

void Session::start_smtp() {
    phase_ = Phase::smtp;
    in_early_phase_ = false;
    phase_start_ = Clock::now();
    smtp_ = std::make_unique<SmtpState>(server_, state_, client_->state, endpoint_.text());
    std::string greeting = smtp_->engine.start(std::time(nullptr));
    if (!greeting.empty() && !send(greeting)) return hangup();
    arm_command_timer();
    read_commands();
}

void Session::arm_command_timer() {
    server_.timers().arm(timer_, std::chrono::seconds(smtp_->engine.command_time_limit(server_.stressed())),
                         &Session::on_command_timer, this);
}

void Session::on_command_timer(void* self) {
    auto& s = *static_cast<Session*>(self);
    auto keep = s.shared_from_this();
    if (s.phase_ != Phase::smtp) return;
    s.apply(s.smtp_->engine.on_time_limit());
}

void Session::read_commands() {
    // The reader delivers nothing after stop() or its destruction, so the
    // handler may use `this`; it keeps the session alive while it runs.
    smtp_->reader.start(socket(), [this](const ReadEvent& event) -> bool {
        auto keep = shared_from_this();
        if (phase_ != Phase::smtp) return false;
        switch (event.kind) {
        case ReadEvent::Kind::line:
            return apply(
                smtp_->engine.on_line(event.line.text, event.line.end, event.line.pending, std::time(nullptr)));
        case ReadEvent::Kind::overflow:
            apply(smtp_->engine.on_line_too_long());
            return false;
        case ReadEvent::Kind::eof:
        case ReadEvent::Kind::error:
            hangup();
            return false;
        }
        return false;
    });
}

// Writes what the engine says and goes where it says. true: read on.
bool Session::apply(SmtpEngine::Step step) {
    if (!step.output.empty() && !send(step.output)) {
        hangup();
        return false;
    }
    switch (step.next) {
    case SmtpEngine::Step::Next::conclude:
        timer_.cancel();
        conclude();
        return false;
    case SmtpEngine::Step::Next::starttls:
        start_tls(); // resumes reading when tlsproxy has answered (starttls.cpp)
        return false;
    case SmtpEngine::Step::Next::read:
        break;
    }
    arm_command_timer();
    return true;
}

} // namespace psm::postscreen
