// Postfix's attribute protocol (attr_print/attr_scan): attribute lists in the
// three encodings attr0 ("name\0value\0...\0"), attr64 ("B64(name):B64(value)\n
// ...\n") and plain ("name=value\n...\n"); an encoder, an incremental decoder
// that is fed bytes and yields one complete list at a time (usable from sync
// and async code), and the receiver's "requested names" scan with Postfix's
// STRICT semantics and warning texts. I/O helpers: attr_fd.hpp, attr_asio.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace psm {

enum class AttrEncoding { attr0, attr64, plain };

// One item of a list as it travels. Names "{" and "}" are group markers.
struct Attr {
    enum class Kind : std::uint8_t {
        text,        // name + value text (str, int and long attributes)
        data,        // name + binary value (sender side; base64 on the wire)
        group_open,  // "{": start of a grouped (hash) attribute set
        group_close, // "}"
        bare,        // decoder only: a name without a value (attr64/plain)
    };
    Kind kind = Kind::text;
    std::string name;
    std::string value;

    bool operator==(const Attr&) const = default;
};

using AttrList = std::vector<Attr>;

// Builders for the sender side, named after Postfix's SEND_ATTR_* macros.
namespace attr {
Attr send_str(std::string_view name, std::string_view value);
Attr send_int(std::string_view name, int value);             // as unsigned 32-bit: -1 -> "4294967295"
Attr send_long(std::string_view name, long value);           // as unsigned 64-bit
Attr send_data(std::string_view name, std::string_view raw); // base64 on the wire
Attr group_open();
Attr group_close();
} // namespace attr

// Bounds a receiver enforces so that a hostile peer cannot exhaust memory.
struct AttrLimits {
    std::size_t max_string = 4 * 2048; // bytes of one encoded name or value (4 x line_length_limit)
    std::size_t max_attrs = 1024;      // items (pairs and group markers) in one list
};

// Writes one attr0 list straight into out, without an AttrList, for hot
// senders: str/num/group_open/group_close/end give the bytes that
// attr_encode() gives for the list of send_str/send_int/group_open/
// group_close items in the same order.
class Attr0Writer {
public:
    explicit Attr0Writer(std::string& out) : out_(out) {}
    void str(std::string_view name, std::string_view value);
    void num(std::string_view name, int value); // as attr::send_int
    void group_open();
    void group_close();
    void end(); // the end-of-list marker

private:
    std::string& out_;
};

// Encodes the list plus its end-of-list marker, appended to out.
void attr_encode(std::string& out, const AttrList& list, AttrEncoding encoding = AttrEncoding::attr0);
std::string attr_encode(const AttrList& list, AttrEncoding encoding = AttrEncoding::attr0);

namespace detail {
struct AttrErrorText; // the decoders' error texts (attr.cpp)
} // namespace detail

// Incremental decoder: feed() bytes until status() is complete (take() the
// list; the decoder is then ready for the next one) or error. feed() never
// consumes bytes beyond the end of the current list, so whatever follows on
// the stream (another list, raw data) stays with the caller.
class AttrDecoder {
public:
    enum class Status { need_more, complete, error };
    enum class Error {
        none,
        premature_eof, // EOF where a name would start (or before any byte)
        timeout,       // the caller's deadline passed (finish(true))
        truncated,     // EOF in the middle of a name or value
        too_long,      // a string exceeds AttrLimits::max_string
        too_many,      // the list exceeds AttrLimits::max_attrs
        malformed,     // bad base64 (attr64), several values (attr64), group nesting
    };

    explicit AttrDecoder(AttrEncoding encoding = AttrEncoding::attr0, AttrLimits limits = {});

    // Returns how many bytes of input were consumed (all of them unless the
    // list completed or an error was found).
    std::size_t feed(std::string_view input);
    // Tells the decoder the stream ended (or, with timed_out, that the
    // caller gave up waiting); an unfinished list becomes an error.
    void finish(bool timed_out = false);

    Status status() const { return status_; }
    bool started() const { return started_; } // any byte of the current list seen
    AttrList take();                          // the completed list; resets the decoder
    Error error() const { return error_; }
    // Postfix-worded warning for the error, e.g. "premature end-of-input on
    // private/dnsblog while reading input attribute name".
    std::string message(std::string_view service) const;
    void reset();

private:
    bool end_string(bool separator); // a complete name or value is in current_
    std::size_t next_terminator(std::string_view input, std::size_t from) const;
    bool fail(Error error, std::string before, std::string after = {});
    bool fail(detail::AttrErrorText text);
    Attr* append(); // a new last item, or nullptr (the error set) at the limit
    bool add(Attr::Kind kind, std::string_view name);

    static constexpr std::size_t kMinReserve = 8, kMaxReserve = 64;

