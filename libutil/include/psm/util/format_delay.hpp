// Elapsed-time formatting as in postscreen's "after %s" log fields (stock
// format_tv() with 2 significant digits): "0", "0.01", "0.29", "1.1", "13".
#pragma once

#include <chrono>
#include <string>

namespace psm {

// resolution_limit is delay_logging_resolution_limit: the most digits after
// the decimal point, 0..6 (std::invalid_argument otherwise; stock panics).
// Rules: below 1 s at most 2 significant digits within that limit; 1-9 s
// in tenths, 10 s and up in whole seconds (both only when the limit is > 0);
// half-up rounding with carry; no trailing zeros. A negative elapsed time
// prints as 0, as postscreen clamps it.
std::string format_delay(std::chrono::microseconds elapsed, int resolution_limit);

} // namespace psm
