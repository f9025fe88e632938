// SPDX-License-Identifier: BSD-3-Clause
// outcome.hpp - the result of one asynchronous operation, filled in by its handler, so that a
// test can start an operation, run the loop, and look at what happened.
#ifndef TUNSTACK_TESTS_SUPPORT_OUTCOME_HPP
#define TUNSTACK_TESTS_SUPPORT_OUTCOME_HPP

#include <cstddef>
#include <system_error>

namespace tunstack::testing {

struct outcome {
  bool done = false;
  std::error_code ec;
  std::size_t n = 0;

  /// A handler for void(std::error_code, std::size_t) operations.
  auto handler() {
    return [this](std::error_code e, std::size_t bytes) {
      done = true;
      ec = e;
      n = bytes;
    };
  }
};

}  // namespace tunstack::testing

#endif  // TUNSTACK_TESTS_SUPPORT_OUTCOME_HPP
