// SPDX-License-Identifier: BSD-3-Clause
// detail/byte_reader.hpp - big-endian loads from a byte span after a length check, never by
// overlaying structs on packet bytes. Shared by the packet summaries and the TCP trace.
#ifndef TUNSTACK_DETAIL_BYTE_READER_HPP
#define TUNSTACK_DETAIL_BYTE_READER_HPP

#include <cstddef>
#include <cstdint>
#include <span>

namespace tunstack::detail {

class byte_reader {
 public:
  explicit byte_reader(std::span<const std::byte> b) : bytes_(b) {}
  bool has(std::size_t offset, std::size_t n) const { return offset + n <= bytes_.size(); }
  std::size_t size() const { return bytes_.size(); }
  std::uint8_t u8(std::size_t o) const { return static_cast<std::uint8_t>(bytes_[o]); }
  std::uint16_t u16(std::size_t o) const { return static_cast<std::uint16_t>(u8(o) << 8 | u8(o + 1)); }
  std::uint32_t u32(std::size_t o) const {
    return static_cast<std::uint32_t>(u16(o)) << 16 | u16(o + 2);
  }
  byte_reader from(std::size_t offset) const {
    return byte_reader{offset <= bytes_.size() ? bytes_.subspan(offset) : std::span<const std::byte>{}};
  }

 private:
  std::span<const std::byte> bytes_;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_BYTE_READER_HPP
