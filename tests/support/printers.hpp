// SPDX-License-Identifier: BSD-3-Clause
// printers.hpp - how doctest shows the values our tests compare (force-included into every unit
// test, see tests/unit/CMakeLists.txt): error codes as "category:value (message)".
#ifndef TUNSTACK_TESTS_SUPPORT_PRINTERS_HPP
#define TUNSTACK_TESTS_SUPPORT_PRINTERS_HPP

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <system_error>

namespace doctest {

template <>
struct StringMaker<std::error_code> {
  static String convert(const std::error_code& ec) {
    const std::string s = std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
    return String(s.c_str());
  }
};

template <>
struct StringMaker<std::optional<std::error_code>> {
  static String convert(const std::optional<std::error_code>& ec) {
    return ec ? StringMaker<std::error_code>::convert(*ec) : String("nullopt");
  }
};

}  // namespace doctest

#endif  // TUNSTACK_TESTS_SUPPORT_PRINTERS_HPP
