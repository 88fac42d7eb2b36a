// Tests for the bounded CRLF/LF line splitter (postscreen 3.7 command-reading rules).
#include "psm/util/line_buffer.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using psm::Line;
using psm::LineBuffer;
using psm::LineEnd;
using Status = LineBuffer::Status;

namespace {

struct Got {
    std::string text;
    LineEnd end;
    std::string pending;
    bool operator==(const Got&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Got& g) {
    return os << '{' << g.text << (g.end == LineEnd::crlf ? "|crlf|" : "|lf|") << g.pending << '}';
}

// Feeds chunks in order and records every line; stops after `stop_after` lines if set.
struct Collector {
    std::vector<Got> lines;
    std::size_t stop_after = SIZE_MAX;

    Status feed(LineBuffer& buffer, std::string_view chunk) {
        return buffer.consume(chunk, [this](const Line& line) {
            lines.push_back(Got{std::string(line.text), line.end, std::string(line.pending)});
            return lines.size() < stop_after;
        });
    }
};

Got crlf(std::string text, std::string pending = "") {
    return Got{std::move(text), LineEnd::crlf, std::move(pending)};
}
Got lf(std::string text, std::string pending = "") {
    return Got{std::move(text), LineEnd::bare_lf, std::move(pending)};
}

} // namespace

TEST_CASE("lines end at CRLF or bare LF - the terminator kind is reported", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    CHECK(c.feed(buffer, "EHLO a\r\nNOOP\nQUIT\r\n") == Status::need_more);
    CHECK(c.lines == std::vector<Got>{crlf("EHLO a", "NOOP\nQUIT\r\n"), lf("NOOP", "QUIT\r\n"), crlf("QUIT")});
    CHECK(buffer.empty());
}

TEST_CASE("a CR not followed by LF stays in the line", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    c.feed(buffer, "a\rb\r\r\n\r\rx\n\r\n");
    CHECK(c.lines == std::vector<Got>{crlf("a\rb\r", "\r\rx\n\r\n"), lf("\r\rx", "\r\n"), crlf("")});
}

TEST_CASE("empty lines", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    c.feed(buffer, "\r\n\n");
    CHECK(c.lines == std::vector<Got>{crlf("", "\n"), lf("")});
}

TEST_CASE("a CR at the end of a chunk waits for the next chunk", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    CHECK(c.feed(buffer, "HELO x\r") == Status::need_more);
    CHECK(c.lines.empty());
    CHECK(buffer.partial() == "HELO x\r");
    CHECK(c.feed(buffer, "\nRSET") == Status::need_more);
    CHECK(c.lines == std::vector<Got>{crlf("HELO x", "RSET")});
    CHECK(buffer.partial() == "RSET");
    c.lines.clear();
    // The CR turns out not to end the line.
    c.feed(buffer, "\r");
    c.feed(buffer, "x\n");
    CHECK(c.lines == std::vector<Got>{lf("RSET\rx")});
}

TEST_CASE("a line split into single bytes", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    for (char ch : std::string("MAIL FROM:<a@b>\r\n"))
        c.feed(buffer, std::string_view(&ch, 1));
    CHECK(c.lines == std::vector<Got>{crlf("MAIL FROM:<a@b>")});
    CHECK(buffer.heap_bytes() == 0);
}

TEST_CASE("pending shows only input of the same chunk", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    c.feed(buffer, "EHLO x\r\n");
    c.feed(buffer, "MAIL FROM:<>\r\nRCPT TO:<a@b>\r\n");
    REQUIRE(c.lines.size() == 3);
    CHECK(c.lines[0].pending.empty());
    CHECK(c.lines[1].pending == "RCPT TO:<a@b>\r\n");
    CHECK(c.lines[2].pending.empty());
}

TEST_CASE("NUL and 8-bit bytes pass through", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    const std::string raw("a\0b\xff\x80\r\n", 7);
    c.feed(buffer, raw);
    REQUIRE(c.lines.size() == 1);
    CHECK(c.lines[0].text == std::string("a\0b\xff\x80", 5));
}

TEST_CASE("length limit: at most limit-1 bytes before the terminator", "[line_buffer]") {
    const std::size_t limit = 512;
    const std::string below(limit - 1, 'a'), at(limit, 'a'), above(limit + 1, 'a');

    SECTION("limit-1 with CRLF and with LF is accepted") {
        for (const char* term : {"\r\n", "\n"}) {
            LineBuffer buffer(limit);
            Collector c;
            CHECK(c.feed(buffer, below + term) == Status::need_more);
            REQUIRE(c.lines.size() == 1);
            CHECK(c.lines[0].text == below);
        }
    }
    SECTION("limit bytes then CRLF or LF overflow") {
        for (const char* term : {"\r\n", "\n"}) {
            LineBuffer buffer(limit);
            Collector c;
            CHECK(c.feed(buffer, at + term) == Status::overflow);
            CHECK(c.lines.empty());
            CHECK(buffer.overflowed());
            CHECK(buffer.heap_bytes() == 0);
        }
    }
    SECTION("limit+1 bytes overflow") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, above) == Status::overflow);
    }
    SECTION("exactly limit bytes is not yet an overflow; the next byte is") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, at) == Status::need_more);
        CHECK(buffer.partial().size() == limit);
        CHECK(c.feed(buffer, "\r") == Status::overflow);
    }
    SECTION("the boundary holds across chunk borders") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, below.substr(0, 100)) == Status::need_more);
        CHECK(c.feed(buffer, below.substr(100) + "\r") == Status::need_more);
        CHECK(c.feed(buffer, "\n") == Status::need_more);
        REQUIRE(c.lines.size() == 1);
        CHECK(c.lines[0].text == below);
    }
    SECTION("overflow is sticky") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, above) == Status::overflow);
        CHECK(c.feed(buffer, "QUIT\r\n") == Status::overflow);
        CHECK(c.lines.empty());
        buffer.clear();
        CHECK(c.feed(buffer, "QUIT\r\n") == Status::need_more);
        CHECK(c.lines.size() == 1);
    }
}

