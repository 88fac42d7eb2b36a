// Unpredictable numbers (DNS query ids) without a system call each: glibc
// 2.36's arc4random() calls getrandom(2) every time, one system call per
// DNS query. The kernel's bytes are drawn a block at a time into a
// per-thread buffer; a forked child discards what its parent drew
// (pthread_atfork), so the two never hand out the same numbers.
#pragma once

#include <cstdint>

namespace psm {

std::uint32_t secure_random_u32();

} // namespace psm
