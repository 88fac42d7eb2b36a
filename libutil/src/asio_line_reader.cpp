// Non-template parts of the socket line reader (see asio_line_reader.hpp).
#include "psm/util/asio_line_reader.hpp"

#include <array>

namespace psm {

AsioLineReader::AsioLineReader(std::size_t line_limit) : state_(std::make_shared<State>(line_limit)) {}

AsioLineReader::~AsioLineReader() {
    stop();
}

void AsioLineReader::stop() {
    ++state_->generation;
}

std::span<char> AsioLineReader::scratch() {
    // One buffer per thread: a read's bytes are consumed before the read
    // handler returns, so readers never need it at the same time.
    thread_local std::array<char, kReadChunkSize> buffer;
    return buffer;
}

bool AsioLineReader::is_retry(const boost::system::error_code& ec) {
    return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again ||
           ec == boost::asio::error::interrupted;
}

} // namespace psm