TEST_CASE("length limit: 3.7 skips the test right after a CR", "[line_buffer]") {
    const std::size_t limit = 512;
    const std::string below(limit - 1, 'a');

    SECTION("limit-1 bytes, CR, CR, LF: the line keeps one CR") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, below + "\r\r\n") == Status::need_more);
        REQUIRE(c.lines.size() == 1);
        CHECK(c.lines[0].text == below + "\r");
        CHECK(c.lines[0].end == LineEnd::crlf);
    }
    SECTION("one byte after a CR is accepted, the next one overflows") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, below + "\rx") == Status::need_more);
        CHECK(c.feed(buffer, "\n") == Status::overflow);
    }
    SECTION("an endless run of CRs is cut at twice the limit") {
        LineBuffer buffer(limit);
        Collector c;
        CHECK(c.feed(buffer, below + std::string(limit, '\r')) == Status::need_more);
        CHECK(buffer.partial().size() == 2 * limit - 1);
        CHECK(c.feed(buffer, "\r") == Status::need_more);
        CHECK(c.feed(buffer, "\r") == Status::overflow);
        CHECK(c.lines.empty());
    }
}

TEST_CASE("lines before an overflowing line are delivered first", "[line_buffer]") {
    LineBuffer buffer(512);
    Collector c;
    CHECK(c.feed(buffer, "NOOP\r\n" + std::string(600, 'x') + "\r\n") == Status::overflow);
    CHECK(c.lines == std::vector<Got>{crlf("NOOP", std::string(600, 'x') + "\r\n")});
}

TEST_CASE("memory: nothing on the heap when idle or between complete lines", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    CHECK(buffer.heap_bytes() == 0);
    c.feed(buffer, "EHLO x\r\nNOOP\r\n");
    CHECK(buffer.heap_bytes() == 0);
    c.feed(buffer, "MAIL FROM:<a");
    CHECK(buffer.heap_bytes() > 0);
    CHECK(buffer.heap_bytes() <= 64);
    c.feed(buffer, "@b>\r\n");
    CHECK(buffer.heap_bytes() == 0);
    CHECK(c.lines.back().text == "MAIL FROM:<a@b>");
}

TEST_CASE("memory stays bounded by the limit for a huge line", "[line_buffer]") {
    LineBuffer buffer(2048);
    Collector c;
    const std::string chunk(100, 'z');
    Status status = Status::need_more;
    std::size_t fed = 0;
    while (status == Status::need_more && fed < 100 * 1000) {
        status = c.feed(buffer, chunk);
        fed += chunk.size();
        CHECK(buffer.heap_bytes() <= 2 * 2048);
    }
    CHECK(status == Status::overflow);
    CHECK(fed == 2100); // the 2049th byte overflows; it arrived in the 21st chunk
    CHECK(buffer.heap_bytes() == 0);
}

TEST_CASE("a stop keeps the rest - resume delivers it", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    c.stop_after = 1;
    CHECK(c.feed(buffer, "STARTTLS\r\nEHLO x\r\nMAIL") == Status::stopped);
    CHECK(c.lines == std::vector<Got>{crlf("STARTTLS", "EHLO x\r\nMAIL")});
    CHECK(buffer.has_unread());
    CHECK(buffer.partial().empty());
    CHECK_FALSE(buffer.empty());

    c.stop_after = SIZE_MAX;
    CHECK(buffer.resume([&](const Line& line) {
        c.lines.push_back(Got{std::string(line.text), line.end, std::string(line.pending)});
        return true;
    }) == Status::need_more);
    CHECK(c.lines.back() == crlf("EHLO x", "MAIL"));
    CHECK_FALSE(buffer.has_unread());
    CHECK(buffer.partial() == "MAIL");
    c.feed(buffer, " FROM:<>\r\n");
    CHECK(c.lines.back() == crlf("MAIL FROM:<>"));
}

TEST_CASE("new input after a stop follows the unread input", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    c.stop_after = 1;
    c.feed(buffer, "A\r\nB\r\nC");
    c.stop_after = SIZE_MAX;
    CHECK(c.feed(buffer, "D\r\n") == Status::need_more);
    CHECK(c.lines == std::vector<Got>{crlf("A", "B\r\nC"), crlf("B", "CD\r\n"), crlf("CD")});
}

TEST_CASE("a stop at the last line keeps nothing", "[line_buffer]") {
    LineBuffer buffer;
    Collector c;
    c.stop_after = 1;
    CHECK(c.feed(buffer, "QUIT\r\n") == Status::stopped);
    CHECK(buffer.empty());
    CHECK(buffer.heap_bytes() == 0);
}

TEST_CASE("consume() from inside the handler is refused", "[line_buffer]") {
    LineBuffer buffer;
    bool threw = false;
    buffer.consume("x\n", [&](const Line&) {
        try {
            buffer.consume("y\n", [](const Line&) { return true; });
        } catch (const std::logic_error&) {
            threw = true;
        }
        return true;
    });
    CHECK(threw);
    // The buffer is still usable afterwards.
    Collector c;
    CHECK(c.feed(buffer, "z\n") == Status::need_more);
    CHECK(c.lines.size() == 1);
}
