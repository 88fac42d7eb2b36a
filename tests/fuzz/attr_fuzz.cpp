// Fuzz target: the attribute-protocol decoder (attr0, attr64, plain) fed a
// peer's stream in reads of varying size, list after list, and the STRICT
// and hash scans applied to every decoded list. The lists and the error
// must not depend on the read size: the same stream fed one byte at a time
// must decode the same, and Attr0Reader must read attr0 streams exactly as
// the decoder does. Input: byte 0 chooses the encoding (mod 3) and small
// limits (bit 2); byte 1 the read size (0 = all at once); the rest is the
// stream.
#include "fuzz_support.hpp"

#include "psm/global/attr.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// What a stream decodes to, read by read by: the lists, then the error
// message if one ended it.
struct Outcome {
    std::vector<psm::AttrList> lists;
    std::string error;
    bool operator==(const Outcome&) const = default;
};

Outcome decode_by_reads(std::string_view stream, psm::AttrEncoding encoding, psm::AttrLimits limits,
                        std::size_t read_size) {
    Outcome out;
    psm::AttrDecoder decoder(encoding, limits);
    while (out.lists.size() < 64) {
        std::size_t used = decoder.feed(stream.substr(0, read_size));
        stream.remove_prefix(used);
        if (decoder.status() == psm::AttrDecoder::Status::complete) {
            out.lists.push_back(decoder.take());
        } else if (decoder.status() == psm::AttrDecoder::Status::error) {
            out.error = decoder.message("S");
            break;
        } else if (stream.empty()) {
            decoder.finish(false);
            if (decoder.status() == psm::AttrDecoder::Status::error) out.error = decoder.message("S");
            break;
        }
    }
    return out;
}

// The same for Attr0Reader (attr0 only), which must read what the decoder reads.
Outcome read_in_place(std::string_view stream, psm::AttrLimits limits, std::size_t read_size) {
    Outcome out;
    psm::Attr0Reader reader(limits);
    while (out.lists.size() < 64) {
        if (reader.status() == psm::AttrDecoder::Status::complete) {
            psm::AttrList list;
            for (const psm::AttrView& v : reader.items())
                list.push_back(psm::Attr{v.kind, std::string(v.name), std::string(v.value)});
            out.lists.push_back(std::move(list));
            reader.next();
        } else if (reader.status() == psm::AttrDecoder::Status::error) {
            out.error = reader.message("S");
            break;
        } else if (stream.empty()) {
            reader.finish(false);
            if (reader.status() == psm::AttrDecoder::Status::error) out.error = reader.message("S");
            break;
        } else {
            reader.append(stream.substr(0, read_size));
            stream.remove_prefix(std::min(read_size, stream.size()));
        }
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    psm::fuzz::quiet_logging();
    psm::fuzz::Input in(data, size);
    const std::uint8_t options = in.byte();
    const std::size_t read_size = in.byte();
    const auto encoding = static_cast<psm::AttrEncoding>((options & 3) % 3);
    psm::AttrLimits limits;
    if (options & 4) {
        limits.max_string = 16;
        limits.max_attrs = 8;
    }
    psm::AttrDecoder decoder(encoding, limits);
    std::string_view stream = in.rest();
    if (stream.size() <= 8192) {
        const std::size_t reads = read_size == 0 ? stream.size() : read_size;
        const Outcome by_bytes = decode_by_reads(stream, encoding, limits, 1);
        if (decode_by_reads(stream, encoding, limits, reads) != by_bytes) std::abort();
        if (encoding == psm::AttrEncoding::attr0 && read_in_place(stream, limits, reads) != by_bytes) std::abort();
    }
    int lists = 0;
    while (lists < 64) {
        std::string_view chunk = stream.substr(0, read_size == 0 ? stream.size() : read_size);
        std::size_t used = decoder.feed(chunk);
        if (used > chunk.size()) std::abort();
        // Unless a list completed or failed, every byte is taken.
        if (decoder.status() == psm::AttrDecoder::Status::need_more && used != chunk.size()) std::abort();
        stream.remove_prefix(used);
        if (decoder.status() == psm::AttrDecoder::Status::complete) {
            psm::AttrList list = decoder.take();
            ++lists;
            std::string status, reason;
            int count = 0;
            long big = 0;
            psm::attr_scan(list, "private/fuzz", psm::kAttrFlagStrict,
                           {psm::attr::recv_int("status", count), psm::attr::recv_str("reason", reason),
                            psm::attr::recv_long("size", big), psm::attr::recv_data("data", status)},
                           encoding);
            psm::AttrHash hash;
            psm::attr_scan(list, "private/fuzz", 0, {psm::attr::recv_hash(hash)}, encoding);
            // A decoded list encodes and decodes back to itself.
            bool has_bare = std::any_of(list.begin(), list.end(),
                                        [](const psm::Attr& a) { return a.kind == psm::Attr::Kind::bare; });
            if (!has_bare) {
                std::string again = psm::attr_encode(list, encoding);
                psm::AttrDecoder check(encoding, psm::AttrLimits{1 << 20, 1 << 20});
                if (check.feed(again) != again.size() || check.status() != psm::AttrDecoder::Status::complete ||
                    check.take() != list)
                    std::abort();
            }
        } else if (decoder.status() == psm::AttrDecoder::Status::error) {
            (void)decoder.message("private/fuzz");
            break;
        } else if (stream.empty()) {
            decoder.finish(false);
            if (decoder.status() == psm::AttrDecoder::Status::error) (void)decoder.message("private/fuzz");
            break;
        }
    }
    return 0;
}
