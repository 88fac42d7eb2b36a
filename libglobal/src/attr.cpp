// Attribute lists: builders, the encoder for attr0/attr64/plain, the
// incremental decoder, and the requested-names scan with stock's warnings.
#include "psm/global/attr.hpp"

#include "base64.hpp"
#include "psm/util/log.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>

namespace psm {

// ---------------------------------------------------------------- builders

namespace attr {

Attr send_str(std::string_view name, std::string_view value) {
    Attr a;
    a.name = name;
    a.value = value;
    return a;
}

Attr send_int(std::string_view name, int value) {
    return send_str(name, std::to_string(static_cast<std::uint32_t>(value)));
}

Attr send_long(std::string_view name, long value) {
    return send_str(name, std::to_string(static_cast<unsigned long>(value)));
}

Attr send_data(std::string_view name, std::string_view raw) {
    Attr a = send_str(name, raw);
    a.kind = Attr::Kind::data;
    return a;
}

Attr group_open() {
    Attr a;
    a.kind = Attr::Kind::group_open;
    a.name = "{";
    return a;
}

Attr group_close() {
    Attr a;
    a.kind = Attr::Kind::group_close;
    a.name = "}";
    return a;
}

} // namespace attr

// ---------------------------------------------------------------- encoder

namespace {

void encode_attr0(std::string& out, const Attr& a, bool plain) {
    const char sep = plain ? '=' : '\0';
    const char end = plain ? '\n' : '\0';
    switch (a.kind) {
    case Attr::Kind::group_open:
    case Attr::Kind::group_close:
        // A group marker is a name without a value.
        out += a.kind == Attr::Kind::group_open ? '{' : '}';
        out += end;
        return;
    case Attr::Kind::bare:
        out += a.name;
        out += end;
        return;
    case Attr::Kind::text:
        out += a.name;
        out += sep;
        out += a.value;
        out += end;
        return;
    case Attr::Kind::data:
        out += a.name;
        out += sep;
        base64::encode(out, a.value);
        out += end;
        return;
    }
}

void encode_attr64(std::string& out, const Attr& a) {
    switch (a.kind) {
    case Attr::Kind::group_open:
        out += "ew==\n";
        return;
    case Attr::Kind::group_close:
        out += "fQ==\n";
        return;
    case Attr::Kind::bare:
        base64::encode(out, a.name);
        out += '\n';
        return;
    case Attr::Kind::text:
    case Attr::Kind::data:
        // Every value is base64 once; data gets no second layer.
        base64::encode(out, a.name);
        out += ':';
        base64::encode(out, a.value);
        out += '\n';
        return;
    }
}

} // namespace

void attr_encode(std::string& out, const AttrList& list, AttrEncoding encoding) {
    for (const auto& a : list) {
        if (encoding == AttrEncoding::attr64)
            encode_attr64(out, a);
        else
            encode_attr0(out, a, encoding == AttrEncoding::plain);
    }
    out += encoding == AttrEncoding::attr0 ? '\0' : '\n';
}

void Attr0Writer::str(std::string_view name, std::string_view value) {
    out_.append(name).append(1, '\0').append(value).append(1, '\0');
}

void Attr0Writer::num(std::string_view name, int value) {
    char digits[16];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, static_cast<std::uint32_t>(value));
    (void)ec; // ten digits at most
    str(name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void Attr0Writer::group_open() {
    out_.append("{", 2); // the marker and its terminator
}

void Attr0Writer::group_close() {
    out_.append("}", 2);
}

void Attr0Writer::end() {
    out_ += '\0';
}

std::string attr_encode(const AttrList& list, AttrEncoding encoding) {
    std::string out;
    attr_encode(out, list, encoding);
    return out;
}

// ---------------------------------------------------------------- decoder

// Stock's wording of a decoding error, as the texts before and after the
// service name; AttrDecoder and Attr0Reader report the same errors.
struct detail::AttrErrorText {
    AttrDecoder::Error error;
    std::string before, after;
};

namespace {

constexpr std::string_view kContextName = "input attribute name";
constexpr std::string_view kContextValue = "input attribute value";

using ErrorText = detail::AttrErrorText;

std::string reading(bool in_value) {
    return " while reading " + std::string(in_value ? kContextValue : kContextName);
}

ErrorText end_of_input_error(bool timed_out, bool mid_string, bool in_value) {
    using E = AttrDecoder::Error;
    if (timed_out) return {E::timeout, "timeout on ", reading(in_value)};
    if (mid_string) return {E::truncated, "unexpected end-of-input from ", reading(in_value)};
    return {E::premature_eof, "premature end-of-input on ", reading(in_value)};
}

ErrorText too_long_error(std::size_t max_string, bool in_value) {
    return {AttrDecoder::Error::too_long, "string length > " + std::to_string(max_string) + " characters from ",
            reading(in_value)};
}

ErrorText too_many_error(std::size_t max_attrs) {
    return {AttrDecoder::Error::too_many,
            "attribute count exceeds limit " + std::to_string(max_attrs) + " in input from ",
            {}};
}

ErrorText group_error(bool missing_close) {
    return {AttrDecoder::Error::malformed,
            missing_close ? "missing '}' in input from " : "unexpected '}' in input from ",
            {}};
}

std::string error_message(const std::string& before, std::string_view service, const std::string& after) {
    std::string text = before;
    text += service;
    text += after;
    return text;
}

} // namespace

AttrDecoder::AttrDecoder(AttrEncoding encoding, AttrLimits limits) : encoding_(encoding), limits_(limits) {}

void AttrDecoder::reset() {
    status_ = Status::need_more;
    error_ = Error::none;
    started_ = false;
    in_value_ = false;
    depth_ = 0;
    current_.clear();
    name_.clear();
    detail_.clear();
    detail_after_.clear();
    list_.clear();
}

AttrList AttrDecoder::take() {
    AttrList out = std::move(list_);
    reserve_ = std::clamp<std::size_t>(out.size(), kMinReserve, kMaxReserve);
    reset();
    return out;
}

bool AttrDecoder::fail(detail::AttrErrorText text) {
    return fail(text.error, std::move(text.before), std::move(text.after));
}

bool AttrDecoder::fail(Error error, std::string before, std::string after) {
    status_ = Status::error;
    error_ = error;
    detail_ = std::move(before);
    detail_after_ = std::move(after);
    return false;
}

Attr* AttrDecoder::append() {
    if (list_.size() >= limits_.max_attrs) {
        fail(too_many_error(limits_.max_attrs));
        return nullptr;
    }
    // One allocation per list: a peer tends to send lists of one size.
    if (list_.empty()) list_.reserve(reserve_);
    return &list_.emplace_back();
}

bool AttrDecoder::add(Attr::Kind kind, std::string_view name) {
    Attr* a = append();
    if (!a) return false;
    a->kind = kind;
    a->name = name;
    return true;
}

std::string AttrDecoder::message(std::string_view service) const {
    return error_message(detail_, service, detail_after_);
}

void AttrDecoder::finish(bool timed_out) {
    if (status_ != Status::need_more) return;
    fail(end_of_input_error(timed_out, !current_.empty() && encoding_ == AttrEncoding::attr0, in_value_));
}

// Decodes one base64 string of the attr64 encoding into *out.
namespace {
bool unpack64(const std::string& text, std::string* out) {
    auto raw = base64::decode(text);
    if (!raw) return false;
    *out = std::move(*raw);
    return true;
}
} // namespace

// Called at a string terminator: NUL (attr0), ':' / '=' / '\n' (others).
// `sep` tells whether the terminator separates a name from its value.
bool AttrDecoder::end_string(bool sep) {
    std::string text = std::move(current_);
    current_.clear();
    if (encoding_ == AttrEncoding::attr64 && !unpack64(text, &text))
        return fail(Error::malformed, "malformed base64 data from ", ": " + text.substr(0, 100));

    if (in_value_) {
        if (sep) // attr64 "name:value:value"
            return fail(Error::malformed, "multiple values for attribute " + name_ + " from ");
        in_value_ = false;
        Attr* a = append();
        if (!a) return false;
        a->name.swap(name_); // name_ gets the new item's empty string
        a->value.swap(text);
        return true;
    }
    if (sep) {
        name_ = std::move(text);
        in_value_ = true;
        return true;
    }
    // A name without a value: the end of the list, a group marker, or (not in
    // attr0, where a name is always followed by a value) a bare name.
    if (text.empty()) {
        if (depth_ != 0) return fail(group_error(true));
        status_ = Status::complete;
        return false;
    }
    // Stock's plain encoder writes group markers as "{\0\n" and "}\0\n".
    if (encoding_ == AttrEncoding::plain && text.size() == 2 && text[1] == '\0') text.resize(1);
    if (text == "{") {
        ++depth_;
        return add(Attr::Kind::group_open, "{");
    }
    if (text == "}") {
        if (depth_ == 0) return fail(group_error(false));
        --depth_;
        return add(Attr::Kind::group_close, "}");
    }
    Attr* a = append();
    if (!a) return false;
    a->kind = Attr::Kind::bare;
    a->name.swap(text);
    return true;
}

// Where the string being read can end: the first byte at or after `from`
// that terminates a name or value in this encoding, or input.size().
std::size_t AttrDecoder::next_terminator(std::string_view input, std::size_t from) const {
    switch (encoding_) {
    case AttrEncoding::attr0: {
        const void* nul = std::memchr(input.data() + from, '\0', input.size() - from);
        return nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - input.data()) : input.size();
    }
    case AttrEncoding::attr64:
        return std::min(input.find_first_of(":\n", from), input.size());
    case AttrEncoding::plain:
        return std::min(in_value_ ? input.find('\n', from) : input.find_first_of("=\n", from), input.size());
    }
    return input.size();
}

std::size_t AttrDecoder::feed(std::string_view input) {
    std::size_t i = 0;
    while (status_ == Status::need_more && i < input.size()) {
        started_ = true;
        // Ordinary bytes up to the next terminator join the current string
        // in one piece, as far as the length limit allows.
        const std::size_t stop = next_terminator(input, i);
        if (stop > i) {
            const std::size_t room = limits_.max_string - current_.size();
            if (stop - i > room) {
                current_.append(input.data() + i, room);
                i += room + 1; // the byte that does not fit is consumed
                fail(too_long_error(limits_.max_string, in_value_));
                break;
            }
            current_.append(input.data() + i, stop - i);
            i = stop;
            continue;
        }
        const char c = input[i++];
        bool sep = false;
        switch (encoding_) {
        case AttrEncoding::attr0:
            // In attr0 every name is followed by a value, except the end
            // marker and the group markers.
            sep = !in_value_ && !current_.empty() && current_ != "{" && current_ != "}";
            break;
        case AttrEncoding::attr64:
            sep = c == ':';
            break;
        case AttrEncoding::plain:
            sep = c == '=';
            break;
        }
        end_string(sep);
    }
    return i;
}

// ---------------------------------------------------------------- Attr0Reader

Attr0Reader::Attr0Reader(AttrLimits limits) : limits_(limits) {}

void Attr0Reader::append(std::string_view bytes) {
    buffer_.append(bytes);
    if (status_ == Status::complete)
        make_views(); // the buffer may have moved
    else
        scan();
}

void Attr0Reader::make_views() {
    views_.clear();
    views_.reserve(items_.size());
    for (const Item& item : items_)
        views_.push_back({item.kind, std::string_view(buffer_.data() + item.name, item.name_size),
                          std::string_view(buffer_.data() + item.value, item.value_size)});
}

void Attr0Reader::next() {
    if (status_ != Status::complete) return;
    buffer_.erase(0, pos_);
    pos_ = string_ = name_ = 0;
    in_value_ = false;
    depth_ = 0;
    status_ = Status::need_more;
    items_.clear();
    views_.clear();
    scan();
}

void Attr0Reader::fail(detail::AttrErrorText text) {
    status_ = Status::error;
    error_ = text.error;
    detail_ = std::move(text.before);
    detail_after_ = std::move(text.after);
}

std::string Attr0Reader::message(std::string_view service) const {
    return error_message(detail_, service, detail_after_);
}

void Attr0Reader::finish(bool timed_out) {
    if (status_ != Status::need_more) return;
    fail(end_of_input_error(timed_out, buffer_.size() > string_, in_value_));
}

bool Attr0Reader::add(const Item& item) {
    if (items_.size() >= limits_.max_attrs) {
        fail(too_many_error(limits_.max_attrs));
        return false;
    }
    items_.push_back(item);
    return true;
}

// As AttrDecoder::feed() for attr0: every string ends at a NUL; a name is
// followed by its value, except the end marker (an empty name) and the
// group markers "{" and "}".
void Attr0Reader::scan() {
    while (status_ == Status::need_more && pos_ < buffer_.size()) {
        const void* nul = std::memchr(buffer_.data() + pos_, '\0', buffer_.size() - pos_);
        const std::size_t end =
            nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - buffer_.data()) : buffer_.size();
        if (end - string_ > limits_.max_string) {
            return fail(too_long_error(limits_.max_string, in_value_));
        }
        pos_ = end;
        if (!nul) return;
        const std::string_view text(buffer_.data() + string_, end - string_);
        const std::size_t begin = string_;
        pos_ = string_ = end + 1;
        if (in_value_) {
            in_value_ = false;
            if (!add({Attr::Kind::text, name_, begin - 1 - name_, begin, text.size()})) return;
        } else if (text.empty()) {
            if (depth_ != 0) return fail(group_error(true));
            status_ = Status::complete;
            make_views();
        } else if (text == "{") {
            ++depth_;
            if (!add({Attr::Kind::group_open, begin, 1, begin, 0})) return;
        } else if (text == "}") {
            if (depth_ == 0) return fail(group_error(false));
            --depth_;
            if (!add({Attr::Kind::group_close, begin, 1, begin, 0})) return;
        } else {
            name_ = begin;
            in_value_ = true;
        }
    }
}