    AttrEncoding encoding_;
    AttrLimits limits_;
    Status status_ = Status::need_more;
    Error error_ = Error::none;
    bool started_ = false;
    bool in_value_ = false; // reading a value (else a name)
    int depth_ = 0;         // open groups
    std::string current_;
    std::string name_;
    std::string detail_, detail_after_; // the message around the service name
    AttrList list_;
    std::size_t reserve_ = 16; // items reserved for a list: the last list's count
};

// One item of an attr0 list as Attr0Reader sees it: views into its buffer.
struct AttrView {
    Attr::Kind kind = Attr::Kind::text; // text, group_open or group_close
    std::string_view name;              // "{" and "}" for the group markers
    std::string_view value;
};

// Reads attr0 lists from a stream in place, for hot readers: the same lists,
// limits, errors and messages as AttrDecoder(attr0, limits), but it keeps
// the bytes it is given, and a complete list comes out as views into them
// (no string per name and value).
class Attr0Reader {
public:
    using Status = AttrDecoder::Status;
    using Error = AttrDecoder::Error;

    explicit Attr0Reader(AttrLimits limits = {});

    // Takes all of the bytes and reads as far as they go. Bytes after a
    // complete list wait for next().
    void append(std::string_view bytes);
    // The stream ended (or the caller gave up waiting): an unfinished list
    // becomes an error, as with AttrDecoder::finish().
    void finish(bool timed_out = false);

    Status status() const { return status_; }
    bool started() const { return buffer_.size() > 0; } // any byte of the current list seen
    Error error() const { return error_; }
    std::string message(std::string_view service) const;

    // The complete list (status() == complete), valid until the next call
    // of append() or next().
    std::span<const AttrView> items() const { return views_; }
    // Drops the complete list and reads the bytes after it.
    void next();

private:
    struct Item {
        Attr::Kind kind;
        std::size_t name, name_size, value, value_size; // offsets into buffer_
    };
    void scan();
    void make_views();
    void fail(detail::AttrErrorText text);
    bool add(const Item& item);

    AttrLimits limits_;
    std::string buffer_;     // the current list's bytes and any after them
    std::size_t pos_ = 0;    // where reading goes on
    std::size_t string_ = 0; // where the string being read began
    std::size_t name_ = 0;   // a name waiting for its value (in_value_)
    bool in_value_ = false;
    int depth_ = 0;
    Status status_ = Status::need_more;
    Error error_ = Error::none;
    std::string detail_, detail_after_;
    std::vector<Item> items_;
    std::vector<AttrView> views_;
};

// ---- Receiver side: the requested-names scan (attr_scan) ----

inline constexpr unsigned kAttrFlagMissing = 1; // warn when the list ends before all wanted names
inline constexpr unsigned kAttrFlagExtra = 2;   // an unrequested or duplicate attribute is an error
inline constexpr unsigned kAttrFlagStrict = kAttrFlagMissing | kAttrFlagExtra;

using AttrHash = std::map<std::string, std::string, std::less<>>;

// One requested attribute (Postfix's RECV_ATTR_*), made by the attr::recv_*
// builders below. It refers to the caller's output variable, which must
// outlive the scan.
struct AttrWant {
    enum class Type { str, num, lng, data, streq, hash };
    Type type = Type::str;
    std::string_view name;
    std::variant<std::string*, int*, long*, AttrHash*> out;
    std::string_view expected; // streq only
};

namespace attr {
AttrWant recv_str(std::string_view name, std::string& out);
AttrWant recv_int(std::string_view name, int& out); // accepts 0..4294967295, read as int32
AttrWant recv_long(std::string_view name, long& out);
AttrWant recv_data(std::string_view name, std::string& out);
// The attribute must be present with exactly this value (protocol announcements).
AttrWant recv_streq(std::string_view name, std::string_view expected);
// Every remaining attribute (or one "{...}" group) into a table: first
// instance of a name wins, at most 1024 entries.
AttrWant recv_hash(AttrHash& out);
} // namespace attr

struct AttrScanResult {
    int conversions = 0; // attributes recovered (a hash counts its entries); -1 = malformed value
    std::string warning; // the warning that was logged, empty if none
};

// Scans a decoded list like Postfix's attr_scan(): wanted attributes in
// order, unrequested ones skipped unless kAttrFlagExtra. Every problem is
// logged with msg_warn() in stock's wording (SERVICE is e.g.
// "private/dnsblog") and returned. Callers compare conversions with the
// number they need, as Postfix callers do. `encoding` is the encoding the
// list was decoded from (it decides how data attributes are unpacked).
AttrScanResult attr_scan(const AttrList& list, std::string_view service, unsigned flags,
                         std::span<const AttrWant> wants, AttrEncoding encoding = AttrEncoding::attr0);
inline AttrScanResult attr_scan(const AttrList& list, std::string_view service, unsigned flags,
                                std::initializer_list<AttrWant> wants, AttrEncoding encoding = AttrEncoding::attr0) {
    return attr_scan(list, service, flags, std::span<const AttrWant>(wants.begin(), wants.size()), encoding);
}

} // namespace psm
