// Tests for the socket line reader over real socket pairs and loopback TCP.
#include "psm/util/asio_line_reader.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using psm::AsioLineReader;
using psm::LineEnd;
using psm::ReadEvent;
using Kind = ReadEvent::Kind;
using Local = asio::local::stream_protocol;

namespace {

struct Event {
    Kind kind;
    std::string text;
    LineEnd end;
    bool more;
    boost::system::error_code error;
};

// Records what a reader reports; returns `keep_going` for lines.
struct Recorder {
    std::vector<Event> events;
    bool keep_going = true;

    auto handler() {
        return [this](const ReadEvent& ev) {
            events.push_back(Event{ev.kind, std::string(ev.line.text), ev.line.end, ev.line.more_pending(), ev.error});
            return keep_going;
        };
    }
    std::vector<std::string> texts() const {
        std::vector<std::string> out;
        for (const Event& e : events)
            out.push_back(e.text);
        return out;
    }
    bool ended() const { return !events.empty() && events.back().kind != Kind::line; }
};

// Runs handlers until pred() holds; bounded to 5 s.
template <class Pred> bool run_until(asio::io_context& io, Pred pred) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!pred() && std::chrono::steady_clock::now() < give_up) {
        io.restart();
        io.run_one_for(10ms);
    }
    return pred();
}

void send(Local::socket& s, std::string_view bytes) {
    asio::write(s, asio::buffer(bytes.data(), bytes.size()));
}

struct Pair {
    asio::io_context io;
    Local::socket server{io}, client{io};
    Pair() { asio::local::connect_pair(server, client); }
};

} // namespace

TEST_CASE("pipelined lines in one write: all delivered, more_pending on all but the last", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    send(p.client, "EHLO x\r\nMAIL FROM:<>\nRCPT TO:<a@b>\r\n");
    reader.start(p.server, rec.handler());
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 3; }));
    CHECK(rec.texts() == std::vector<std::string>{"EHLO x", "MAIL FROM:<>", "RCPT TO:<a@b>"});
    CHECK(rec.events[0].more);
    CHECK(rec.events[1].more);
    CHECK(rec.events[1].end == LineEnd::bare_lf);
    CHECK_FALSE(rec.events[2].more);
    CHECK(reader.buffer().heap_bytes() == 0);
}

TEST_CASE("a CRLF split across two reads", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    reader.start(p.server, rec.handler());
    send(p.client, "HELO x\r");
    REQUIRE(run_until(p.io, [&] { return reader.buffer().partial() == "HELO x\r"; }));
    CHECK(rec.events.empty());
    send(p.client, "\nNOOP\r\n");
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 2; }));
    CHECK(rec.events[0].text == "HELO x");
    CHECK(rec.events[0].end == LineEnd::crlf);
    // NOOP came in the same read as the LF that completed HELO.
    CHECK(rec.events[0].more);
    CHECK_FALSE(rec.events[1].more);
}

TEST_CASE("lines from a later read are not pending", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    reader.start(p.server, rec.handler());
    send(p.client, "EHLO x\r\n");
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 1; }));
    send(p.client, "QUIT\r\n");
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 2; }));
    CHECK_FALSE(rec.events[0].more);
    CHECK_FALSE(rec.events[1].more);
}

TEST_CASE("NUL and 8-bit bytes reach the handler unchanged", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    send(p.client, std::string_view("\0EH\xe9LO\0\r\n", 9));
    reader.start(p.server, rec.handler());
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 1; }));
    CHECK(rec.events[0].text == std::string("\0EH\xe9LO\0", 7));
}

TEST_CASE("EOF in mid-line reports the incomplete rest", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    send(p.client, "NOOP\r\nQUI");
    p.client.shutdown(Local::socket::shutdown_send);
    reader.start(p.server, rec.handler());
    REQUIRE(run_until(p.io, [&] { return rec.ended(); }));
    REQUIRE(rec.events.size() == 2);
    CHECK(rec.events[0].text == "NOOP");
    CHECK(rec.events[1].kind == Kind::eof);
    CHECK(rec.events[1].text == "QUI");
}

TEST_CASE("EOF at a line boundary", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    reader.start(p.server, rec.handler());
    p.client.close();
    REQUIRE(run_until(p.io, [&] { return rec.ended(); }));
    REQUIRE(rec.events.size() == 1);
    CHECK(rec.events[0].kind == Kind::eof);
    CHECK(rec.events[0].text.empty());
}

