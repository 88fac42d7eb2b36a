// Elapsed-time formatting with Postfix's precision rules (see format_delay.hpp).
#include "psm/util/format_delay.hpp"

#include <stdexcept>

namespace psm {
namespace {

constexpr long kMillion = 1'000'000;

long power_of_ten(int n) {
    long p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

} // namespace

std::string format_delay(std::chrono::microseconds elapsed, int resolution_limit) {
    if (resolution_limit < 0 || resolution_limit > 6)
        throw std::invalid_argument("format_delay: bad resolution limit " + std::to_string(resolution_limit));
    long long total = elapsed.count() < 0 ? 0 : elapsed.count();
    long long sec = total / kMillion;
    long usec = static_cast<long>(total % kMillion);

    // Resolution in microseconds: the smallest step that is printed. Two
    // significant digits: with whole seconds they go to the seconds first
    // (tenths below 10 s, nothing after the point from 10 s on); below 1 s
    // the step grows until the value has at most two digits above it.
    long step = kMillion / power_of_ten(resolution_limit);
    if (step < kMillion) {
        if (sec > 0) {
            step = sec < 10 ? kMillion / 10 : kMillion;
        } else {
            while (usec >= 100 * step)
                step *= 10;
        }
    }

    // Round half up at the resolution; bits below it are dropped on output.
    if (step > 1) {
        usec += step / 2;
        if (usec >= kMillion) {
            sec += 1;
            usec -= kMillion;
        }
    }

    std::string out = std::to_string(sec);
    if (usec >= step) {
        out += '.';
        long rest = usec;
        for (long digit = kMillion / 10; rest >= step && digit > 0; digit /= 10) {
            out += static_cast<char>('0' + rest / digit);
            rest %= digit;
        }
    }
    return out;
}

} // namespace psm
