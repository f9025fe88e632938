// SPDX-License-Identifier: BSD-3-Clause
// number.hpp - the load tools' one way to read a number from the command line: the whole
// argument must be a number of type T, or the tool prints its usage with what was wrong.
#ifndef TUNSTACK_TESTS_TOOLS_NUMBER_HPP
#define TUNSTACK_TESTS_TOOLS_NUMBER_HPP

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

namespace tools {

/// Parses @p text as a T; on anything else calls @p usage("bad <what>"), which must not return.
template <class T>
T number(std::string_view text, const char* what, void (*usage)(const char*)) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) usage((std::string("bad ") + what).c_str());
  return value;
}

}  // namespace tools

#endif  // TUNSTACK_TESTS_TOOLS_NUMBER_HPP