// ---------------------------------------------------------------- receiver

namespace attr {

AttrWant recv_str(std::string_view name, std::string& out) {
    AttrWant w;
    w.type = AttrWant::Type::str;
    w.name = name;
    w.out = &out;
    return w;
}

AttrWant recv_int(std::string_view name, int& out) {
    AttrWant w;
    w.type = AttrWant::Type::num;
    w.name = name;
    w.out = &out;
    return w;
}

AttrWant recv_long(std::string_view name, long& out) {
    AttrWant w;
    w.type = AttrWant::Type::lng;
    w.name = name;
    w.out = &out;
    return w;
}

AttrWant recv_data(std::string_view name, std::string& out) {
    AttrWant w = recv_str(name, out);
    w.type = AttrWant::Type::data;
    return w;
}

AttrWant recv_streq(std::string_view name, std::string_view expected) {
    AttrWant w;
    w.type = AttrWant::Type::streq;
    w.name = name;
    w.out = static_cast<std::string*>(nullptr);
    w.expected = expected;
    return w;
}

AttrWant recv_hash(AttrHash& out) {
    AttrWant w;
    w.type = AttrWant::Type::hash;
    w.name = "(any attribute name or list terminator)";
    w.out = &out;
    return w;
}

} // namespace attr

namespace {

constexpr std::size_t kHashLimit = 1024;

// Unsigned decimal as sscanf("%u%c")/("%lu%c") takes it: optional leading
// white space and sign (a '-' wraps around, as strtoul does), digits, nothing
// after. Values beyond the type's range are rejected.
template <class Unsigned> bool parse_unsigned(std::string_view text, Unsigned& out) {
    std::size_t i = 0;
    while (i < text.size() && (text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r')))
        ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    Unsigned value = 0;
    const char* first = text.data() + i;
    const char* last = text.data() + text.size();
    if (first == last || *first < '0' || *first > '9') return false;
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || ptr != last) return false;
    out = negative ? static_cast<Unsigned>(0 - value) : value;
    return true;
}

class Scanner {
public:
    Scanner(const AttrList& list, std::string_view service, unsigned flags, AttrEncoding encoding)
        : list_(list), service_(service), flags_(flags), encoding_(encoding) {}

    AttrScanResult run(std::span<const AttrWant> wants) {
        for (const auto& want : wants) {
            bool ok = want.type == AttrWant::Type::hash ? scan_hash(*std::get<AttrHash*>(want.out)) : scan_one(want);
            if (!ok) return std::move(result_);
        }
        if (pos_ < list_.size() && (flags_ & kAttrFlagExtra)) unexpected(list_[pos_].name, "(list terminator)");
        return std::move(result_);
    }

private:
    void warn(std::string text) {
        msg_warn("%s", text.c_str());
        result_.warning = std::move(text);
    }

    void unexpected(const std::string& name, std::string_view expecting) {
        warn("unexpected attribute " + name + " from " + std::string(service_) +
             " (expecting: " + std::string(expecting) + ")");
    }

    bool malformed(std::string text) {
        warn(std::move(text));
        result_.conversions = -1;
        return false;
    }

    // Skips the item at pos_ (a whole group if it opens one).
    void skip() {
        int depth = 0;
        do {
            if (list_[pos_].kind == Attr::Kind::group_open) ++depth;
            if (list_[pos_].kind == Attr::Kind::group_close) --depth;
            ++pos_;
        } while (depth > 0 && pos_ < list_.size());
    }

    bool scan_one(const AttrWant& want) {
        for (;;) {
            if (pos_ >= list_.size()) {
                if (flags_ & kAttrFlagMissing)
                    warn("missing attribute " + std::string(want.name) + " in input from " + std::string(service_));
                return false;
            }
            const Attr& a = list_[pos_];
            bool named = a.kind == Attr::Kind::text || a.kind == Attr::Kind::bare || a.kind == Attr::Kind::data;
            if (named && a.name == want.name) break;
            if (flags_ & kAttrFlagExtra) {
                unexpected(a.name, want.name);
                return false;
            }
            skip();
        }
        const Attr& a = list_[pos_++];
        const std::string svc(service_);
        if (a.kind == Attr::Kind::bare) {
            const char* what = want.type == AttrWant::Type::num || want.type == AttrWant::Type::lng ? "number"
                               : want.type == AttrWant::Type::data                                  ? "data"
                                                                                                    : "string";
            return malformed(std::string("missing value for ") + what + " attribute " + a.name + " from " + svc);
        }
        switch (want.type) {
        case AttrWant::Type::str:
            *std::get<std::string*>(want.out) = a.value;
            break;
        case AttrWant::Type::num: {
            std::uint32_t v = 0;
            if (!parse_unsigned(a.value, v))
                return malformed("malformed numerical data from " + svc +
                                 " while reading input attribute value: " + a.value.substr(0, 100));
            *std::get<int*>(want.out) = static_cast<int>(v);
            break;
        }
        case AttrWant::Type::lng: {
            unsigned long v = 0;
            if (!parse_unsigned(a.value, v))
                return malformed("malformed numerical data from " + svc +
                                 " while reading input attribute value: " + a.value.substr(0, 100));
            *std::get<long*>(want.out) = static_cast<long>(v);
            break;
        }
        case AttrWant::Type::data: {
            if (encoding_ == AttrEncoding::attr64) {
                *std::get<std::string*>(want.out) = a.value;
                break;
            }
            auto raw = base64::decode(a.value);
            if (!raw)
                return malformed("malformed base64 data from " + svc +
                                 " while reading input attribute value: " + a.value.substr(0, 100));
            *std::get<std::string*>(want.out) = std::move(*raw);
            break;
        }
        case AttrWant::Type::streq:
            if (a.value != want.expected)
                return malformed("unexpected " + a.name + " " + a.value + " from " + svc +
                                 " (expected: " + std::string(want.expected) + ")");
            break;
        case AttrWant::Type::hash:
            break; // handled by scan_hash
        }
        ++result_.conversions;
        return true;
    }

    // Pairs up to the end of the list, or one "{ ... }" group, into the
    // table; after a group the scan continues with the next wanted item.
    bool scan_hash(AttrHash& table) {
        bool in_group = false;
        while (pos_ < list_.size()) {
            const Attr& a = list_[pos_];
            if (a.kind == Attr::Kind::group_open && !in_group) {
                in_group = true;
                ++pos_;
                continue;
            }
            if (a.kind == Attr::Kind::group_close && in_group) {
                ++pos_;
                return true;
            }
            if (a.kind == Attr::Kind::group_open || a.kind == Attr::Kind::group_close) {
                // A nested group is not something a hash can hold.
                unexpected(a.name,
                           in_group ? "(any attribute name or '}')" : "(any attribute name or list terminator)");
                return false;
            }
            if (a.kind == Attr::Kind::bare)
                return malformed("missing value for string attribute " + a.name + " from " + std::string(service_));
            if (table.contains(a.name)) {
                if (flags_ & kAttrFlagExtra) {
                    warn("duplicate attribute " + a.name + " in input from " + std::string(service_));
                    return false;
                }
            } else if (table.size() >= kHashLimit) {
                warn("attribute count exceeds limit " + std::to_string(kHashLimit) + " in input from " +
                     std::string(service_));
                return false;
            } else {
                table.emplace(a.name, a.value);
                ++result_.conversions;
            }
            ++pos_;
        }
        if (in_group && (flags_ & kAttrFlagMissing))
            warn("missing attribute (any attribute name or '}') in input from " + std::string(service_));
        return !in_group;
    }

    const AttrList& list_;
    std::string_view service_;
    unsigned flags_;
    AttrEncoding encoding_;
    std::size_t pos_ = 0;
    AttrScanResult result_;
};

} // namespace

AttrScanResult attr_scan(const AttrList& list, std::string_view service, unsigned flags,
                         std::span<const AttrWant> wants, AttrEncoding encoding) {
    return Scanner(list, service, flags, encoding).run(wants);
}

} // namespace psm
