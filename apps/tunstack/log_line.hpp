// SPDX-License-Identifier: BSD-3-Clause
// log_line.hpp - how the tunstack program writes its log lines to stderr: each one whole, in a
// single write, after the local date and time ("2025-05-01 14:03:22.481 tunstack: ..."), unless
// stderr is the systemd journal (which stamps every line itself) or --no-timestamps was given.
#ifndef TUNSTACK_APPS_TUNSTACK_LOG_LINE_HPP
#define TUNSTACK_APPS_TUNSTACK_LOG_LINE_HPP

#include <chrono>
#include <string>
#include <string_view>

namespace tunstack::app {

/// "2025-05-01 14:03:22.481": @p t in local time (TZ), to the millisecond.
std::string timestamp(std::chrono::system_clock::time_point t);

/// Whether file descriptor 2 is the stream systemd connected to the journal: JOURNAL_STREAM
/// ("DEVICE:INODE") names it, and it is still what fd 2 is (a child may have redirected it).
bool stderr_is_journal();

/// Writes "[TIMESTAMP ]tunstack: TEXT\n" to stderr in one write(2), so that lines from the
/// stack's thread and the program never interleave mid-line.
class log_writer {
 public:
  /// @p timestamps false: no date and time (--no-timestamps). They are also left out when
  /// stderr is the journal.
  explicit log_writer(bool timestamps) : timestamps_(timestamps && !stderr_is_journal()) {}

  /// The line as it would be written now (without the newline).
  std::string format(std::string_view text) const;
  void operator()(std::string_view text) const;

  bool timestamps() const noexcept { return timestamps_; }

 private:
  bool timestamps_;
};

}  // namespace tunstack::app

#endif  // TUNSTACK_APPS_TUNSTACK_LOG_LINE_HPP
