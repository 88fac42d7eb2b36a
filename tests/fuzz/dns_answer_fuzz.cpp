// Fuzz target: dnsblog's DNS reply parser. The input is a received message
// (datagram or TCP payload); it is checked against an outstanding query
// for 2.0.0.127.bl.example (A, or TXT when the message's first byte is odd:
// the id is not a filter here, it comes from the message so that the
// parser gets past the id check), as dnsblog's client does.
#include "fuzz_support.hpp"

#include "dns_message.hpp"

#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace psm::dnsblog;
    psm::fuzz::quiet_logging();
    std::span<const std::uint8_t> message(data, size);
    const std::uint16_t id = message_id(message);
    const std::uint16_t type = (size > 0 && (data[0] & 1)) ? kTypeTxt : kTypeA;
    DnsAnswer answer;
    AnswerCheck check = parse_answer(message, id, "2.0.0.127.bl.example", type, answer);
    if (check == AnswerCheck::ok) {
        if (type == kTypeA && !answer.txt.empty()) std::abort();
        if (type == kTypeTxt && !answer.a.empty()) std::abort();
        if ((!answer.a.empty() || !answer.txt.empty()) && answer.ttl < 0) std::abort();
    }
    return 0;
}
