// UTF-8 guard in front of a lookup table (see dict_utf8.hpp). Casefolding
// itself is done by each table (dict_keys::fold), as the guard only checks.
#include "dict_utf8.hpp"

#include "dict_keys.hpp"
#include "psm/util/log.hpp"

#include <string>
#include <utility>

namespace psm::dict_types {

namespace {

constexpr const char* kWhy = "malformed UTF-8 or invalid codepoint";

class Utf8Guard final : public Dict {
public:
    explicit Utf8Guard(std::unique_ptr<Dict> inner) : Dict(inner->name()), inner_(std::move(inner)) {}

    DictLookup lookup(std::string_view key) override {
        key = dict_keys::c_string(key);
        if (!key_ok(key)) return DictLookup{};
        DictLookup result = inner_->lookup(key);
        if (result.found() && !dict_keys::valid_utf8(result.value)) {
            std::string k(key);
            msg_warn("%s: key \"%s\": non-UTF-8 value \"%s\": %s", name().c_str(), k.c_str(), result.value.c_str(),
                     kWhy);
            result.status = DictStatus::error;
            result.value.clear();
        }
        return result;
    }

    // Like stock, a request with a non-UTF-8 key or value is skipped and
    // reported as done: such an entry can't exist.
    DictStatus update(std::string_view key, std::string_view value) override {
        key = dict_keys::c_string(key);
        value = dict_keys::c_string(value);
        if (!key_ok(key)) return DictStatus::found;
        if (!dict_keys::valid_utf8(value)) {
            std::string k(key), v(value);
            msg_warn("%s: key \"%s\": non-UTF-8 value \"%s\": %s", name().c_str(), k.c_str(), v.c_str(), kWhy);
            return DictStatus::found;
        }
        return inner_->update(key, value);
    }

    DictStatus remove(std::string_view key) override {
        key = dict_keys::c_string(key);
        if (!key_ok(key)) return DictStatus::found;
        return inner_->remove(key);
    }

    DictStatus sequence(bool first, std::string& key, std::string& value) override {
        return inner_->sequence(first, key, value);
    }
    bool supports_sequence() const override { return inner_->supports_sequence(); }
    bool file_changed() const override { return inner_->file_changed(); }

private:
    bool key_ok(std::string_view key) const {
        if (dict_keys::valid_utf8(key)) return true;
        std::string k(key);
        msg_warn("%s: non-UTF-8 key \"%s\": %s", name().c_str(), k.c_str(), kWhy);
        return false;
    }

    std::unique_ptr<Dict> inner_;
};

} // namespace

std::unique_ptr<Dict> utf8_guard(std::unique_ptr<Dict> inner) {
    return std::make_unique<Utf8Guard>(std::move(inner));
}

} // namespace psm::dict_types
