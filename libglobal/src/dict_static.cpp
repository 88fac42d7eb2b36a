// static:value and static:{ value with blanks } (Postfix's dict_static):
// every lookup finds the same value. Braces around the value are stripped
// with the blanks inside them; bad braces make the open fail.
#include "dict_surrogate.hpp"
#include "dict_types.hpp"
#include "psm/util/text.hpp"

#include <memory>
#include <string>

namespace psm::dict_types {

namespace {

class StaticDict final : public Dict {
public:
    StaticDict(std::string_view type_and_name, std::string value)
        : Dict(std::string(type_and_name)), value_(std::move(value)) {}

    DictLookup lookup(std::string_view) override {
        DictLookup result;
        result.status = DictStatus::found;
        result.value = value_;
        return result;
    }

private:
    std::string value_;
};

} // namespace

std::unique_ptr<Dict> make_static(std::string_view type_and_name, std::string_view name,
                                  const DictOpenOptions& options) {
    std::string value(name);
    if (!name.empty() && name.front() == '{') {
        std::string error;
        auto inside = strip_braces(name, &error);
        if (!inside) return open_failure(type_and_name, options, "bad static:name syntax: " + error);
        value = *inside;
    }
    // A C string in stock: nothing after a NUL byte.
    if (auto nul = value.find('\0'); nul != std::string::npos) value.resize(nul);
    return std::make_unique<StaticDict>(type_and_name, std::move(value));
}

} // namespace psm::dict_types