TEST_CASE("a 100 KB line overflows with bounded memory", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    const std::string huge(100 * 1024, 'x');
    // Written asynchronously: the reader stops long before the peer is done.
    asio::async_write(p.client, asio::buffer(huge), [](boost::system::error_code, std::size_t) {});
    reader.start(p.server, rec.handler());
    std::size_t max_heap = 0;
    REQUIRE(run_until(p.io, [&] {
        max_heap = std::max(max_heap, reader.buffer().heap_bytes());
        return rec.ended();
    }));
    REQUIRE(rec.events.size() == 1);
    CHECK(rec.events[0].kind == Kind::overflow);
    CHECK(max_heap <= 2 * psm::LineBuffer::kDefaultLimit);
    CHECK(reader.buffer().heap_bytes() == 0);
    // Nothing more is read after the overflow.
    p.client.close();
    p.io.restart();
    p.io.run_for(50ms);
    CHECK(rec.events.size() == 1);
}

TEST_CASE("a line of limit-1 bytes is accepted over a socket, limit bytes overflow", "[asio_line_reader]") {
    for (std::size_t length : {std::size_t{2047}, std::size_t{2048}}) {
        Pair p;
        AsioLineReader reader;
        Recorder rec;
        send(p.client, std::string(length, 'a') + "\r\n");
        reader.start(p.server, rec.handler());
        REQUIRE(run_until(p.io, [&] { return !rec.events.empty(); }));
        if (length == 2047) {
            CHECK(rec.events[0].kind == Kind::line);
            CHECK(rec.events[0].text.size() == 2047);
        } else {
            CHECK(rec.events[0].kind == Kind::overflow);
        }
    }
}

TEST_CASE("pause and resume: kept lines come first, then new input", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    rec.keep_going = false;
    send(p.client, "STARTTLS\r\nEHLO x\r\nNO");
    reader.start(p.server, rec.handler());
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 1; }));
    p.io.restart();
    p.io.run_for(20ms);
    CHECK(rec.events.size() == 1); // paused: nothing more
    CHECK(reader.buffer().has_unread());

    rec.keep_going = true;
    reader.start(p.server, rec.handler());
    CHECK(rec.events.size() == 2); // the kept line is delivered at once
    CHECK(rec.events[1].text == "EHLO x");
    CHECK(rec.events[1].more); // "NO" followed it in the original read
    send(p.client, "OP\r\n");
    REQUIRE(run_until(p.io, [&] { return rec.events.size() == 3; }));
    CHECK(rec.events[2].text == "NOOP");
}

TEST_CASE("stop() and destruction silence the reader", "[asio_line_reader]") {
    SECTION("stop before input arrives") {
        Pair p;
        AsioLineReader reader;
        Recorder rec;
        reader.start(p.server, rec.handler());
        reader.stop();
        send(p.client, "NOOP\r\n");
        p.io.run_for(50ms);
        CHECK(rec.events.empty());
    }
    SECTION("destroyed from inside the handler") {
        Pair p;
        auto reader = std::make_unique<AsioLineReader>();
        int calls = 0;
        send(p.client, "A\r\nB\r\nC\r\n");
        reader->start(p.server, [&](const ReadEvent&) {
            ++calls;
            reader.reset();
            return true; // even so, nothing more is delivered
        });
        run_until(p.io, [&] { return calls > 0; });
        p.io.restart();
        p.io.run_for(50ms);
        CHECK(calls == 1);
    }
    SECTION("destroyed while its wait is pending") {
        Pair p;
        Recorder rec;
        {
            AsioLineReader reader;
            reader.start(p.server, rec.handler());
        }
        send(p.client, "NOOP\r\n");
        p.io.run_for(50ms);
        CHECK(rec.events.empty());
    }
}

TEST_CASE("loopback TCP: pipelining, then a reset is an error", "[asio_line_reader]") {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::ip::tcp::socket client(io), server(io);
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);

    AsioLineReader reader;
    Recorder rec;
    const std::string_view pipelined = "EHLO a\r\nMAIL FROM:<>\r\n";
    asio::write(client, asio::buffer(pipelined.data(), pipelined.size()));
    reader.start(server, rec.handler());
    REQUIRE(run_until(io, [&] { return rec.events.size() == 2; }));
    CHECK(rec.events[0].text == "EHLO a");
    CHECK(rec.events[0].more);
    CHECK_FALSE(rec.events[1].more);

    // An abortive close (SO_LINGER 0) makes the server's read fail with ECONNRESET.
    client.set_option(asio::socket_base::linger(true, 0));
    client.close();
    REQUIRE(run_until(io, [&] { return rec.ended(); }));
    CHECK(rec.events.back().kind == Kind::error);
    CHECK(rec.events.back().error == asio::error::connection_reset);
}

TEST_CASE("an idle reader is small and holds no buffer", "[asio_line_reader]") {
    Pair p;
    AsioLineReader reader;
    Recorder rec;
    reader.start(p.server, rec.handler());
    p.io.run_for(10ms);
    CHECK(reader.buffer().heap_bytes() == 0);
    CHECK(sizeof(AsioLineReader) <= 16);
    CHECK(sizeof(psm::LineBuffer) <= 64);
}
