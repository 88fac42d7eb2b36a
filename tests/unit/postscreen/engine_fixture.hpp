// Helpers for the SMTP engine's unit tests: a configuration with a fixed
// myhostname and banner, the engine's settings and formatter built from it,
// one session's state, and the log lines (without the program prefix).
#pragma once

#include "reply_formatter.hpp"
#include "session_state.hpp"
#include "smtp_engine.hpp"

#include "support/log_capture.hpp"

#include "psm/global/main_cf.hpp"

#include <catch2/catch.hpp>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace psm::test {

inline constexpr std::time_t kNow = 1'800'000'000;

struct EngineFixture {
    using Step = postscreen::SmtpEngine::Step;

    LogCapture log;
    Config config;
    postscreen::EngineSettings settings;
    postscreen::ReplyFormatter formatter;
    postscreen::SessionState state;
    postscreen::ClientState client;
    postscreen::ClientEndpoint endpoint{"192.0.2.7", "41511", "192.0.2.1", "25"};
    std::unique_ptr<postscreen::SmtpEngine> engine;

    using Params = std::vector<std::pair<std::string, std::string>>;

    EngineFixture() : EngineFixture(Params{}) {}
    EngineFixture(std::initializer_list<std::pair<const char*, const char*>> params)
        : EngineFixture(Params(params.begin(), params.end())) {}
    explicit EngineFixture(const Params& params) {
        config.set_override("myhostname", "mx.test.example");
        config.set_override("smtpd_banner", "mx.test.example ESMTP Postfix");
        config.set_override("compatibility_level", "3.6");
        for (const auto& [name, value] : params)
            config.set_override(name, value);
        build();
    }
    EngineFixture(const EngineFixture&) = delete;
    EngineFixture& operator=(const EngineFixture&) = delete;

    void build() {
        settings = postscreen::EngineSettings::from_config(config);
        formatter = postscreen::ReplyFormatter::from_config(config);
        formatter.set_clock([] { return kNow; });
        engine = std::make_unique<postscreen::SmtpEngine>(settings, formatter, state, client, endpoint);
    }

    // Deep tests to do in this session (the core decides this from the cache).
    void todo(std::initializer_list<postscreen::Test> tests) {
        for (auto t : tests)
            state[t].todo = true;
    }

    Step line(std::string_view text, std::string_view pending = {}, LineEnd end = LineEnd::crlf,
              std::time_t now = kNow) {
        return engine->on_line(text, end, pending, now);
    }
    // The reply to one command, CRLF-terminated.
    std::string reply(std::string_view text) {
        Step step = line(text);
        REQUIRE(step.next == Step::Next::read);
        return step.output;
    }
    // A command that ends the session: returns the final reply (unformatted).
    std::string dropped(std::string_view text, std::string_view pending = {}, LineEnd end = LineEnd::crlf) {
        Step step = line(text, pending, end);
        REQUIRE(step.next == Step::Next::conclude);
        CHECK(step.output.empty());
        CHECK(state.noforward);
        return std::string(state.final_reply.view());
    }
    std::vector<std::string> lines() const { return log.lines(); }
};

} // namespace psm::test
