// ReplyText: the session's decided replies, a literal kept as a view or a
// composed text owned by the session; both read back unchanged after moves.
#include "session_state.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

using psm::postscreen::ReplyText;
using psm::postscreen::SessionState;

TEST_CASE("reply text: defaults, literals and composed texts read back, also after a move") {
    SessionState state;
    CHECK(state.rcpt_reply == "450 4.3.2 Service currently unavailable");
    CHECK(state.final_reply == "421 4.3.2 Service currently unavailable");

    static const char literal[] = "550 5.5.1 Protocol error";
    state.rcpt_reply = literal;
    CHECK(state.rcpt_reply.view().data() == literal); // a literal is not copied

    std::string composed = "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using ";
    composed += "bl.example";
    state.final_reply = composed;
    composed.assign(composed.size(), 'x'); // the session's copy is its own
    CHECK(state.final_reply == "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using bl.example");

    SessionState moved = std::move(state);
    CHECK(moved.final_reply == "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using bl.example");
    CHECK(moved.rcpt_reply == "550 5.5.1 Protocol error");

    ReplyText reply = std::string("221 2.0.0 Bye");
    reply = ReplyText(std::string(reply.view()) + " now"); // built from itself
    CHECK(reply == "221 2.0.0 Bye now");
}
