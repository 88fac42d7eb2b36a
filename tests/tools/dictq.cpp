// psm-dictq: looks keys up in (or updates) any table through dict_open(),
// so integration tests can compare our tables with `postmap -q`.
//   psm-dictq [-n] TYPE:NAME KEY...        prints KEY<TAB>VALUE, KEY<TAB>(not found)
//                                          or KEY<TAB>(error), one line per key
//   psm-dictq [-n] -u TYPE:NAME KEY VALUE  update (opens read-write, creates)
//   psm-dictq [-n] -d TYPE:NAME KEY...     delete; prints KEY<TAB>(deleted|not found|error)
//   psm-dictq [-n] -s TYPE:NAME            prints every KEY<TAB>VALUE in table order
// -n: no case folding of lookup keys. Warnings go to stderr as
// "warning: ..."; a fatal open error prints "fatal: TEXT" and exits 1.
#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {

int usage() {
    std::fprintf(stderr, "usage: psm-dictq [-n] [-u|-d|-s] TYPE:NAME [KEY [VALUE]]...\n");
    return 2;
}

void print_line(std::string_view key, std::string_view value) {
    std::fwrite(key.data(), 1, key.size(), stdout);
    std::fputc('\t', stdout);
    std::fwrite(value.data(), 1, value.size(), stdout);
    std::fputc('\n', stdout);
}

} // namespace

int main(int argc, char** argv) {
    psm::DictOpenOptions options;
    char mode = 'q';
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; ++i) {
        std::string_view opt = argv[i];
        if (opt == "-n")
            options.fold_case = false;
        else if (opt == "-u" || opt == "-d" || opt == "-s")
            mode = opt[1];
        else
            return usage();
    }
    if (i >= argc) return usage();
    const char* table = argv[i++];
    if (mode == 'u' && argc - i != 2) return usage();
    if (mode == 's' && argc != i) return usage();
    options.writable = mode == 'u' || mode == 'd';
    try {
        auto dict = psm::dict_open(table, options);
        if (mode == 'u') {
            auto status = dict->update(argv[i], argv[i + 1]);
            print_line(argv[i], status == psm::DictStatus::error ? "(error)" : "(updated)");
            return status == psm::DictStatus::error ? 1 : 0;
        }
        if (mode == 's') {
            std::string key;
            std::string value;
            for (bool first = true;; first = false) {
                auto status = dict->sequence(first, key, value);
                if (status == psm::DictStatus::not_found) break;
                if (status == psm::DictStatus::error) {
                    std::fprintf(stderr, "sequence error\n");
                    return 1;
                }
                print_line(key, value);
            }
            return 0;
        }
        for (; i < argc; ++i) {
            if (mode == 'd') {
                auto status = dict->remove(argv[i]);
                print_line(argv[i], status == psm::DictStatus::found       ? "(deleted)"
                                    : status == psm::DictStatus::not_found ? "(not found)"
                                                                           : "(error)");
                continue;
            }
            auto result = dict->lookup(argv[i]);
            if (result.found())
                print_line(argv[i], result.value);
            else
                print_line(argv[i], result.failed() ? "(error)" : "(not found)");
        }
    } catch (const psm::ConfigError& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "fatal: %s\n", e.what());
        return 1;
    }
    return 0;
}
