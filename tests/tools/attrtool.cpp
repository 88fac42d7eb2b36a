// psm-attrtool: the attribute protocol from the command line, for tests.
//   psm-attrtool [-e attr0|attr64|plain] encode NAME=VALUE...   list bytes to stdout
//   psm-attrtool [-e ...] decode                                one list from stdin
//   psm-attrtool [-e ...] [-T SECONDS] request PATH [NAME=VALUE...]
//       connect to the UNIX socket PATH, send the list (if any attributes are
//       given), read one list back and print it.
//   psm-attrtool [-e ...] scan SERVICE WANT...                 one list from stdin,
//       scanned STRICT for WANT = NAME, NAME:int, NAME:long, NAME:data or
//       NAME:streq=VALUE; prints "conversions N" and "warning TEXT" (if any).
// Decoded output: "raw HEX" (the bytes of the list), then one line per
// attribute, "NAME=VALUE" with the value C-escaped, "{" / "}" for groups.
// A NAME=VALUE whose name starts with '{' or '}' sends a group marker.
#include "psm/global/attr.hpp"
#include "psm/global/attr_io.hpp"
#include "psm/util/text.hpp"
#include "psm/util/unique_fd.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace psm;

int usage() {
    std::cerr
        << "usage: psm-attrtool [-e attr0|attr64|plain] [-T seconds] encode|decode|request [PATH] [NAME=VALUE...]\n";
    return 2;
}

AttrList build(const std::vector<std::string>& items) {
    AttrList list;
    for (const auto& item : items) {
        if (item == "{")
            list.push_back(attr::group_open());
        else if (item == "}")
            list.push_back(attr::group_close());
        else {
            auto eq = item.find('=');
            if (eq == std::string::npos)
                list.push_back(attr::send_str(item, ""));
            else
                list.push_back(attr::send_str(item.substr(0, eq), item.substr(eq + 1)));
        }
    }
    return list;
}

std::string hex(std::string_view bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

void print(const AttrList& list, AttrEncoding enc) {
    std::cout << "raw " << hex(attr_encode(list, enc)) << "\n";
    for (const auto& a : list) {
        if (a.kind == Attr::Kind::group_open)
            std::cout << "{\n";
        else if (a.kind == Attr::Kind::group_close)
            std::cout << "}\n";
        else
            std::cout << a.name << "=" << c_escape(a.value) << "\n";
    }
}

int report(const AttrReadResult& r, AttrEncoding enc) {
    if (!r) {
        std::cerr << "psm-attrtool: " << (r.warning.empty() ? r.error.message() : r.warning) << "\n";
        return 1;
    }
    print(r.attrs, enc);
    return 0;
}

// Scans with one output variable per wanted attribute (stable addresses).
int scan(const AttrList& list, const std::string& service, const std::vector<std::string>& specs, AttrEncoding enc) {
    std::vector<AttrWant> wants;
    std::vector<std::string> names(specs.size()), strings(specs.size()), expected(specs.size());
    std::vector<int> ints(specs.size());
    std::vector<long> longs(specs.size());
    for (std::size_t k = 0; k < specs.size(); ++k) {
        std::string type;
        auto colon = specs[k].find(':');
        names[k] = specs[k].substr(0, colon);
        if (colon != std::string::npos) type = specs[k].substr(colon + 1);
        if (type.empty())
            wants.push_back(attr::recv_str(names[k], strings[k]));
        else if (type == "int")
            wants.push_back(attr::recv_int(names[k], ints[k]));
        else if (type == "long")
            wants.push_back(attr::recv_long(names[k], longs[k]));
        else if (type == "data")
            wants.push_back(attr::recv_data(names[k], strings[k]));
        else if (type.starts_with("streq=")) {
            expected[k] = type.substr(6);
            wants.push_back(attr::recv_streq(names[k], expected[k]));
        } else {
            return usage();
        }
    }
    AttrScanResult r = attr_scan(list, service, kAttrFlagStrict, wants, enc);
    std::cout << "conversions " << r.conversions << "\n";
    for (std::size_t k = 0; k < specs.size(); ++k) {
        if (specs[k].ends_with(":int"))
            std::cout << names[k] << "=" << ints[k] << "\n";
        else if (specs[k].ends_with(":long"))
            std::cout << names[k] << "=" << longs[k] << "\n";
        else if (specs[k].find(':') == std::string::npos)
            std::cout << names[k] << "=" << c_escape(strings[k]) << "\n";
    }
    if (!r.warning.empty()) std::cout << "warning " << r.warning << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    AttrEncoding enc = AttrEncoding::attr0;
    int timeout = 10;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        std::string opt = argv[i], val = argv[i + 1];
        if (opt == "-e") {
            if (val == "attr0")
                enc = AttrEncoding::attr0;
            else if (val == "attr64")
                enc = AttrEncoding::attr64;
            else if (val == "plain")
                enc = AttrEncoding::plain;
            else
                return usage();
        } else if (opt == "-T") {
            timeout = std::atoi(val.c_str());
        } else {
            return usage();
        }
    }
    if (i >= argc) return usage();
    std::string cmd = argv[i++];
    std::vector<std::string> rest(argv + i, argv + argc);
    const auto deadline = std::chrono::milliseconds(timeout * 1000);

    if (cmd == "encode") {
        std::string bytes = attr_encode(build(rest), enc);
        std::fwrite(bytes.data(), 1, bytes.size(), stdout);
        return 0;
    }
    if (cmd == "decode") {
        AttrReadOptions options;
        options.encoding = enc;
        return report(attr_read_fd(STDIN_FILENO, "stdin", deadline, options), enc);
    }
    if (cmd == "scan") {
        if (rest.empty()) return usage();
        std::string service = rest.front();
        rest.erase(rest.begin());
        AttrReadOptions options;
        options.encoding = enc;
        AttrReadResult r = attr_read_fd(STDIN_FILENO, service, deadline, options);
        if (!r) return report(r, enc);
        return scan(r.attrs, service, rest, enc);
    }
    if (cmd == "request") {
        if (rest.empty()) return usage();
        std::string path = rest.front();
        rest.erase(rest.begin());
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        if (path.size() >= sizeof(sun.sun_path)) return usage();
        std::memcpy(sun.sun_path, path.data(), path.size());
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0) {
            std::cerr << "psm-attrtool: connect " << path << ": " << std::strerror(errno) << "\n";
            return 1;
        }
        if (!rest.empty()) {
            if (auto ec = attr_write_fd(fd.get(), build(rest), deadline, enc)) {
                std::cerr << "psm-attrtool: write: " << ec.message() << "\n";
                return 1;
            }
        }
        AttrReadOptions options;
        options.encoding = enc;
        return report(attr_read_fd(fd.get(), path, deadline, options), enc);
    }
    return usage();
}
